"""Calibrated confidence and QC on real animals, held out by recording: the path users get.

For each split seed, runs the workflow (`snakemake`, `data: {source: file}`, split by
recording, default training) up to the held-out evaluation and the calibration the movie
chain uses (TTA = `predict.tta`, 2 by default), then, on the held-out frames:

- reliability of the calibrated P(error <= 2 px) and P(error <= 3 px): per bin, predicted
  against observed, and the largest gap over bins with at least `--min-bin` points;
- QC as the movie chain applies it to a frame (the `uncertain` and `geometry` flags; `jump`
  and `swap` need neighbouring frames, which held-out frames do not have): the share of
  frames flagged, and the share of the frames with some keypoint more than 3 px off that are
  among them (target: >= 80 % caught with <= 10 % flagged);
- whether a flag threshold learnt per run does better than the shipped one: the largest
  risk threshold that catches >= 80 % of the wrong frames among views of the run's own
  validation frames (`evaluate/views.py`, what the calibration's slopes rest on), against
  the fixed `smooth.flag_risk` (0.2), both applied to the held-out frames; and the pooled
  held-out frames flagged and caught at each threshold.

With `--pretrained MODEL` the workflow's pretrained start (`train.init: pretrained`, the
default) is that file instead of one the workflow makes (20 minutes of CPU) in the workdir.

    python benchmarks/bench_real_qc.py --data ../shared/data/real_mice_xmwell_50pix.npz
"""

from __future__ import annotations

import argparse
import json
import platform
import shutil
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import yaml

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "src"))

from direction_tagger.movies.qc import DEFAULT_FLAG_RISK  # noqa: E402


def workflow(work: Path, data: Path, seed: int, args) -> Path:
    run = f"real_s{seed}"
    config = {
        "run": run,
        "data": {"source": "file", "file": str(data)},
        "split": {"group_key": "video", "train": 0.74, "val": 0.09, "test": 0.17, "seed": seed},
        "train": {"amp": args.precision == "auto", **json.loads(args.options)},
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


def held_out(run: Path, data: Path, tta: int, flag_risk: float = DEFAULT_FLAG_RISK) -> dict:
    from direction_tagger.evaluate.calibration import p_within, reliability
    from direction_tagger.evaluate.views import view_sample
    from direction_tagger.io import load_labelled, read_json
    from direction_tagger.movies.predict import load_predictor
    from direction_tagger.movies.qc import frame_risk, qc_flags
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
    flags = qc_flags(
        pred.locs, pred.confidence, pred.spread, 30.0, reference, p_within_3=p3, flag_risk=flag_risk
    )
    flagged = flags["uncertain"] | flags["geometry"]
    val = load_subset(run / "split.json", "val")
    images, locs, _ = view_sample(labelled.images[val], labelled.locs[val])
    views = predictor.predict(images, tta=tta)
    view_p3 = p_within(calibration, views.confidence, views.spread, 3.0)
    return {
        "risk": frame_risk(p3),
        "view_risk": frame_risk(view_p3),
        "view_wrong": ~(np.linalg.norm(views.locs - locs, axis=-1) <= 3).all(axis=1),
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


THRESHOLDS = np.round(np.arange(0.05, 0.951, 0.05), 2)
SHIPPED_RISK = DEFAULT_FLAG_RISK  # smooth.flag_risk's default


def learned_threshold(risk, wrong, catch: float = 0.8) -> float:
    """The largest risk threshold whose flags (risk > t) catch `catch` of the wrong frames."""
    good = [t for t in THRESHOLDS if ((risk > t) & wrong).sum() >= catch * wrong.sum()]
    return float(max(good)) if good else float(THRESHOLDS[0])


def compare_thresholds(results: list[dict]) -> None:
    """Per-run learnt threshold vs the shipped one, on the pooled held-out frames."""
    wrong = np.concatenate([(r["errors"] > 3).any(axis=1) for r in results])
    risk = np.concatenate([r["risk"] for r in results])
    learnt = [learned_threshold(r["view_risk"], r["view_wrong"]) for r in results]
    per_frame = np.concatenate([np.full(len(r["risk"]), t) for r, t in zip(results, learnt)])

    def line(name, flags):
        return f"{name}: flagged {flags.mean():.1%}, caught {(flags & wrong).sum()} / {wrong.sum()}"

    print(f"\nuncertain flag, pooled held-out frames (thresholds learnt per run: {learnt})")
    print("  " + line(f"shipped threshold {SHIPPED_RISK}", risk > SHIPPED_RISK))
    print("  " + line("learnt from validation views", risk > per_frame))
    for t in THRESHOLDS[:12]:
        print("  " + line(f"threshold {t:.2f}", risk > t))


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
    parser.add_argument(
        "--options", default="{}", help="more `train:` options, JSON: '{\"augment_gamma\": 1.5}'"
    )
    parser.add_argument(
        "--pretrained",
        type=Path,
        help="a pretrained start model.pt (its training_log.csv beside it)",
    )
    args = parser.parse_args()
    args.workdir.mkdir(parents=True, exist_ok=True)
    if args.pretrained:
        start = args.workdir / "results/pretrained/fast_heatmap_unet"
        start.mkdir(parents=True, exist_ok=True)
        for name in ("model.pt", "training_log.csv"):  # both outputs of rule pretrain
            shutil.copy2(args.pretrained.with_name(name), start / name)  # its time too
    print(f"# CPU {platform.processor() or platform.machine()}, {args.precision}, TTA {args.tta}")
    from direction_tagger.evaluate.calibration import reliability

    pooled = {"errors": [], "p2": [], "p3": [], "flagged": []}
    results = []
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
        results.append(r)
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
    medians = dict(zip(("tail base", "neck", "nose"), np.median(errors, axis=0).round(3)))
    print(f"median error (px), pooled: {medians}")
    for radius, key in ((2, "p2"), (3, "p3")):
        diagram = reliability(np.concatenate(pooled[key]), errors <= radius)
        print(f"reliability P(<= {radius} px), pooled (ECE {diagram['ece']:.3f}):")
        for b in diagram["bins"]:
            print(
                f"  p in [{b['bin'][0]:.2f}, {b['bin'][1]:.2f}]: n {b['n']:4d}, mean p "
                f"{b['mean_p']:.3f}, observed {b['observed']:.3f}"
            )
    compare_thresholds(results)
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
