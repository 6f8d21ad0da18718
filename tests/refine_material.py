"""Small material for the refine tests, made without training a model: a synthetic movie and a
tracked synthetic arena video, each with a predictions table as the movie chain writes it
(the truth moved a little, a doubtful stretch, QC flags, head/tail certainty)."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from direction_tagger import cli
from direction_tagger.data.synth import make_movie
from direction_tagger.data.synth.arena import write_arena_video
from direction_tagger.io import KEYPOINTS, load_movie, save_labelled, save_movie
from direction_tagger.movies.tables import movie_table, write_table
from direction_tagger.videos.crop import video_to_crop
from direction_tagger.videos.to_video import read_track


def run_cli(argv) -> None:
    status = cli.main([str(a) for a in argv])
    assert status == 0, argv


def predictions(truth: np.ndarray, seed: int, doubtful: slice) -> object:
    """A smoothed predictions table of `truth` (M, 3, 2): points 0.3 px off, P(within 2 px)
    0.95 but 0.2 on the `doubtful` frames, which are also QC-flagged and half sure of the
    head/tail order."""
    rng = np.random.default_rng(seed)
    m = len(truth)
    locs = truth + rng.normal(0, 0.3, truth.shape)
    p2 = np.full((m, 3), 0.95)
    p2[doubtful] = 0.2
    certainty = np.ones(m)
    certainty[doubtful] = 0.55
    flag = np.zeros(m, bool)
    flag[doubtful] = True
    extra = {"polarity_certainty": certainty} | {
        f"{k}_p_within_2px": p2[:, i] for i, k in enumerate(KEYPOINTS)
    }
    return movie_table(locs, np.full((m, 3), 0.9), flags={"uncertain": flag}, extra=extra)


def write_movie_source(folder: Path, frames: int = 60, seed: int = 5) -> tuple:
    """A synthetic movie and its table: (name, table path, movie path)."""
    images, truth = make_movie(frames, seed)
    save_movie(folder / "walk.npz", images, 30.0, truth)
    write_table(folder / "walk.csv", predictions(truth, seed, slice(10, 40)))
    return "walk", folder / "walk.csv", folder / "walk.npz"


def write_video_source(folder: Path, frames: int = 150, seed: int = 11) -> tuple:
    """A tracked arena video and its to-video table: (name, table, movie, video)."""
    video = folder / "arena.mp4"
    truth = write_arena_video(video, frames, seed, tether=False)
    movie, track = folder / "arena_movie.npz", folder / "arena_track.csv"
    run_cli(["track", "--video", video, "--movie", movie, "--table", track, "--quiet"])
    table = read_track(track)
    centres = table[["crop_x", "crop_y"]].to_numpy(float)
    crop_truth = video_to_crop(truth, centres, table["crop_side"].to_numpy(float))
    crop_table = folder / "arena_crop.csv"
    write_table(crop_table, predictions(crop_truth, seed, slice(20, 80)))
    out = folder / "arena_video.csv"
    run_cli(["to-video", "--predictions", crop_table, "--track", track, "--out", out])
    assert len(load_movie(movie)) == frames
    return "arena", out, movie, video


def write_labelled(folder: Path, images: np.ndarray, locs: np.ndarray) -> Path:
    path = folder / "labelled.npz"
    save_labelled(path, images, locs.astype(np.float32))
    return path


def refine_folder(folder: Path, frames: int = 8, movie: bool = True) -> Path:
    """The refine folder of a video (and a movie): `direction-tagger refine` run on them."""
    folder.mkdir(parents=True, exist_ok=True)
    argv = ["refine", "--frames", frames, "--out", folder / "refine", "--quiet"]
    argv += ["--video", *write_video_source(folder)]
    if movie:
        argv += ["--movie", *write_movie_source(folder)]
    run_cli(argv)
    return folder / "refine"
