"""Where in the arena the flagged frames fall (`flag-map`, rule flag_map): the map puts the
flags where the animal was when they fired, and the workflow draws it for every video."""

from __future__ import annotations

import imageio.v3 as iio
import numpy as np
import pandas as pd
import pytest
from videos_material import tracked_with_perfect_predictions

from direction_tagger import cli
from direction_tagger.movies.tables import write_table
from direction_tagger.videos.figures import flag_map_figure
from direction_tagger.videos.silhouette import ArenaBackground


@pytest.fixture(scope="module")
def video_table(tmp_path_factory):
    """A tracked arena video with a perfect model's predictions in video px."""
    d = tmp_path_factory.mktemp("flags")
    truth = tracked_with_perfect_predictions(d, 60, seed=5)
    return d, truth


def test_the_flags_are_mapped_where_the_animal_was(video_table, tmp_path):
    d, truth = video_table
    table = pd.read_csv(d / "video.csv")
    middle = (truth[:, 0] + truth[:, 2]) / 2
    # flag the frames where the animal is furthest right, and two others by another flag
    right = middle[:, 0] >= np.quantile(middle[:, 0], 0.75)
    table["qc_uncertain"] = right
    table["qc_off_animal"] = False
    table.loc[[0, 1], "qc_off_animal"] = True
    table["qc_any"] = table["qc_uncertain"] | table["qc_off_animal"]
    background = ArenaBackground(d / "arena_background.npz").image
    cell = 20.0
    drawn = flag_map_figure(tmp_path / "flags.png", background, table, cell)
    assert drawn["frames"] == 60
    assert drawn["flagged"] == int((right | (np.arange(60) < 2)).sum())
    assert drawn["by_flag"]["uncertain"] == int(right.sum())
    assert drawn["by_flag"]["off_animal"] == 2
    # the cell flagged most often is one the animal visited while flagged, on the right
    worst = drawn["worst_cell"]
    assert worst["x"] > np.quantile(middle[:, 0], 0.5)
    near = np.abs(middle[right] - [worst["x"], worst["y"]]).max(axis=1) <= cell / 2 + 1e-6
    assert near.any()
    image = iio.imread(tmp_path / "flags.png")
    assert image.ndim == 3 and image.shape[1] > image.shape[0] > 200


def test_the_command_draws_the_map_and_says_where_most_flags_are(video_table, tmp_path, capsys):
    d, _ = video_table
    table = pd.read_csv(d / "video.csv")
    table["qc_uncertain"] = np.arange(len(table)) >= 30  # the second half of the video
    write_table(tmp_path / "video.csv", table)
    argv = ["flag-map", "--predictions", tmp_path / "video.csv"]
    argv += ["--background", d / "arena_background.npz"]
    assert cli.main([str(a) for a in argv]) == 0
    out = capsys.readouterr().out
    assert "30 of 60 frames flagged" in out and "most in the cell at" in out
    assert iio.imread(tmp_path / "video_flags.png").ndim == 3  # the default name, beside
