"""Hostile and unusual inputs on the newer surfaces (issue #23): raw videos, DeepLabCut
projects, the tables between them, the `videos:` config and killed runs.

Three kinds: an output that is an input (or two outputs one file) is refused before anything
is read and nothing changes; what cannot work is one line naming the file, row and column or
setting; what is merely unusual (even windows, 16-bit or grey+alpha PNGs, a variable frame
rate, a table with many extra columns, scratch files of a killed run) works. All material is
made here: the synthetic arena renderer, DLC projects in DLC's own layout, ffmpeg.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from pathlib import Path

import imageio.v3 as iio
import numpy as np
import pandas as pd
import pytest
from videos_material import tracked_with_perfect_predictions, write_dlc_project

from direction_tagger import cli
from direction_tagger.config import ConfigError, expand_entries, expand_movie_entry
from direction_tagger.data.synth.arena import write_arena_video
from direction_tagger.io import load_labelled, load_movie, save_npz

DEAD_PID = 2**22 + 12345  # above Linux's pid_max: no process has it


def run(argv: list[str], capsys) -> tuple[int, list[str]]:
    capsys.readouterr()
    try:
        code = cli.main([str(a) for a in argv])
    except SystemExit as exit_:  # argparse
        code = exit_.code
    err = [line for line in capsys.readouterr().err.splitlines() if line.strip()]
    return code, err


def refused(argv, capsys, *expected: str) -> str:
    """The command exits 2 with one line holding every `expected` piece; no traceback."""
    code, err = run(argv, capsys)
    assert code == 2, err
    assert len(err) == 1 and "Traceback" not in err[0], err
    for part in expected:
        assert part in err[0], f"{part!r} not in {err[0]!r}"
    return err[0]


def snapshot(folder: Path) -> dict[str, bytes]:
    return {str(p.relative_to(folder)): p.read_bytes() for p in folder.rglob("*") if p.is_file()}


# --------------------------------------------------------------------------- material


@pytest.fixture(scope="module")
def tracked(tmp_path_factory):
    """A short arena video, tracked, with a perfect model's predictions in video px."""
    d = tmp_path_factory.mktemp("tracked")
    tracked_with_perfect_predictions(d, 40, seed=3)
    return d


@pytest.fixture
def work(tracked, tmp_path):
    """A private copy of the tracked material (a case may try to destroy it)."""
    shutil.copytree(tracked, tmp_path / "m")
    return tmp_path / "m"


@pytest.fixture(scope="module")
def project(tmp_path_factory):
    root = tmp_path_factory.mktemp("dlc") / "Proj-Lab-2026"
    write_dlc_project(root, recordings=1, frames=8)
    return root


# --------------------------------------------------------------------------- no data loss


def _argv(command: str, options: dict, *flags: str) -> list:
    """A command line: `command`, each option and its value (a None value: the option alone)."""
    return [command, *[x for kv in options.items() for x in kv if x is not None], *flags]


def _track(m: Path, **changes) -> list:
    options = {
        "--video": m / "arena.mp4",
        "--movie": m / "new.npz",
        "--table": m / "new.csv",
        "--qc": m / "new.json",
    }
    return _argv("track", options | changes, "--quiet")


def _render(m: Path, **changes) -> list:
    options = {
        "--video": m / "arena.mp4",
        "--predictions": m / "video.csv",
        "--out": m / "tagged.mp4",
    }
    return _argv("render-video", options | changes, "--quiet")


def _flag_map(m: Path, **changes) -> list:
    options = {
        "--predictions": m / "video.csv",
        "--background": m / "arena_background.npz",
        "--out": m / "flags.png",
    }
    return _argv("flag-map", options | changes)


def _to_video(m: Path, **changes) -> list:
    options = {
        "--predictions": m / "predictions.csv",
        "--track": m / "track.csv",
        "--out": m / "new_video.csv",
    }
    return _argv("to-video", options | changes)


