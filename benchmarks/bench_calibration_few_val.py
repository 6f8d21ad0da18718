"""Calibration with a handful of validation frames, on real animals held out by recording.

Issue #24: with 8 validation frames the calibrated P(within 2 px) came out as one constant for
every frame. Here, for each fold of the real-mouse frames (12 recordings), three recordings are
held out for testing, the first `--val-frames` frames of a fourth validate (the rest of that
recording is dropped, so nothing near them is trained on), and the other eight recordings train
a model (`direction-tagger train`, default options but `--steps`). `direction-tagger
calibrate` then fits the calibration the workflow fits, and on the held-out recordings we
print, per TTA and radius: the share of points within R px, the expected calibration error
(ECE, `evaluate.calibration.reliability`) and the range and sd of the calibrated
probabilities (a constant column has sd 0), for the calibration fitted on the validation
frames alone (before #24) and for the shipped one; per fold and pooled over folds.

    python benchmarks/bench_calibration_few_val.py --data ../shared/data/real_mice_xmwell_50pix.npz --steps 800

Models are cached under --workdir, so a second run only refits and re-measures.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "src"))


def fold_split(videos: np.ndarray, fold: int, n_folds: int, val_frames: int) -> dict:
    """{part: frame indices}: test = every n_folds-th recording from `fold`, val = the first
    `val_frames` frames (in file order) of the next recording, train = the others."""
    names = sorted(set(videos.tolist()))
    test = [n for i, n in enumerate(names) if i % n_folds == fold]
    val_video = names[(fold + 1) % len(names)]  # never a test one: those are fold mod n_folds
    train = [n for n in names if n not in test and n != val_video]
    return {
        "train": np.flatnonzero(np.isin(videos, train)),
        "val": np.flatnonzero(videos == val_video)[:val_frames],
        "test": np.flatnonzero(np.isin(videos, test)),
    }


CLI = "import sys; from direction_tagger.cli import main; sys.exit(main(sys.argv[1:]))"


def command(*args: str) -> None:
    subprocess.run([sys.executable, "-c", CLI, *args], check=True, stdin=subprocess.DEVNULL)


def train_fold(work: Path, data: Path, fold: int, args) -> Path:
    from direction_tagger.originals.split import save_split

    videos = np.load(data, allow_pickle=False)["video"]
    folder = work / f"fold{fold}"
    folder.mkdir(parents=True, exist_ok=True)
    split = fold_split(videos, fold, args.folds, args.val_frames)
    save_split(folder / "split.json", split, "benchmark fold", groups=None)
    model = folder / "model.pt"
    if not model.exists():
        options = {"seed": fold} | ({"steps": args.steps} if args.steps else {})
        command(
            "train",
            "--data",
            str(data),
            "--split",
            str(folder / "split.json"),
            "--out",
            str(model),
            "--log",
            str(folder / "train_log.csv"),
            "--options",
            json.dumps(options),
            "--threads",
            str(args.threads),
        )
    return folder


def measure(folder: Path, data: Path, tta: int, threads: int) -> dict:
    """Fit the workflow's calibration (`direction-tagger calibrate`) and the one before #24
    (the validation frames alone); both on the held-out recordings."""
    from direction_tagger.evaluate.calibration import fit_calibration, p_within
    from direction_tagger.io import load_labelled, read_json
    from direction_tagger.movies.predict import load_predictor
    from direction_tagger.originals.split import load_split

    out = folder / f"calibration_tta{tta}.json"
    command(
        "calibrate",
        "--model",
        str(folder / "model.pt"),
        "--data",
        str(data),
        "--split",
        str(folder / "split.json"),
        "--tta",
        str(tta),
        "--out",
        str(out),
        "--device",
        "cpu",
        "--threads",
        str(threads),
    )
    shipped = read_json(out, "calibration")
    labelled = load_labelled(data)
    split = load_split(folder / "split.json")
    predictor, _ = load_predictor(folder / "model.pt", "cpu")

    def run(idx):
        pred = predictor.predict(labelled.images[idx], tta=tta)
        return np.linalg.norm(pred.locs - labelled.locs[idx], axis=-1), pred

    val_errors, val = run(split["val"])
    before = fit_calibration(val_errors, val.confidence, val.spread, tta)
    errors, test = run(split["test"])
    result = {"n_val": len(split["val"]), "n_test": len(split["test"]), "radii": {}}
    for radius in (2.0, 3.0):
        hit = errors <= radius
        result["radii"][radius] = {
            name: (p_within(c, test.confidence, test.spread, radius), hit)
            for name, c in (("before", before), ("now", shipped))
        }
    return result


def describe(p: np.ndarray) -> str:
    return f"{p.min():.2f}-{p.max():.2f} (sd {p.std():.3f})"


def main() -> int:
    from direction_tagger.evaluate.calibration import reliability

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, required=True)
    parser.add_argument("--folds", type=int, default=4)
    parser.add_argument("--val-frames", type=int, default=8)
    parser.add_argument("--tta", type=int, nargs="+", default=[2, 8], help="2: movies, 8: evaluate")
    parser.add_argument("--steps", type=int, default=None, help="default: the automatic budget")
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--only", type=int, nargs="+", help="run these folds alone")
    parser.add_argument("--train-only", action="store_true")
    parser.add_argument("--workdir", type=Path, default=Path("/tmp/bench_calibration_few_val"))
    args = parser.parse_args()
    data = args.data.resolve()
    folds = args.only if args.only is not None else range(args.folds)
    folders = [train_fold(args.workdir, data, f, args) for f in folds]
    if args.train_only:
        return 0
    print(
        f"# {args.folds} folds, {args.val_frames} validation frames each, "
        f"{args.steps or 'automatic'} training steps"
    )
    for tta in args.tta:
        results = [measure(folder, data, tta, args.threads) for folder in folders]
        for radius in (2.0, 3.0):
            print(f"\n## TTA {tta}, P(within {radius:g} px) on held-out recordings")
            print(
                "| fold | val / test frames | share within, test | ECE before | ECE now | "
                "p before: range (sd) | p now: range (sd) |"
            )
            print("|---|---|---|---|---|---|---|")
            pooled = {"before": ([], []), "now": ([], [])}
            for fold, r in enumerate(results):
                cells = r["radii"][radius]
                for name, (p, hit) in cells.items():
                    pooled[name][0].append(p.reshape(-1))
                    pooled[name][1].append(hit.reshape(-1))
                hit = cells["now"][1]
                ece = {k: reliability(p, h)["ece"] for k, (p, h) in cells.items()}
                print(
                    f"| {fold} | {r['n_val']} / {r['n_test']} | {hit.mean():.3f} | "
                    f"{ece['before']:.3f} | {ece['now']:.3f} | {describe(cells['before'][0])} | "
                    f"{describe(cells['now'][0])} |"
                )
            ece = {
                k: reliability(np.concatenate(p), np.concatenate(h))["ece"]
                for k, (p, h) in pooled.items()
            }
            n = sum(len(h) for h in pooled["now"][1])
            print(
                f"| pooled | | {np.concatenate(pooled['now'][1]).mean():.3f} ({n} points) | "
                f"{ece['before']:.3f} | {ece['now']:.3f} | "
                f"{describe(np.concatenate(pooled['before'][0]))} | "
                f"{describe(np.concatenate(pooled['now'][0]))} |",
                flush=True,
            )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
