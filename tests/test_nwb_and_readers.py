"""Our outputs read by the tools labs use (issue #28): NWB files through pynwb and
nwbinspector, DeepLabCut CSVs and NWB files through `movement`."""

from __future__ import annotations

import json
import subprocess
import sys
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


# --- written with h5py, as pynwb writes it (#28: NWB <= 10 % of a movie's predict time) ---


def contents(path: Path) -> dict:
    """Every group, dataset and link of an HDF5 file: kind, dtype, shape, link target, values,
    attributes with their types and values -- all but what differs file to file (object
    ids, the creation date, the identifier: a hash of the numbers either writer makes)."""
    import h5py

    found = {}

    def value(v):
        v = v.decode() if isinstance(v, bytes) else v
        if isinstance(v, h5py.Reference):
            return "reference"
        return np.asarray(v).tolist() if isinstance(v, np.ndarray | np.generic) else v

    def walk(group, prefix):
        for name in group:
            link, where = group.get(name, getlink=True), f"{prefix}/{name}"
            if isinstance(link, h5py.SoftLink):
                found[where] = ("link", link.path)
                continue
            item = group[name]
            attrs = sorted(
                (k, type(v).__name__, str(getattr(v, "dtype", "")), value(v))
                for k, v in item.attrs.items()
                if k != "object_id"
            )
            if isinstance(item, h5py.Dataset):
                string = h5py.check_string_dtype(item.dtype)
                data = None if name in ("file_create_date", "identifier") else item[()]
                if string and data is not None:
                    data = np.asarray(data, dtype=object).astype(str).tolist()
                found[where] = ("dataset", str(item.dtype), string, item.shape, attrs)
                found[f"{where} = "] = value(data)
            else:
                found[where] = ("group", attrs)
                walk(item, where)

    with h5py.File(path, "r") as f:
        found["/"] = sorted(
            (k, value(v)) for k, v in f.attrs.items() if k not in ("object_id", ".specloc")
        )
        walk(f, "")
    return found


@pytest.mark.parametrize("which", ["movie", "irregular video times"])
def test_our_file_is_what_pynwb_writes(run, video_tables, tmp_path, which):
    """The h5py writer against the pynwb one it replaced (tests/nwb_reference.py), given
    the same predictions: the same groups, datasets, links, types, attributes and values."""
    import datetime as dt

    from nwb_reference import reference_nwb

    from direction_tagger.train.model_file import load_model

    ours = tmp_path / "ours.nwb"
    if which == "movie":
        table_path, source, size, video_px = run / "predictions.csv", run / "movie.npz", 50, False
        ok(["to-nwb", "--predictions", table_path, "--out", ours, "--model", run / "model.pt",
            "--source", source, "--age", "P90D"])  # fmt: skip
        metadata, subject = load_model(run / "model.pt")[1], {"age": "P90D"}
    else:
        table = pd.read_csv(video_tables[0] / "pv.csv")
        table["time_s"] = np.r_[np.arange(15) / 30, 0.5 + np.arange(15) / 15]
        table_path, source = tmp_path / "vfr.csv", video_tables[0] / "v.mp4"
        table.to_csv(table_path, index=False)
        size, video_px, metadata, subject = (320, 240), True, {}, {}
        ok(["to-nwb", "--predictions", table_path, "--out", ours, "--source", source])
    started = dt.datetime.fromtimestamp(int(source.stat().st_mtime), dt.timezone.utc)
    reference_nwb(tmp_path / "pynwb.nwb", pd.read_csv(table_path), video_px=video_px,
                  model_metadata=metadata, source=str(source), session_start=started,
                  frame_size=(size, size) if size == 50 else size, subject=subject)  # fmt: skip
    expected, found = contents(tmp_path / "pynwb.nwb"), contents(ours)
    assert found.keys() == expected.keys()
    assert {k: (v, expected[k]) for k, v in found.items() if expected[k] != v} == {}