@pytest.mark.parametrize(
    "make, names",
    [
        (lambda m: _track(m, **{"--movie": m / "arena.mp4"}), ("arena.mp4",)),
        (lambda m: _track(m, **{"--movie": m / "./arena.mp4"}), ("arena.mp4",)),
        (lambda m: _render(m, **{"--out": m / "arena.mp4"}), ("arena.mp4",)),
        (lambda m: _render(m, **{"--out": m / "video.csv"}), ("video.csv",)),
        (lambda m: _to_video(m, **{"--out": m / "track.csv"}), ("track.csv",)),
        (lambda m: _to_video(m, **{"--out": m / "predictions.csv"}), ("predictions.csv",)),
        (lambda m: _flag_map(m, **{"--out": m / "video.csv"}), ("video.csv",)),
        (
            lambda m: _flag_map(m, **{"--out": m / "arena_background.npz"}),
            ("arena_background.npz",),
        ),
    ],
    ids=[
        "track --movie = the video",
        "track --movie = ./the video",
        "render-video --out = the video",
        "render-video --out = the predictions",
        "to-video --out = the track table",
        "to-video --out = the predictions",
        "flag-map --out = the predictions",
        "flag-map --out = the background",
    ],
)
def test_an_output_that_is_an_input_is_refused_and_nothing_changes(work, capsys, make, names):
    before = snapshot(work)
    refused(make(work), capsys, "is also an input", *names)
    assert snapshot(work) == before


@pytest.mark.parametrize(
    "make",
    [
        lambda m: _track(m, **{"--qc": m / "new.csv"}),
        lambda m: _track(m, **{"--figure": m / "new.npz"}),
        lambda m: ["synth-video", "--frames", 3, "--out", m / "s.mp4", "--truth", m / "s.mp4"],
        lambda m: _to_video(
            m, **{"--dlc-csv": m / "predictions.csv", "--dlc-out": m / "new_video.csv"}
        ),
    ],
    ids=["track --qc = --table", "track --figure = --movie", "synth-video", "to-video"],
)
def test_two_outputs_that_are_one_file_are_refused(work, capsys, make):
    before = snapshot(work)
    refused(make(work), capsys, "given for two outputs")
    assert snapshot(work) == before


def test_tag_movies_refuses_one_folder_for_two_movies(work, capsys, tmp_path):
    argv = ["tag-movies", "--model", work / "absent.pt", "--movies", work / "movie.npz"]
    argv += [work / "movie.npz", "--outdirs", tmp_path / "same", tmp_path / "same"]
    refused(argv, capsys, "given for two outputs", "same")
    assert not (tmp_path / "same").exists()


@pytest.mark.parametrize("target", ["CollectedData_Tester.csv", "img0003.png"])
def test_import_dlc_never_writes_over_the_project(project, tmp_path, capsys, target):
    copy = tmp_path / "project"
    shutil.copytree(project, copy)
    before = snapshot(copy)
    out = copy / "labeled-data" / "mouse0_day1" / target
    refused(["import-dlc", copy, "--out", out, "--quiet"], capsys, "is also an input", target)
    assert snapshot(copy) == before
    # an output beside the project's files (not one of them) is fine
    assert run(["import-dlc", copy, "--out", copy / "labelled.npz", "--quiet"], capsys)[0] == 0


# --------------------------------------------------------------------------- clear refusals


@pytest.mark.parametrize(
    "changes, expected",
    [
        ({"--crop-side": "1e9"}, ("crop side is 1e+09 px", "at most 640 px")),
        ({"--crop-scale": "1e9"}, ("--crop-scale", "1 to 8")),
    ],
)
def test_impossible_crop_sizes_are_refused_before_tracking(work, capsys, changes, expected):
    refused(_track(work, **changes), capsys, *expected)
    assert not (work / "new.npz").exists()


def test_an_even_smoothing_window_acts_as_the_next_odd_one(work, capsys):
    assert run(_track(work, **{"--smooth-window": "8"}), capsys)[0] == 0
    odd = ["--movie", work / "odd.npz", "--table", work / "odd.csv", "--qc", work / "odd.json"]
    assert run([*_track(work)[:-7], *odd, "--smooth-window", "9", "--quiet"], capsys)[0] == 0
    assert (work / "new.csv").read_bytes() == (work / "odd.csv").read_bytes()


def _edited(path: Path, row: int, column: str, value) -> Path:
    table = pd.read_csv(path, dtype=str, keep_default_na=False)
    table.loc[row, column] = value
    out = path.with_name(f"edited-{path.name}")
    table.to_csv(out, index=False)
    return out


