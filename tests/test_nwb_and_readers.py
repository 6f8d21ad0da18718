"""Our outputs read by the tools labs use (issue #28): NWB files through pynwb and
nwbinspector, DeepLabCut CSVs and NWB files through `movement`."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from direction_tagger import cli
from direction_tagger.data.synth import make_labelled_set
from direction_tagger.data.synth.arena import write_arena_video
from direction_tagger.io import KEYPOINTS, save_labelled
from direction_tagger.movies.tables import movie_table, write_table
from direction_tagger.videos.crop import video_to_crop

pynwb = pytest.importorskip("pynwb")
# as a reader with ndx-pose installed (its classes map `confidence_definition`); the writer
# itself imports neither, and a reader without ndx-pose is tested below
pytest.importorskip("ndx_pose")
movement_load = pytest.importorskip("movement.io.load_poses")

NODES = ["tail_base", "neck", "nose"]


def ok(argv) -> None:
    assert cli.main([str(a) for a in argv]) == 0, argv


@pytest.fixture(scope="module")
def run(tmp_path_factory):
    """A tiny model, a synthetic movie predicted, calibrated and smoothed as the workflow
    does (smooth with a calibration: the likelihood is the calibrated P)."""
    d = tmp_path_factory.mktemp("run")
    images, locs = make_labelled_set(60, 0)
    save_labelled(d / "l.npz", images, locs)
    ok(["synth", "movie", "--frames", "40", "--seed", "2", "--out", d / "movie.npz"])
    ok(["split", "--data", d / "l.npz", "--group-key", "frame", "--out", d / "s.json"])
    options = json.dumps({"steps": 3, "batch_size": 8, "arch_kwargs": {"width": 8}})
    ok(["train", "--data", d / "l.npz", "--split", d / "s.json", "--out", d / "model.pt",
        "--log", d / "log.csv", "--options", options])  # fmt: skip
    model = ["--model", d / "model.pt"]
    ok(["predict", *model, "--movie", d / "movie.npz", "--out", d / "raw.csv"])
    data = ["--data", d / "l.npz", "--split", d / "s.json"]
    ok(["calibrate", *model, *data, "--out", d / "cal.json"])
    ok(["smooth", "--predictions", d / "raw.csv", "--out", d / "predictions.csv",
        "--calibration", d / "cal.json", "--dlc-csv", d / "predictions_dlc.csv"])  # fmt: skip
    return d


def read_nwb(path: Path):
    io = pynwb.NWBHDF5IO(str(path), "r")
    return io, io.read()


def test_a_movie_round_trips_through_pynwb_with_the_same_numbers(run, capsys):
    ok(["to-nwb", "--predictions", run / "predictions.csv", "--model", run / "model.pt",
        "--source", run / "movie.npz"])  # fmt: skip
    path = run / "poses.nwb"  # the default: beside the predictions
    assert "40 frames" in capsys.readouterr().out
    table = pd.read_csv(run / "predictions.csv")
    io, nwb = read_nwb(path)
    try:
        behavior = nwb.processing["behavior"]
        estimation = behavior["PoseEstimation"]
        assert list(estimation.skeleton.nodes[:]) == NODES
        np.testing.assert_array_equal(estimation.skeleton.edges[:], [[0, 1], [1, 2]])
        for k, node in zip(KEYPOINTS, NODES):
            series = estimation.pose_estimation_series[node]
            np.testing.assert_allclose(series.data[:], table[[f"{k}_x", f"{k}_y"]], atol=1e-9)
            np.testing.assert_allclose(series.confidence[:], table[f"{k}_p_within_2px"])
            assert series.rate == pytest.approx(30.0) and "calibrated" in (
                series.confidence_definition
            )
        compass = behavior["CompassDirection"]
        np.testing.assert_allclose(
            compass["head_direction"].data[:], table["head_direction_deg"], atol=1e-9
        )
        assert compass["body_direction"].unit == "degrees"
        np.testing.assert_array_equal(behavior["qc_any"].data[:], table["qc_any"].astype(int))
        notes = json.loads(nwb.notes)
        assert notes["model"]["architecture"] and notes["source"].endswith("movie.npz")
    finally:
        io.close()


def test_nwbinspector_finds_no_error_and_nothing_critical(run):
    """With the animal's age given (DANDI requires it; no default could be true)."""
    from nwbinspector import Importance, inspect_nwbfile

    path = run / "inspected.nwb"
    ok(["to-nwb", "--predictions", run / "predictions.csv", "--out", path,
        "--model", run / "model.pt", "--source", run / "movie.npz", "--age", "P90D"])  # fmt: skip
    messages = list(inspect_nwbfile(nwbfile_path=str(path)))
    serious = [m for m in messages if m.importance in (Importance.CRITICAL, Importance.ERROR)]
    assert not serious, serious


