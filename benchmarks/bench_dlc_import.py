"""A real DeepLabCut project, the path users get: `data: {source: dlc}` through `snakemake`.

1. The crop: for every labelled frame, how far the crop centre the importer found in the
   image (never from the labels) lies from the labelled nose - tail base midpoint, in crop
   pixels (50 per crop side). Target: within 2 px on >= 95 % of frames.
2. Import + train + evaluate by recording: the workflow in a temporary folder, split by
   recording (9 train, 1 validation, 2 test of the shared project's 12), default training
   options in fp32, and the held-out error it writes. Target: <= 0.6 px median nose and
   tail base (the real-mice benchmark's level).

The project is NOT part of this repository:

    python benchmarks/bench_dlc_import.py --project ../shared/data/xmwell_dlc_project
"""

from __future__ import annotations

import argparse
import os
import platform
import sys
import tempfile
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "src"))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from bench_real_mice import line, run_workflow  # noqa: E402

from direction_tagger.videos.dlc import find_recordings, import_project, read_recording  # noqa: E402


def crop_centres(project: Path, nose: str, base: str) -> np.ndarray:
    """Distance (crop px) from each imported frame's crop centre to its labelled midpoint."""
    labels = {}
    for csv in find_recordings(project):
        rec = read_recording(csv)
        for i, image in enumerate(rec.images):
            labels[(rec.name, image.name)] = (rec.points[nose][i] + rec.points[base][i]) / 2
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "labelled.npz"
        import_project(project, out, progress=False)
        with np.load(out, allow_pickle=False) as npz:
            keys = list(zip(npz["video"], npz["frame"]))
            centres = np.stack([npz["crop_x"], npz["crop_y"]], 1)
            sides = npz["crop_side"]
    middle = np.array([labels[k] for k in keys])
    return np.linalg.norm(centres - middle, axis=1) * 50 / sides


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--project", required=True, type=Path)
    parser.add_argument("--nose", default="NOSE", help="the project's nose body part")
    parser.add_argument("--base", default="TAIL", help="the project's tail base body part")
    parser.add_argument("--precision", choices=["fp32", "auto"], default="fp32")
    parser.add_argument("--cores", type=int, default=2)
    parser.add_argument("--seed", type=int, default=0, help="training seed")
    parser.add_argument("--split-seed", type=int, default=0)
    parser.add_argument("--options", default="{}", help="extra train options as JSON")
    parser.add_argument("--skip-training", action="store_true", help="only the crop check")
    args = parser.parse_args()
    args.dlc, args.group_key = True, None
    print(f"CPU: {platform.processor() or platform.machine()}, {os.cpu_count()} cores, "
          f"snakemake --cores {args.cores}, precision {args.precision}", flush=True)  # fmt: skip
    error = crop_centres(args.project.resolve(), args.nose, args.base)
    print(
        f"crop centre vs labelled nose-tail base midpoint, {len(error)} frames: median "
        f"{np.median(error):.2f} px, 95th percentile {np.quantile(error, 0.95):.2f} px; "
        f"within 2 px on {np.mean(error <= 2):.1%} (target 95 %), within 4 px on "
        f"{np.mean(error <= 4):.1%}",
        flush=True,
    )
    if not args.skip_training:
        result = run_workflow(args.project.resolve(), args, busy=False)
        print(
            "split by recording: "
            + ", ".join(f"{n} {p['n_frames']} frames" for n, p in result["parts"].items())
        )
        print(line("dlc", result))


if __name__ == "__main__":
    main()