@pytest.mark.parametrize(
    "make, expected",
    [
        (
            lambda m: _to_video(m, **{"--track": _edited(m / "track.csv", 4, "crop_side", "nan")}),
            ("row 5", "'crop_side'", "positive number"),
        ),
        (
            lambda m: _to_video(m, **{"--track": _edited(m / "track.csv", 2, "crop_x", "=A1+1")}),
            ("row 3", "'crop_x'", "'=A1+1' is not a number"),
        ),
        (
            lambda m: _to_video(
                m, **{"--predictions": _edited(m / "predictions.csv", 6, "head_x", "=SUM(B2)")}
            ),
            ("row 7", "'head_x'", "is not a number"),
        ),
        (
            lambda m: _render(
                m, **{"--predictions": _edited(m / "video.csv", 1, "crop_side", "1e12")}
            ),
            ("row 2", "crop side", "at most 640 px"),
        ),
        (
            lambda m: _render(
                m, **{"--predictions": _edited(m / "video.csv", 3, "head_x_video", "1e300")}
            ),
            ("row 4", "keypoint"),
        ),
        (
            lambda m: _render(
                m, **{"--predictions": _edited(m / "video.csv", 0, "neck_y_video", "up")}
            ),
            ("row 1", "'neck_y_video'", "'up' is not a number"),
        ),
        (
            lambda m: _to_video(m, **{"--dlc-csv": m / "predictions.csv"}),
            ("--dlc-csv needs --dlc-out",),
        ),
        (
            lambda m: _flag_map(m, **{"--predictions": m / "predictions.csv"}),
            ("predictions.csv", "no column head_x_video", "to-video"),
        ),
        (
            lambda m: _to_video(m, **{"--dlc-out": m / "dlc_video.csv"}),
            ("--dlc-out needs --dlc-csv",),
        ),
    ],
    ids=[
        "track table: NaN crop side",
        "track table: a formula",
        "predictions: a formula",
        "render: crop side 1e12",
        "render: keypoint at 1e300",
        "render: a word",
        "to-video: --dlc-csv alone",
        "to-video: --dlc-out alone",
        "flag-map: a table in crop px",
    ],
)
def test_damaged_tables_and_half_given_options_say_where(work, capsys, make, expected):
    refused(make(work), capsys, *expected)
    assert not (work / "tagged.mp4").exists() and not (work / "new_video.csv").exists()
    assert not (work / "flags.png").exists()


def test_render_reads_only_the_columns_it_draws(work, capsys):
    """A table with many extra columns (a spreadsheet's notes, text in them) is drawn."""
    table = pd.read_csv(work / "video.csv")
    extra = pd.DataFrame({f"note_{i}": ["text, with a comma"] * len(table) for i in range(2000)})
    pd.concat([table, extra], axis=1).to_csv(work / "wide.csv", index=False)
    assert run(_render(work, **{"--predictions": work / "wide.csv"}), capsys)[0] == 0
    assert iio.imread(work / "tagged.mp4").shape[0] == len(table)


@pytest.mark.parametrize(
    "content, expected", [("nan", "'2'"), ("Infinity", "'2'")], ids=["NaN", "Infinity"]
)
def test_a_calibration_full_of_nan_is_refused(work, capsys, content, expected):
    calibration = {
        "tta": 0,
        "coefficients": {"2": [content] * 3, "3": [0.0, 1.0, 1.0]},
    }
    text = json.dumps(calibration).replace(f'"{content}"', "NaN" if content == "nan" else content)
    (work / "calibration.json").write_text(text)
    argv = ["smooth", "--predictions", work / "predictions.csv", "--out", work / "s.csv"]
    refused([*argv, "--calibration", work / "calibration.json"], capsys, expected, "finite")


def test_a_geometry_reference_full_of_nan_is_refused(work, capsys):
    names = ("base_neck_px", "neck_nose_px", "body_length_px", "head_relative_deg")
    reference = {"n_labels": 5, "percentiles": [0.5, 2.5, 50, 97.5, 99.5]}
    reference |= {name: [float("nan")] * 5 for name in names}
    (work / "reference.json").write_text(json.dumps(reference))
    argv = ["smooth", "--predictions", work / "predictions.csv", "--out", work / "s.csv"]
    refused([*argv, "--reference", work / "reference.json"], capsys, "'base_neck_px'", "finite")


# --------------------------------------------------------------------------- config, planned


def _touch(folder: Path, *names: str) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    for name in names:
        (folder / name).write_bytes(b"")
    return folder


SUFFIXES = (".mp4", ".avi")


