"""Small test material for the video tests: arena frames and a DeepLabCut project in DLC's
own layout, made from the synthetic arena renderer (no real data)."""

from __future__ import annotations

from pathlib import Path

import imageio.v3 as iio
import numpy as np

from direction_tagger.data.synth.arena import make_arena_video

SCORER = "Tester"


def arena_frames(n: int, seed: int, **options) -> tuple[np.ndarray, np.ndarray]:
    """(n, H, W) uint8 frames and (n, 3, 2) keypoints (video px) of an arena video."""
    frames, truth = zip(*make_arena_video(n, seed, **options))
    return np.stack(frames), np.stack(truth)


def dlc_csv_text(names: list[str], rec: str, points: dict[str, np.ndarray], old_index: bool):
    """A CollectedData CSV as DeepLabCut writes it: scorer / bodyparts / coords rows, then one
    row per frame indexed by `labeled-data/<rec>/<img>` (older DLC) or its 3 parts (newer)."""
    parts = list(points)
    pad = [""] if old_index else ["", "", ""]
    rows = [
        ["scorer", *pad[1:], *[SCORER] * (2 * len(parts))],
        ["bodyparts", *pad[1:], *[p for p in parts for _ in "xy"]],
        ["coords", *pad[1:], *["x", "y"] * len(parts)],
    ]
    for i, name in enumerate(names):
        index = [f"labeled-data/{rec}/{name}"] if old_index else ["labeled-data", rec, name]
        values = []
        for p in parts:
            values += ["" if np.isnan(v) else f"{v:.3f}" for v in points[p][i]]
        rows.append(index + values)
    return "\n".join(",".join(r) for r in rows) + "\n"


def write_dlc_project(root: Path, recordings: int = 2, frames: int = 12, seed: int = 0):
    """A DLC project with `recordings` recordings of `frames` RGB PNG frames each, body parts
    nose, left_ear, right_ear (midpoint = our neck), tail_base and a distractor part; the
    first frame of the first recording has no nose label. Returns {rec: truth (n, 3, 2)}."""
    truths = {}
    for r in range(recordings):
        rec = f"mouse{r}_day1"
        folder = root / "labeled-data" / rec
        folder.mkdir(parents=True)
        # frames spread over a walk, so the animal is somewhere else in each
        grey, truth = arena_frames(frames * 8, seed + r, width=320, height=240, tether=False)
        grey, truth = grey[::8], truth[::8]
        names = [f"img{i:04d}.png" for i in range(len(grey))]
        for name, frame in zip(names, grey):
            iio.imwrite(folder / name, np.repeat(frame[..., None], 3, axis=2))
        base, neck, nose = truth[:, 0], truth[:, 1], truth[:, 2]
        across = (nose - base)[:, ::-1] * np.array([1, -1]) * 0.2
        points = {
            "nose": nose.astype(float),
            "left_ear": neck + across,
            "right_ear": neck - across,
            "tail_base": base.astype(float),
            "objectA": np.full_like(base, np.nan, dtype=float),
        }
        if r == 0:
            points["nose"][0] = np.nan
        (folder / f"CollectedData_{SCORER}.csv").write_text(
            dlc_csv_text(names, rec, points, old_index=r % 2 == 1)
        )
        truths[rec] = truth
    (root / "config.yaml").write_text(f"Task: test\nscorer: {SCORER}\nbodyparts: [nose]\n")
    return truths


def tracked_with_perfect_predictions(folder: Path, frames: int, seed: int) -> np.ndarray:
    """In `folder`: arena.mp4 (320x240) tracked as `track` does (movie.npz, track.csv, qc.json,
    arena_background.npz), a perfect model's predictions in crop px (predictions.csv) and in
    video px (video.csv, `to-video`). Returns the truth (frames, 3, 2), video px."""
    import pandas as pd

    from direction_tagger import cli
    from direction_tagger.data.synth.arena import write_arena_video
    from direction_tagger.movies.tables import movie_table, write_table
    from direction_tagger.videos.crop import video_to_crop

    d = Path(folder)
    video = d / "arena.mp4"
    truth = write_arena_video(video, frames, seed=seed, width=320, height=240, tether=False)
    track = ["--movie", d / "movie.npz", "--table", d / "track.csv", "--qc", d / "qc.json"]
    assert cli.main([str(a) for a in ["track", "--video", video, *track, "--quiet"]]) == 0
    table = pd.read_csv(d / "track.csv")
    centres, sides = table[["crop_x", "crop_y"]].to_numpy(), table["crop_side"].to_numpy()
    crop = movie_table(video_to_crop(truth, centres, sides), np.ones((len(truth), 3)), fps=30.0)
    write_table(d / "predictions.csv", crop)
    argv = ["to-video", "--predictions", d / "predictions.csv", "--track", d / "track.csv"]
    assert cli.main([str(a) for a in [*argv, "--out", d / "video.csv"]]) == 0
    return truth
