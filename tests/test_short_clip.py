"""A short clip whose animal sits on one spot in most frames: the median-like background
holds the animal there, so the tracker saw only the part that moved (crop side ~ the body
length, centres 8-11 crop px off). The floor the animal uncovers in the other frames mends
the background, and `track` says it had to."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

from direction_tagger.data.synth.arena import write_arena_video
from direction_tagger.videos.reader import video_info
from direction_tagger.videos.track import track_video


def tracked(folder, frames: int, capsys):
    video = folder / "clip.mp4"
    truth = write_arena_video(video, frames, seed=5, width=320, height=240, tether=False)
    track_video(video_info(video), folder / "m.npz", folder / "t.csv", folder / "q.json")
    table = pd.read_csv(folder / "t.csv")
    middle = (truth[:, 0] + truth[:, 2]) / 2  # the nose - tail base midpoint, video px
    off = np.hypot(*(table[["crop_x", "crop_y"]].to_numpy() - middle).T) * 50 / table["crop_side"]
    body = np.median(np.linalg.norm(truth[:, 2] - truth[:, 0], axis=-1))
    qc = json.loads((folder / "q.json").read_text())
    return qc, table["crop_side"].median() / body, np.median(off), capsys.readouterr().err


def test_a_clip_where_the_animal_sits_still_gets_its_background_mended(tmp_path, capsys):
    qc, side_over_body, centre_off, err = tracked(tmp_path, 60, capsys)
    assert qc["background_mended_px"] > 0
    assert "warning:" in err and "sat on one spot" in err and "track.crop_side" in err
    # measured: without mending the crop side was 0.95 x the body and centres 11 crop px off
    assert side_over_body > 1.6, side_over_body
    assert centre_off < 3.0, centre_off


@pytest.mark.parametrize("frames", [120])
def test_a_clip_where_the_animal_moves_is_left_as_it_was(tmp_path, capsys, frames):
    qc, side_over_body, centre_off, err = tracked(tmp_path, frames, capsys)
    assert qc["background_mended_px"] == 0 and "warning" not in err
    assert 1.8 < side_over_body < 2.6 and centre_off < 3.0, (side_over_body, centre_off)
