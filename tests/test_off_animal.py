"""Keypoints off the animal (issue #24: a rearing mouse's nose put on its reflection in the
wall): the tracker saves the empty arena, `smooth` finds each keypoint further than
OFF_ANIMAL_PX from the animal's silhouette in its crop, moves it onto the silhouette and flags
the frame ``off_animal``; a right answer is never moved. On a synthetic arena video, tracked
and smoothed by the real commands."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

from direction_tagger.cli import main
from direction_tagger.data.synth.arena import write_arena_video
from direction_tagger.movie_store import open_movie
from direction_tagger.movies.tables import movie_table
from direction_tagger.report.summary import off_animal_line
from direction_tagger.videos.crop import video_to_crop
from direction_tagger.videos.silhouette import (
    OFF_ANIMAL_PX,
    ArenaBackground,
    onto_animal_of_movie,
)
from direction_tagger.videos.to_video import read_track

PUSHED = range(40, 51)  # frames whose nose the "network" puts beyond the head


@pytest.fixture(scope="module")
def tracked(tmp_path_factory):
    """A 150-frame arena video (no tether: the renderer's faint snout under a black cable
    falls below the silhouette's threshold), tracked by `direction-tagger track`; the true
    keypoints in crop px. (Shorter, the animal sits in the background model.)"""
    folder = tmp_path_factory.mktemp("off animal")
    video = folder / "arena.mp4"
    truth = write_arena_video(video, 150, seed=5, tether=False)
    assert main(["track", "--video", str(video), "--quiet"]) == 0
    files = {
        "video": video,
        "track": folder / "arena_track.csv",
        "movie": folder / "arena_movie.npz",
        "background": folder / "arena_background.npz",
    }
    track = read_track(files["track"])
    centres = track[["crop_x", "crop_y"]].to_numpy()
    crop_truth = video_to_crop(truth, centres, track["crop_side"].to_numpy())
    return files, track, crop_truth


def pushed_nose(truth: np.ndarray) -> np.ndarray:
    """The true keypoints with the nose 0.4 body lengths beyond the head on PUSHED frames."""
    raw = truth.copy()
    body = truth[:, 2] - truth[:, 0]
    raw[PUSHED, 2] += 0.4 * body[PUSHED]
    return raw


def test_the_tracker_saves_the_arena_and_right_answers_are_never_moved(tracked):
    files, track, truth = tracked
    background = ArenaBackground(files["background"])
    assert background.image.shape == (480, 640) and background.polarity in (1.0, -1.0)
    with open_movie(files["movie"]) as movie:
        frame = movie.read(0, 1)[0]
    mask = background.silhouette(frame, *track.loc[0, ["crop_x", "crop_y", "crop_side"]])
    assert 0.05 < mask.mean() < 0.5  # the animal, not the floor, not nothing
    moved = onto_animal_of_movie(files["background"], files["movie"], track, truth)
    assert np.isnan(moved).all(), np.argwhere(np.isfinite(moved).all(axis=2))


def test_a_nose_off_the_animal_is_moved_onto_it_and_flagged(tracked, tmp_path):
    files, track, truth = tracked
    raw = pushed_nose(truth)
    table = movie_table(raw, np.full((len(raw), 3), 0.95), None, 30.0)
    table.to_csv(tmp_path / "raw.csv", index=False)
    args = ["smooth", "--predictions", str(tmp_path / "raw.csv"), "--track", str(files["track"])]
    assert main(args + ["--out", str(tmp_path / "plain.csv")]) == 0  # no background: as before
    assert "qc_off_animal" not in pd.read_csv(tmp_path / "plain.csv").columns
    out, qc_json = tmp_path / "out.csv", tmp_path / "qc.json"
    args += ["--movie", str(files["movie"]), "--background", str(files["background"])]
    assert main(args + ["--out", str(out), "--qc-json", str(qc_json)]) == 0

    smoothed = pd.read_csv(out)
    np.testing.assert_array_equal(
        np.flatnonzero(smoothed["qc_off_animal"].to_numpy()), np.array(list(PUSHED))
    )
    assert smoothed["qc_any"].to_numpy()[list(PUSHED)].all()
    qc = json.loads(qc_json.read_text())
    assert qc["flagged_frames"]["off_animal"] == len(PUSHED)
    assert f"on {len(PUSHED)} frames (7.3%)" in off_animal_line("arena", qc)
    assert off_animal_line("arena", {"flagged_frames": {"off_animal": 0}}) is None
    assert qc["settings"]["background"] == str(files["background"])
    # the network's answer stays in the raw columns; the nose shown is back at the head
    np.testing.assert_allclose(smoothed["head_x_raw"], raw[:, 2, 0], atol=1e-3)
    nose = smoothed[["head_x", "head_y"]].to_numpy()[list(PUSHED)]
    pushed_off = np.linalg.norm(raw[PUSHED, 2] - truth[PUSHED, 2], axis=1)
    now_off = np.linalg.norm(nose - truth[PUSHED, 2], axis=1)
    assert (now_off < 0.5 * pushed_off).all(), (now_off, pushed_off)
    background = ArenaBackground(files["background"])
    with open_movie(files["movie"]) as movie:
        frames = movie.read(0, len(track))
    for i, (x, y) in zip(PUSHED, nose):
        mask = background.silhouette(frames[i], *track.loc[i, ["crop_x", "crop_y", "crop_side"]])
        rows, cols = np.nonzero(mask)
        assert np.hypot(cols - x, rows - y).min() <= OFF_ANIMAL_PX


def test_movie_and_background_come_together_and_a_bad_background_is_named(
    tracked, tmp_path, capsys
):
    files, track, truth = tracked
    movie_table(truth, np.full((len(truth), 3), 0.95), None, 30.0).to_csv(
        tmp_path / "raw.csv", index=False
    )
    out = tmp_path / "o.csv"
    base = ["smooth", "--predictions", str(tmp_path / "raw.csv"), "--out", str(out)]
    base += ["--track", str(files["track"]), "--movie", str(files["movie"])]
    assert main(base) == 2
    assert "--movie and --background go together" in capsys.readouterr().err
    bad = tmp_path / "background.npz"
    np.savez(bad, background=np.zeros((4, 4), np.uint8), polarity=np.float64(1.0))
    assert main(base + ["--background", str(bad)]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and f"{bad}: key 'noise' missing" in err, err
    assert not out.exists()  # nothing half-written
