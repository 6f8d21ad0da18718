"""Calibrated confidence and QC on real animals, held out by recording: the path users get.

For each split seed, runs the workflow (`snakemake`, `data: {source: file}`, split by
recording, default training) up to the held-out evaluation and the calibration the movie
chain uses (TTA = `predict.tta`, 2 by default), then, on the held-out frames:

- reliability of the calibrated P(error <= 2 px) and P(error <= 3 px): per bin, predicted
  against observed, and the largest gap over bins with at least `--min-bin` points;
- QC as the movie chain applies it to a frame (the `uncertain` and `geometry` flags; `jump`
  and `swap` need neighbouring frames, which held-out frames do not have): the share of
  frames flagged, and the share of the frames with some keypoint more than 3 px off that are
  among them (target: >= 80 % caught with <= 10 % flagged).

    python benchmarks/bench_real_qc.py --data ../shared/data/real_mice_xmwell_50pix.npz
"""

from __future__ import annotations

import argparse
import json
import platform
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import yaml

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "src"))


def workflow(work: Path, data: Path, seed: int, args) -> Path:
    run = f"real_s{seed}"
    config = {
        "run": run,
        "data": {"source": "file", "file": str(data)},
        "split": {"group_key": "video", "train": 0.74, "val": 0.09, "test": 0.17, "seed": seed},
        "train": {"amp": args.precision == "auto"},
        "movies": {},
        "synthetic_movies": {},
    }
    (work / f"{run}.yaml").write_text(yaml.safe_dump(config))
    targets = [
        f"results/{run}/eval/heldout/metrics.json",
        f"results/{run}/calibration/tta{args.tta}.json",
        f"results/{run}/label_reference.json",
    ]
    cmd = [
        sys.executable,
        "-m",
        "snakemake",
        *targets,
        "--snakefile",
        str(REPO / "Snakefile"),
        "--directory",
        str(work),
        "--cores",
        str(args.cores),
        "--configfile",
        str(work / f"{run}.yaml"),
    ]
    subprocess.run(cmd, check=True, stdin=subprocess.DEVNULL, capture_output=not args.verbose)
    return work / "results" / run


def held_out(run: Path, data: Path, tta: int) -> dict:
    from direction_tagger.evaluate.calibration import p_within, reliability
    from direction_tagger.io import load_labelled, read_json
    from direction_tagger.movies.predict import load_predictor
    from direction_tagger.movies.qc import qc_flags
    from direction_tagger.originals.split import load_subset

    labelled = load_labelled(data)
    idx = load_subset(run / "split.json", "test")
    predictor, _ = load_predictor(run / "model.pt", "cpu")
    pred = predictor.predict(labelled.images[idx], tta=tta)
    errors = np.linalg.norm(pred.locs - labelled.locs[idx], axis=-1)
    calibration = read_json(run / f"calibration/tta{tta}.json", "calibration")
    p2 = p_within(calibration, pred.confidence, pred.spread, 2.0)
    p3 = p_within(calibration, pred.confidence, pred.spread, 3.0)
    reference = read_json(run / "label_reference.json", "reference")
    # each held-out frame on its own: only the flags that need no neighbouring frame
    flags = qc_flags(pred.locs, pred.confidence, pred.spread, 30.0, reference, p_within_3=p3)
    flagged = flags["uncertain"] | flags["geometry"]
    return {
        "frames": len(idx),
        "errors": errors,
        "p2": p2,
        "p3": p3,
        "flagged": flagged,
        "flag_counts": {k: int(flags[k].sum()) for k in ("uncertain", "geometry")},
        "eval_tta8": read_json(run / "eval/heldout/metrics.json", "metrics").get("calibration"),
        "reliability2": reliability(p2, errors <= 2),
        "reliability3": reliability(p3, errors <= 3),
    }


def worst_gap(diagram: dict, min_bin: int) -> float:
    gaps = [abs(b["mean_p"] - b["observed"]) for b in diagram["bins"] if b["n"] >= min_bin]
    return max(gaps) if gaps else float("nan")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, required=True)
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2, 3])
    parser.add_argument("--tta", type=int, default=2, help="predict.tta (the movie chain's)")
    parser.add_argument("--precision", choices=("fp32", "auto"), default="fp32")
    parser.add_argument("--cores", type=int, default=2)
    parser.add_argument("--min-bin", type=int, default=20)
    parser.add_argument("--workdir", type=Path, default=Path("/tmp/bench_real_qc"))
    parser.add_argument("--verbose", action="store_true")
    args = parser.parse_args()
    args.workdir.mkdir(parents=True, exist_ok=True)
    print(f"# CPU {platform.processor() or platform.machine()}, {args.precision}, TTA {args.tta}")
    from direction_tagger.evaluate.calibration import reliability

    pooled = {"errors": [], "p2": [], "p3": [], "flagged": []}
    print(
        "| split seed | held-out frames | frames with a keypoint > 3 px off | flagged | "
        "caught | worst bin gap, P(<= 2 px) | worst bin gap, P(<= 3 px) | minutes |"
    )
    print("|---|---|---|---|---|---|---|---|")
    for seed in args.seeds:
        start = time.monotonic()
        run = workflow(args.workdir, args.data.resolve(), seed, args)
        r = held_out(run, args.data.resolve(), args.tta)
        bad = (r["errors"] > 3).any(axis=1)
        for k in pooled:
            pooled[k].append(r[k])
        print(
            f"| {seed} | {r['frames']} | {bad.sum()} | {r['flagged'].mean():.1%} "
            f"({r['flag_counts']}) | {(r['flagged'] & bad).sum()} / {bad.sum()} | "
            f"{worst_gap(r['reliability2'], args.min_bin):.3f} | "
            f"{worst_gap(r['reliability3'], args.min_bin):.3f} | "
            f"{(time.monotonic() - start) / 60:.1f} |",
            flush=True,
        )
    errors, flagged = np.concatenate(pooled["errors"]), np.concatenate(pooled["flagged"])
    bad = (errors > 3).any(axis=1)
    print(
        f"\npooled: {len(errors)} held-out frames, {bad.sum()} with a keypoint > 3 px off; "
        f"flagged {flagged.mean():.1%}; caught {(flagged & bad).sum()} / {bad.sum()}"
    )
    for radius, key in ((2, "p2"), (3, "p3")):
        diagram = reliability(np.concatenate(pooled[key]), errors <= radius)
        print(f"reliability P(<= {radius} px), pooled (ECE {diagram['ece']:.3f}):")
        for b in diagram["bins"]:
            print(
                f"  p in [{b['bin'][0]:.2f}, {b['bin'][1]:.2f}]: n {b['n']:4d}, mean p "
                f"{b['mean_p']:.3f}, observed {b['observed']:.3f}"
            )
    print(
        json.dumps(
            {
                "pooled_flagged_share": float(flagged.mean()),
                "pooled_caught": int((flagged & bad).sum()),
                "pooled_bad": int(bad.sum()),
            }
        )
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