@pytest.mark.parametrize(
    "entries, expected",
    [
        (lambda d: {"day1": str(_touch(d / "empty"))}, "holds no .mp4 .avi file"),
        (lambda d: {"day1": str(d / "nothing" / "*.mp4")}, "the pattern"),
        (lambda d: {"day1": str(_touch(d / "v", "a b.mp4", "a_b.mp4"))}, "would both be named"),
        (lambda d: {"day1": str(_touch(d / "v", "x.mp4", "x.avi"))}, "'day1_x'"),
        (lambda d: {"day1": str(_touch(d, "notes.txt") / "notes.txt")}, "is not a .mp4 .avi"),
        (
            lambda d: {
                "a": str(_touch(d / "v", "b.mp4")),
                "a_b": str(_touch(d, "c.mp4") / "c.mp4"),
            },
            "already is",
        ),
    ],
    ids=[
        "empty folder",
        "glob matching nothing",
        "a b / a_b",
        "x.mp4 / x.avi",
        "not a video",
        "two entries one name",
    ],  # fmt: skip
)
def test_video_entries_that_cannot_work_are_refused_when_planned(tmp_path, entries, expected):
    with pytest.raises(ConfigError, match="videos") as err:
        expand_entries(entries(tmp_path), SUFFIXES, "videos")
    assert expected in str(err.value)


def test_a_folder_named_like_a_video_is_not_one(tmp_path):
    folder = _touch(tmp_path / "v", "real.mp4")
    (folder / "sub.mp4").mkdir()
    assert expand_movie_entry("d", str(folder), SUFFIXES, "videos") == {
        "d_real": str(folder / "real.mp4")
    }


def test_the_workflow_refuses_an_empty_video_folder_when_planning(tmp_path):
    """`snakemake -n` (what runs before any job) says which entry and why."""
    from conftest import run_snakemake

    (tmp_path / "empty").mkdir()
    videos = {"videos": {"day1": str(tmp_path / "empty")}}
    done = run_snakemake(tmp_path, "-n", configs=[videos], check=False)
    assert done.returncode != 0
    assert "videos.day1: the folder" in done.stdout + done.stderr


# --------------------------------------------------------------------------- merely unusual


def test_labels_a_little_outside_the_frame_train(tmp_path, capsys):
    from direction_tagger.data.synth import make_labelled_set
    from direction_tagger.io import save_labelled

    images, locs = make_labelled_set(40, 1)
    locs[0, 0], locs[5, 0], locs[9, 2] = (-1.5, 20.0), (20.0, 50.4), (52.0, 30.0)
    save_labelled(tmp_path / "shifted.npz", images, locs)
    data = ["--data", tmp_path / "shifted.npz"]
    assert (
        run(["split", *data, "--group-key", "frame", "--out", tmp_path / "s.json"], capsys)[0] == 0
    )
    options = json.dumps({"steps": 2, "batch_size": 8, "arch_kwargs": {"width": 8}})
    argv = ["train", *data, "--split", tmp_path / "s.json", "--out", tmp_path / "m.pt"]
    assert run([*argv, "--log", tmp_path / "l.csv", "--options", options], capsys)[0] == 0
    recover = ["--out", tmp_path / "o.npz", "--groups", tmp_path / "g.npz"]
    assert run(["recover", *data, *recover, "--report", tmp_path / "r.json"], capsys)[0] == 0
    assert len(load_labelled(tmp_path / "o.npz")) == 40


def _as_png(project: Path, copy: Path, convert) -> Path:
    shutil.copytree(project, copy)
    for png in copy.rglob("*.png"):
        iio.imwrite(png, convert(iio.imread(png)))
    return copy


@pytest.mark.parametrize(
    "convert",
    [
        lambda rgb: rgb[..., 0].astype(np.uint16) * 257,  # 16-bit grey
        lambda rgb: np.stack([rgb[..., 0], np.full_like(rgb[..., 0], 255)], -1),  # grey+alpha
    ],
    ids=["16-bit grey", "grey+alpha"],
)
def test_dlc_frames_in_other_png_kinds_import_as_the_8_bit_ones(project, tmp_path, capsys, convert):
    plain = tmp_path / "plain.npz"
    assert run(["import-dlc", project, "--out", plain, "--quiet"], capsys)[0] == 0
    other = _as_png(project, tmp_path / "other", convert)
    assert run(["import-dlc", other, "--out", tmp_path / "o.npz", "--quiet"], capsys)[0] == 0
    a, b = load_labelled(plain), load_labelled(tmp_path / "o.npz")
    assert len(a) == len(b) > 0
    assert np.abs(a.images.astype(int) - b.images).max() <= 1
    np.testing.assert_allclose(a.locs, b.locs, atol=0.05)


def _variable_rate_video(path: Path, frames: int = 90) -> None:
    """Frames 0-44 at 30 fps, the rest at 15 fps: a variable frame rate, as phones record."""
    import imageio_ffmpeg

    source = path.with_name("cfr.mp4")
    write_arena_video(source, frames, seed=4, width=320, height=240, tether=False)
    slow = f"setpts='N/30/TB+if(gte(N,{frames // 2}),(N-{frames // 2})/30/TB,0)'"
    subprocess.run(
        [imageio_ffmpeg.get_ffmpeg_exe(), "-y", "-v", "error", "-i", str(source), "-vf", slow,
         "-fps_mode", "vfr", "-c:v", "libx264", "-pix_fmt", "yuv420p", str(path)],
        check=True,
    )  # fmt: skip


