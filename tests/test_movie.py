"""Movie tables (tidy and DeepLabCut CSV) and the movie commands, run through the CLI."""

import json

import numpy as np
import pandas as pd
import pytest

from direction_tagger.cli import main
from direction_tagger.io import save_labelled, save_movie
from direction_tagger.movies.tables import (
    movie_table,
    read_table,
    table_fps,
    write_dlc_csv,
    write_table,
)
from direction_tagger.movies.video_io import read_video_frames

BASE_COLUMNS = [
    "frame",
    "time_s",
    "base_x",
    "base_y",
    "base_confidence",
    "neck_x",
    "neck_y",
    "neck_confidence",
    "head_x",
    "head_y",
    "head_confidence",
    "body_direction_deg",
    "head_direction_deg",
    "head_relative_deg",
    "body_length_px",
    "speed_px_s",
]


def rat_track(m=60, fps=30.0):
    """A rat-like skeleton (base, neck, nose; px) turning slowly around the frame centre."""
    t = np.arange(m) / fps
    heading = np.radians(30 * t)
    centre = np.stack([24.5 + 3 * np.cos(0.8 * t), 24.5 + 2 * np.sin(0.6 * t)], axis=1)
    u = np.stack([np.cos(heading), -np.sin(heading)], axis=1)
    look = heading + np.radians(25 * np.sin(1.5 * t))  # the head looks around
    neck = centre + 6 * u
    nose = neck + 5 * np.stack([np.cos(look), -np.sin(look)], axis=1)
    return np.stack([centre - 6 * u, neck, nose], axis=1)


def test_tidy_table_columns_and_values():
    # base -> neck points right (0 deg), neck -> nose points up (90 deg); moves 1 px/frame in x
    m = 4
    locs = np.array([[[10.0, 25.0], [20.0, 25.0], [20.0, 15.0]]] * m)
    locs[..., 0] += np.arange(m)[:, None]
    table = movie_table(locs, np.full((m, 3), 0.8), None, fps=10.0)
    assert list(table.columns) == BASE_COLUMNS
    assert table["frame"].tolist() == [0, 1, 2, 3]
    np.testing.assert_allclose(table["time_s"], [0, 0.1, 0.2, 0.3])
    np.testing.assert_allclose(table["body_direction_deg"], 0.0)
    np.testing.assert_allclose(table["head_direction_deg"], 90.0)
    np.testing.assert_allclose(table["head_relative_deg"], 90.0)
    np.testing.assert_allclose(table["body_length_px"], 20.0)
    np.testing.assert_allclose(table["speed_px_s"], 10.0)  # 1 px/frame at 10 fps


def test_optional_columns_spread_raw_truth_and_flags(tmp_path):
    locs = rat_track(10)
    spread = np.full((10, 3), 0.3)
    flags = {"jump": np.zeros(10, bool), "swap": np.eye(10, dtype=bool)[4]}
    table = movie_table(locs, np.ones((10, 3)), spread, 30.0, flags, raw_locs=locs, truth_locs=locs)
    for column in (
        "base_spread_px",
        "head_x_raw",
        "body_direction_deg_raw",
        "neck_y_true",
        "head_relative_deg_true",
        "qc_jump",
        "qc_swap",
        "qc_any",
    ):
        assert column in table.columns, column
    assert table.columns[-1] == "qc_any" and table["qc_any"].tolist() == flags["swap"].tolist()
    no_tta = movie_table(locs, np.ones((10, 3)), np.full((10, 3), np.nan), 30.0)
    assert list(no_tta.columns) == BASE_COLUMNS  # all-NaN spread (TTA off): no columns

    path = write_table(tmp_path / "table.csv", table)
    back = pd.read_csv(path)
    assert list(back.columns) == list(table.columns)
    assert back["qc_swap"].dtype == bool and back["qc_swap"].tolist() == flags["swap"].tolist()
    np.testing.assert_allclose(back["head_x"], table["head_x"], atol=1e-6)
    assert table_fps(read_table(path)) == pytest.approx(30.0)
    assert [p.name for p in tmp_path.iterdir()] == ["table.csv"]  # no temporary left