def test_a_reader_without_ndx_pose_knows_our_types_from_the_schema_in_the_file(run):
    """The file carries the schema (nwb_spec.json) as pynwb would cache it."""
    ok(["to-nwb", "--predictions", run / "predictions.csv", "--out", run / "plain.nwb"])
    code = (
        "import sys, pynwb\n"
        f"with pynwb.NWBHDF5IO({str(run / 'plain.nwb')!r}, 'r') as io:\n"
        "    estimation = io.read().processing['behavior']['PoseEstimation']\n"
        "    print(type(estimation).__name__, estimation.pose_estimation_series['nose'].data[0][0])\n"
        "assert 'ndx_pose' not in sys.modules\n"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    name, x = done.stdout.split()
    assert name == "PoseEstimation"
    assert float(x) == pytest.approx(pd.read_csv(run / "predictions.csv")["head_x"][0])


def test_the_stored_schema_is_what_the_installed_pynwb_caches():
    """After a pynwb / ndx-pose upgrade: run scripts/nwb_spec.py (and these tests)."""
    script = Path(__file__).resolve().parents[1] / "scripts" / "nwb_spec.py"
    done = subprocess.run([sys.executable, script, "--check"], capture_output=True, text=True)
    assert done.returncode == 0, done.stdout + done.stderr


def test_writing_imports_neither_torch_pandas_nor_pynwb(run):
    """Each costs more than writing a 1,000-frame file; the model's facts come from its
    JSON record, the same as torch reads them."""
    code = (
        "import json, sys\n"
        "from direction_tagger import cli\n"
        f"argv = ['to-nwb', '--predictions', {str(run / 'predictions.csv')!r}, "
        f"'--model', {str(run / 'model.pt')!r}, '--out', {str(run / 'light.nwb')!r}]\n"
        "assert cli.main(argv) == 0\n"
        "print(json.dumps(sorted({'torch', 'pandas', 'pynwb', 'ndx_pose', 'hdmf'} & set(sys.modules))))\n"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout.splitlines()[-1]) == []
    from direction_tagger.train.model_file import load_model

    io, nwb = read_nwb(run / "light.nwb")
    try:
        assert json.loads(nwb.notes)["model"] == load_model(run / "model.pt")[1]
        estimation = nwb.processing["behavior"]["PoseEstimation"]
        assert (
            estimation.source_software_version == load_model(run / "model.pt")[1]["package_version"]
        )
    finally:
        io.close()


def test_a_model_file_without_the_json_record_is_read_with_torch(run, tmp_path):
    """Model files saved before the record existed: the same facts, through torch."""
    import torch

    from direction_tagger.train.model_facts import read_metadata

    torch.save(torch.load(run / "model.pt", weights_only=True), tmp_path / "old.pt")
    assert read_metadata(tmp_path / "old.pt") is None
    ok(["to-nwb", "--predictions", run / "predictions.csv", "--out", tmp_path / "old.nwb",
        "--model", tmp_path / "old.pt"])  # fmt: skip
    io, nwb = read_nwb(tmp_path / "old.nwb")
    try:
        assert json.loads(nwb.notes)["model"] == read_metadata(run / "model.pt")
    finally:
        io.close()


@pytest.mark.parametrize("edit", ["as written", "empty cells and an empty flag"])
def test_the_columns_read_without_pandas_are_the_numbers_pandas_reads(run, tmp_path, edit):
    """numpy's parser for plain tables, the csv module for the rest (empty cells): both
    give what pandas gives (NaN for an empty cell; a flag True / False is 1 / 0)."""
    from direction_tagger.movies.columns import read_columns

    table = pd.read_csv(run / "predictions.csv")
    if edit != "as written":
        table.loc[3, "neck_x"] = np.nan
        table["qc_any"] = table["qc_any"].astype(object)
        table.loc[5, "qc_any"] = None
    table.to_csv(tmp_path / "t.csv", index=False)
    names = ["time_s", "neck_x", "head_direction_deg"]
    columns = read_columns(tmp_path / "t.csv", names, optional=["qc_any", "not_there"])
    assert list(columns) == [*names, "qc_any"]
    for name in names:
        np.testing.assert_array_equal(columns[name], table[name].to_numpy(float))
    flags = table["qc_any"].map({True: 1.0, False: 0.0}).to_numpy(float)
    np.testing.assert_array_equal(columns["qc_any"], flags)
    assert np.isnan(columns["neck_x"][3]) == (edit != "as written")
