"""Keypoints off the animal (videos/silhouette.py): is a right answer ever moved, and which
video frames are? Side by side for the silhouette's threshold (a share of the animal's
contrast peak), the default PEAK_FRACTION first:

- **labels moved**: a DeepLabCut project's labelled keypoints (as `import-dlc` cut them:
  its labelled.npz) that the check would move, each recording's background made from its
  labelled frames. A right answer must never be moved: 0 is the target.
- **synthetic true points moved**: arena videos of the renderer, tracked by `track`, their
  true keypoints checked.
- **video frames moved**: with a workflow run on a real video (`--run WORK --run-name RUN
  --video NAME`), the frames whose model keypoints would be moved, to look at
  (bench_real_video_polarity.py draws them).

    python benchmarks/bench_off_animal.py \\
        --dlc-project ../shared/data/xmwell_dlc_project \\
        --labelled WORK/results/data/dlc/labelled.npz --run WORK --run-name real --video openfield

Real data is for measurement only: nothing of it is committed, no test reads it.
"""

from __future__ import annotations

import argparse
import tempfile
from pathlib import Path

import numpy as np
from PIL import Image

import direction_tagger.videos.silhouette as silhouette
from direction_tagger.cli import main as cli
from direction_tagger.commands.movies import _model_locs
from direction_tagger.data.synth.arena import write_arena_video
from direction_tagger.videos.crop import video_to_crop
from direction_tagger.videos.finder import PEAK_FRACTION, build_background
from direction_tagger.videos.to_video import read_track

SYNTHETIC = [(150, 5, False), (120, 3, True), (90, 11, True)]  # frames, seed, tether


def with_fraction(fraction: float):
    """The silhouette module with its threshold at `fraction` of the peak."""
    silhouette.PEAK_FRACTION = fraction
    return silhouette


def labels_moved(project: Path, labelled: Path, folder: Path) -> int:
    data = np.load(labelled, allow_pickle=False)
    moved = 0
    for video in np.unique(data["video"]):
        frames = [
            Image.open(f).convert("L")
            for f in sorted((project / "labeled-data" / video).glob("*.png"))
        ]
        path = folder / f"{video}_background.npz"
        if not path.exists():
            silhouette.save_background(path, build_background(np.stack(frames)))
        mine = data["video"] == video
        locs = np.stack([data[f"locs_{k}"][mine] for k in ("base", "neck", "head")], axis=1)
        centres = np.stack([data[k][mine] for k in ("crop_x", "crop_y", "crop_side")], axis=1)
        background = silhouette.ArenaBackground(path)
        out, _ = silhouette.onto_animal(background, data["images"][mine], centres, locs)
        moved += int(np.isfinite(out).all(axis=2).sum())
    return moved


def synthetic_videos(folder: Path) -> list:
    made = []
    for frames, seed, tether in SYNTHETIC:
        video = folder / f"arena_{seed}.mp4"
        truth = write_arena_video(video, frames, seed=seed, tether=tether)
        cli(["track", "--video", str(video), "--quiet"])
        track = read_track(folder / f"arena_{seed}_track.csv")
        crop = video_to_crop(truth, track[["crop_x", "crop_y"]].to_numpy(), track["crop_side"])
        made.append(
            (
                folder / f"arena_{seed}_background.npz",
                folder / f"arena_{seed}_movie.npz",
                track,
                crop,
            )
        )
    return made


def frames_moved(background, movie, track, locs) -> np.ndarray:
    out = silhouette.onto_animal_of_movie(background, movie, track, locs)
    return np.flatnonzero(np.isfinite(out).all(axis=2).any(axis=1))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--dlc-project", type=Path, required=True)
    ap.add_argument("--labelled", type=Path, required=True, help="import-dlc's labelled.npz")
    ap.add_argument("--run", type=Path, help="a workflow's working folder with a video run")
    ap.add_argument("--run-name", default="real")
    ap.add_argument("--video", default="openfield")
    ap.add_argument("--fractions", type=float, nargs="+", default=[PEAK_FRACTION, 0.25, 0.2])
    args = ap.parse_args()
    folder = Path(tempfile.mkdtemp(prefix="off_animal_"))
    videos = synthetic_videos(folder)
    print("fraction | labels moved | synthetic true points moved | video frames moved")
    for fraction in args.fractions:
        with_fraction(fraction)
        labels = labels_moved(args.dlc_project, args.labelled, folder)
        synthetic = [int(len(frames_moved(b, m, t, c))) for b, m, t, c in videos]
        line = f"{fraction:.2f} | {labels} | {synthetic}"
        if args.run:
            shared = args.run / "results" / "videos" / args.video
            raw = (
                args.run / "results" / args.run_name / "movies" / args.video / "predictions_raw.csv"
            )
            track = read_track(shared / "track.csv")
            moved = frames_moved(
                shared / "background.npz", shared / "movie.npz", track, _model_locs(raw)
            )
            line += f" | {len(moved)}: {moved.tolist()}"
        print(line, flush=True)


if __name__ == "__main__":
    main()