def test_dlc_csv_layout(tmp_path):
    locs = rat_track(5)
    confidence = np.linspace(0.1, 0.9, 15).reshape(5, 3)
    path = write_dlc_csv(tmp_path / "dlc.csv", locs, confidence)
    lines = path.read_text().splitlines()
    assert lines[0].startswith("scorer,direction-tagger,")
    assert lines[1] == "bodyparts," + ",".join(
        p for p in ("tail_base", "neck", "nose") for _ in range(3)
    )
    assert lines[2] == "coords," + ",".join(["x", "y", "likelihood"] * 3)
    assert len(lines) == 3 + 5

    dlc = pd.read_csv(path, header=[0, 1, 2], index_col=0)
    assert dlc.columns.names == ["scorer", "bodyparts", "coords"]
    assert dlc.index.tolist() == [0, 1, 2, 3, 4]
    assert dlc.columns.get_level_values("bodyparts").unique().tolist() == [
        "tail_base",
        "neck",
        "nose",
    ]
    np.testing.assert_allclose(dlc["direction-tagger", "nose", "x"], locs[:, 2, 0], atol=1e-6)
    np.testing.assert_allclose(
        dlc["direction-tagger", "neck", "likelihood"], confidence[:, 1], atol=1e-6
    )


def make_movie_and_raw_csv(tmp_path, m=40):
    """A synthetic movie (.npz) and raw predictions CSV with a planted head/tail swap."""
    truth = rat_track(m)
    rng = np.random.default_rng(0)
    images = rng.integers(30, 80, (m, 50, 50)).astype(np.uint8)
    raw = truth + rng.normal(0, 0.2, truth.shape)
    raw[m // 2, [0, 2]] = raw[m // 2, [2, 0]]
    movie = tmp_path / "movie.npz"
    save_movie(movie, images, fps=25.0, locs=truth)
    predictions = write_table(
        tmp_path / "raw.csv", movie_table(raw, np.full((m, 3), 0.9), None, 25.0, truth_locs=truth)
    )
    return movie, predictions, truth


def test_smooth_figures_and_render_through_the_cli(tmp_path, capsys):
    movie, predictions, truth = make_movie_and_raw_csv(tmp_path)
    labelled = tmp_path / "train.npz"
    save_labelled(labelled, np.zeros((40, 50, 50), np.uint8), truth)
    assert (
        main(["qc-reference", "--labelled", str(labelled), "--out", str(tmp_path / "ref.json")])
        == 0
    )
    assert (
        main(
            [
                "smooth",
                "--predictions",
                str(predictions),
                "--out",
                str(tmp_path / "smooth.csv"),
                "--dlc-csv",
                str(tmp_path / "dlc.csv"),
                "--qc-json",
                str(tmp_path / "qc.json"),
                "--reference",
                str(tmp_path / "ref.json"),
            ]
        )
        == 0
    )

    smooth = pd.read_csv(tmp_path / "smooth.csv")
    assert list(smooth.columns[: len(BASE_COLUMNS)]) == BASE_COLUMNS
    for column in ("base_x_raw", "head_direction_deg_raw", "base_x_true", "qc_swap", "qc_any"):
        assert column in smooth.columns
    # the planted swap is turned back by the polarity pass, so QC has no swap left to flag
    assert np.flatnonzero(smooth["polarity_exchanged"]).tolist() == [20]
    assert not smooth["qc_swap"].any() and not smooth["qc_geometry"].any()
    raw_table = pd.read_csv(predictions)
    for column in ("base_x", "head_y"):  # the raw columns keep the model's answer, swap and all
        assert np.allclose(smooth[f"{column}_raw"], raw_table[column], atol=1e-5)
    error = np.hypot(
        smooth["head_x"] - smooth["head_x_true"], smooth["head_y"] - smooth["head_y_true"]
    )
    assert error.max() < 1.0  # the swap was not smeared into the smoothed track
    dlc = pd.read_csv(tmp_path / "dlc.csv", header=[0, 1, 2], index_col=0)
    assert dlc.shape == (40, 9) and np.isfinite(dlc.to_numpy()).all()
    qc = json.loads((tmp_path / "qc.json").read_text())
    assert qc["flagged_frames"]["swap"] == 0 and qc["settings"]["method"] == "savgol"
    assert qc["polarity"]["exchanged_frames"] == 1 and qc["frames_left_missing"] == 0

    # without the polarity pass the swap stays, flagged on its frame only, not smeared
    args = ["smooth", "--predictions", str(predictions), "--out", str(tmp_path / "kept.csv")]
    assert main([*args, "--no-polarity"]) == 0
    kept = pd.read_csv(tmp_path / "kept.csv")
    assert np.flatnonzero(kept["qc_swap"]).tolist() == [20]
    assert not kept["polarity_exchanged"].any()

    assert (
        main(
            [
                "movie-figures",
                "--predictions",
                str(tmp_path / "smooth.csv"),
                "--outdir",
                str(tmp_path / "figures"),
            ]
        )
        == 0
    )
    names = sorted(p.name for p in (tmp_path / "figures").iterdir())
    assert names == [
        "direction_traces.png",
        "heading_polar.png",
        "qc_timeline.png",
        "trajectory.png",
    ]
    assert all((tmp_path / "figures" / n).read_bytes()[:4] == b"\x89PNG" for n in names)

    assert (
        main(
            [
                "render",
                "--movie",
                str(movie),
                "--predictions",
                str(tmp_path / "smooth.csv"),
                "--out",
                str(tmp_path / "tagged.mp4"),
                "--scale",
                "4",
                "--quiet",
            ]
        )
        == 0
    )
    frames, fps = read_video_frames(tmp_path / "tagged.mp4")
    assert frames.shape == (40, 200, 200, 3) and fps == pytest.approx(25.0)


@pytest.mark.parametrize(
    "images",
    [np.zeros((3, 40, 40), np.uint8), np.zeros((0, 50, 50), np.uint8)],
    ids=["wrong-size", "empty"],
)
def test_bad_movie_is_a_one_line_error_naming_the_file(tmp_path, capsys, images):
    _, predictions, _ = make_movie_and_raw_csv(tmp_path, m=3)
    bad = tmp_path / "bad_movie.npz"
    np.savez(bad, images=images)
    code = main(
        [
            "render",
            "--movie",
            str(bad),
            "--predictions",
            str(predictions),
            "--out",
            str(tmp_path / "tagged.mp4"),
            "--quiet",
        ]
    )
    err = capsys.readouterr().err
    assert code == 2
    assert len(err.strip().splitlines()) == 1 and str(bad) in err
    assert not (tmp_path / "tagged.mp4").exists()


def test_predictions_that_do_not_fit_the_movie_are_one_line_errors(tmp_path, capsys):
    movie, predictions, _ = make_movie_and_raw_csv(tmp_path, m=6)
    short = tmp_path / "short.csv"
    pd.read_csv(predictions).iloc[:4].to_csv(short, index=False)
    assert (
        main(
            [
                "render",
                "--movie",
                str(movie),
                "--predictions",
                str(short),
                "--out",
                str(tmp_path / "tagged.mp4"),
                "--quiet",
            ]
        )
        == 2
    )
    err = capsys.readouterr().err
    assert len(err.strip().splitlines()) == 1 and "4 rows" in err and "6 frames" in err

    broken = tmp_path / "broken.csv"
    broken.write_text("frame,time_s\n0,0.0\n")
    assert main(["smooth", "--predictions", str(broken), "--out", str(tmp_path / "s.csv")]) == 2
    err = capsys.readouterr().err
    assert len(err.strip().splitlines()) == 1 and "missing columns" in err
    assert not (tmp_path / "tagged.mp4").exists() and not (tmp_path / "s.csv").exists()