def test_the_same_predictions_make_the_same_file_identity(run):
    for name in ("a.nwb", "b.nwb"):
        ok(["to-nwb", "--predictions", run / "predictions.csv", "--out", run / name,
            "--source", run / "movie.npz"])  # fmt: skip
    ids = []
    for name in ("a.nwb", "b.nwb"):
        io, nwb = read_nwb(run / name)
        ids.append((nwb.identifier, nwb.session_start_time))
        io.close()
    assert ids[0] == ids[1]


def test_movement_reads_our_dlc_csv_and_our_nwb(run):
    poses = movement_load.from_dlc_file(run / "predictions_dlc.csv", fps=30)
    table = pd.read_csv(run / "predictions.csv")
    assert list(poses.keypoints.values) == NODES
    np.testing.assert_allclose(
        poses.position.sel(keypoints="nose", space="x").squeeze(), table["head_x"], atol=1e-5
    )
    ok(["to-nwb", "--predictions", run / "predictions.csv", "--out", run / "m.nwb",
        "--source", run / "movie.npz"])  # fmt: skip
    from_nwb = movement_load.from_nwb_file(run / "m.nwb")
    np.testing.assert_allclose(
        from_nwb.position.sel(keypoints="tail_base", space="y").squeeze(),
        table["base_y"],
        atol=1e-9,
    )


@pytest.fixture(scope="module")
def video_tables(tmp_path_factory):
    """A tracked synthetic video and a perfect model's predictions in video px."""
    d = tmp_path_factory.mktemp("video")
    truth = write_arena_video(d / "v.mp4", 30, seed=1, width=320, height=240, tether=False)
    ok(["track", "--video", d / "v.mp4", "--movie", d / "m.npz", "--table", d / "t.csv",
        "--qc", d / "q.json", "--quiet"])  # fmt: skip
    track = pd.read_csv(d / "t.csv")
    centres, sides = track[["crop_x", "crop_y"]].to_numpy(), track["crop_side"].to_numpy()
    crop = movie_table(video_to_crop(truth, centres, sides), np.ones((30, 3)), fps=30.0)
    write_table(d / "p.csv", crop)
    write_table(d / "p_dlc_crop.csv", crop)
    ok(["smooth", "--predictions", d / "p.csv", "--out", d / "s.csv",
        "--dlc-csv", d / "s_dlc.csv"])  # fmt: skip
    ok(["to-video", "--predictions", d / "s.csv", "--track", d / "t.csv", "--out",
        d / "pv.csv", "--dlc-csv", d / "s_dlc.csv", "--dlc-out", d / "pv_dlc.csv"])  # fmt: skip
    return d, truth


def test_a_video_is_written_in_video_pixels_with_its_size(video_tables):
    d, truth = video_tables
    ok(["to-nwb", "--predictions", d / "pv.csv", "--source", d / "v.mp4"])
    io, nwb = read_nwb(d / "poses.nwb")
    try:
        estimation = nwb.processing["behavior"]["PoseEstimation"]
        np.testing.assert_array_equal(estimation.source_video.dimension[:], [320, 240])
        nose = estimation.pose_estimation_series["nose"].data[:]
        table = pd.read_csv(d / "pv.csv")
        np.testing.assert_allclose(nose, table[["head_x_video", "head_y_video"]], atol=1e-9)
        assert np.median(np.linalg.norm(nose - truth[:, 2], axis=1)) < 1.0  # on the nose
        assert "network's confidence" in (
            estimation.pose_estimation_series["nose"].confidence_definition
        )
    finally:
        io.close()
    poses = movement_load.from_dlc_file(d / "pv_dlc.csv", fps=30)
    np.testing.assert_allclose(
        poses.position.sel(keypoints="nose").squeeze().values, nose, atol=1e-3
    )


def test_irregular_times_are_kept_frame_by_frame(video_tables):
    d, _ = video_tables
    table = pd.read_csv(d / "pv.csv")
    table["time_s"] = np.r_[np.arange(15) / 30, 0.5 + np.arange(15) / 15]
    table.to_csv(d / "vfr.csv", index=False)
    ok(["to-nwb", "--predictions", d / "vfr.csv", "--out", d / "vfr.nwb"])
    io, nwb = read_nwb(d / "vfr.nwb")
    try:
        series = nwb.processing["behavior"]["PoseEstimation"].pose_estimation_series["neck"]
        np.testing.assert_allclose(series.timestamps[:], table["time_s"])
    finally:
        io.close()