def test_a_variable_frame_rate_video_keeps_its_frames_and_their_times(tmp_path, capsys):
    video = tmp_path / "vfr.mp4"
    _variable_rate_video(video, 90)
    outputs = ["--movie", tmp_path / "m.npz", "--table", tmp_path / "t.csv"]
    assert run(["track", "--video", video, *outputs, "--qc", tmp_path / "q.json"], capsys)[0] == 0
    track = pd.read_csv(tmp_path / "t.csv")
    assert len(track) == len(load_movie(tmp_path / "m.npz")) == 90  # no frame invented
    steps = np.diff(track["time_s"].to_numpy())
    np.testing.assert_allclose(steps[:40], 1 / 30, atol=1e-3)
    np.testing.assert_allclose(steps[-40:], 2 / 30, atol=1e-3)
    qc = json.loads((tmp_path / "q.json").read_text())
    assert qc["variable_frame_rate"] is True and qc["times_from"] == "the file's timestamps"


def test_a_constant_frame_rate_video_says_so(tracked):
    qc = json.loads((tracked / "qc.json").read_text())
    assert qc["variable_frame_rate"] is False
    steps = np.diff(pd.read_csv(tracked / "track.csv")["time_s"].to_numpy())
    np.testing.assert_allclose(steps, 1 / 30, atol=1e-3)


def test_scratch_files_of_a_killed_run_are_removed_by_the_next(work, capsys):
    """After SIGKILL a run leaves `.movie.npz.frames-PID`, `.track.csv.tmp-PID` and
    `.tagged.tmp-PID.mp4` (the first as large as the movie); the next run of the step
    removes them, and leaves a live process's alone."""
    stale = [
        work / f".new.npz.frames-{DEAD_PID}",
        work / f".new.csv.tmp-{DEAD_PID}",
        work / f".tagged.tmp-{DEAD_PID}.mp4",
    ]
    live = work / f".new.csv.tmp-{os.getppid()}"  # the parent runs: it may still be writing
    for path in [*stale, live]:
        path.write_bytes(b"x" * 1000)
    assert run(_track(work), capsys)[0] == 0
    assert run(_render(work), capsys)[0] == 0
    assert not any(p.exists() for p in stale)
    assert live.exists()


def test_a_movie_written_to_a_new_name_leaves_no_scratch(work, capsys):
    save_npz(work / "unused.npz", images=np.zeros((2, 50, 50), np.uint8))
    assert run(_track(work), capsys)[0] == 0
    assert not [p for p in work.iterdir() if ".frames-" in p.name or ".tmp-" in p.name]


def test_a_table_widened_in_a_spreadsheet_is_cleaned_and_moved_as_ours(work, capsys):
    """Thousands of extra columns (text with commas in them) are never parsed: smooth,
    to-video and movie-figures give what they give on our own table."""
    table = pd.read_csv(work / "predictions.csv")
    notes = {f"note_{i}": ["a, b"] * len(table) for i in range(3000)}
    pd.concat([table, pd.DataFrame(notes)], axis=1).to_csv(work / "wide.csv", index=False)
    for name in ("predictions.csv", "wide.csv"):
        stem = name.removesuffix(".csv")
        assert (
            run(["smooth", "--predictions", work / name, "--out", work / f"{stem}_s.csv"], capsys)[
                0
            ]
            == 0
        )
        argv = ["to-video", "--predictions", work / f"{stem}_s.csv", "--track", work / "track.csv"]
        assert run([*argv, "--out", work / f"{stem}_v.csv"], capsys)[0] == 0
        assert run(["movie-figures", "--predictions", work / f"{stem}_s.csv"], capsys)[0] == 0
    for ending in ("_s.csv", "_v.csv"):
        ours, wide = (pd.read_csv(work / f"{s}{ending}") for s in ("predictions", "wide"))
        pd.testing.assert_frame_equal(ours, wide)


def test_a_movie_named_as_a_synthetic_one_is_refused(tmp_path):
    taken = {"walk": "tagged_dataset/synthetic/movie_walk.npz"}
    with pytest.raises(ConfigError, match="'walk'"):
        expand_entries({"walk": str(_touch(tmp_path, "w.npz") / "w.npz")}, taken=taken)
