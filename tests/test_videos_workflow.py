"""Raw videos and DeepLabCut projects through the real workflow (issue #13): `videos:` from a
video file to its tagged original, and `data.source: dlc` from a DLC project to a model
evaluated on recordings it never saw."""

from __future__ import annotations

import json
import shutil

import imageio.v3 as iio
import numpy as np
import pandas as pd
import pytest
from videos_material import write_dlc_project

from conftest import SHRUNK_DEMO, run_snakemake
from direction_tagger.data.synth.arena import write_arena_video
from direction_tagger.io import KEYPOINTS
from direction_tagger.movies.colours import KEYPOINT_COLOURS
from direction_tagger.videos.crop import crop_frame
from direction_tagger.videos.reader import iter_frames, video_info

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def tagged_video(demo_run, tmp_path_factory):
    """The shrunk demo's workdir (its model trained) with an arena video added to the config."""
    workdir = tmp_path_factory.mktemp("videos") / "work dir"
    shutil.copytree(demo_run, workdir, symlinks=True)
    video = workdir / "my videos" / "session 1.mp4"
    video.parent.mkdir()
    truth = write_arena_video(video, 90, seed=11, tether=True)
    config = {
        "videos": {"day1": str(video.parent)},  # a folder: each video in it
        "nwb": {"enabled": True, "age": "P60D"},
    }
    result = run_snakemake(workdir, configs=[SHRUNK_DEMO, config])
    return workdir, truth, result


def test_the_workflow_writes_nwb_in_video_pixels_for_a_video(tagged_video):
    pynwb = pytest.importorskip("pynwb")
    workdir, truth, _ = tagged_video
    name = "day1_session_1"
    table = pd.read_csv(workdir / "results" / "demo" / "videos" / name / "predictions.csv")
    path = workdir / "results" / "demo" / "movies" / name / "poses.nwb"
    with pynwb.NWBHDF5IO(str(path), "r") as io:
        nwb = io.read()
        estimation = nwb.processing["behavior"]["PoseEstimation"]
        nose = estimation.pose_estimation_series["nose"]
        np.testing.assert_allclose(nose.data[:], table[["head_x_video", "head_y_video"]])
        np.testing.assert_allclose(nose.confidence[:], table["head_p_within_2px"])
        assert list(estimation.source_video.dimension[:]) == [640, 480]
        assert nwb.subject.age == "P60D" and nwb.subject.subject_id == "session 1"


def test_a_video_comes_back_tagged_in_video_pixels(tagged_video):
    workdir, truth, result = tagged_video
    assert "rule train:" not in result.stdout + result.stderr  # the model was reused
    out = workdir / "results" / "demo" / "videos" / "day1_session_1"
    table = pd.read_csv(out / "predictions.csv")
    assert len(table) == len(truth)
    track = pd.read_csv(workdir / "results" / "videos" / "day1_session_1" / "track.csv")
    side = track["crop_side"].to_numpy()
    for k, name in enumerate(KEYPOINTS):
        # the crop's prediction, moved into the video (the exact mapping is tested with a
        # perfect model in test_videos.py) ...
        for axis, centre in (("x", "crop_x"), ("y", "crop_y")):
            expected = track[centre] + (table[f"{name}_{axis}"] - 24.5) * side / 50
            np.testing.assert_allclose(table[f"{name}_{axis}_video"], expected, atol=1e-3)
        # ... lands on the animal (a model trained for seconds: not precise, but not lost)
        error = np.hypot(
            table[f"{name}_x_video"] - truth[:, k, 0], table[f"{name}_y_video"] - truth[:, k, 1]
        )
        assert np.median(error) < 0.25 * side[0], (name, np.median(error))
    dlc = pd.read_csv(out / "predictions_dlc.csv", header=[0, 1, 2], index_col=0)
    assert list(dict.fromkeys(dlc.columns.get_level_values(1))) == ["tail_base", "neck", "nose"]
    nose = dlc.sort_index(axis=1)[(dlc.columns.get_level_values(0)[0], "nose")]
    # the DLC CSV is in video pixels too: the table's positions
    apart = np.hypot(nose["x"] - table["head_x_video"], nose["y"] - table["head_y_video"])
    assert np.median(apart) < 0.01

    video = iio.imread(out / "tagged.mp4")
    assert video.shape == (90, 480, 640, 3)
    # the nose's magenta disc sits on the nose in the original video (within 3 px: a doubtful
    # point is drawn hollow, its centre left unpainted for ~0.4 body lengths / 10)
    rgb = np.array(KEYPOINT_COLOURS["head"], float)
    hits = 0
    for i in range(0, 90, 10):
        x, y = np.round(table.loc[i, ["head_x_video", "head_y_video"]].to_numpy(float)).astype(int)
        patch = video[i, y - 3 : y + 4, x - 3 : x + 4].reshape(-1, 3).astype(float)
        hits += np.linalg.norm(patch - rgb, axis=1).min() < 80
    assert hits >= 8, hits
    assert (workdir / "results" / "videos" / "day1_session_1" / "track.png").is_file()
    # where the flags fall, drawn for every video (rule flag_map)
    assert iio.imread(out / "flags.png").ndim == 3


def test_the_tail_root_and_polarity_certainty_reach_the_video_table(tagged_video):
    """Issue #24: the tracker's tail root travels from `track` to the user's table (video and
    crop px), and the polarity pass that used it says how sure it is of every frame."""
    workdir, truth, _ = tagged_video
    out = workdir / "results" / "demo" / "videos" / "day1_session_1"
    table = pd.read_csv(out / "predictions.csv")
    assert table["polarity_certainty"].between(0.0, 1.0).all()
    # the model of a few seconds' training has head and tail the wrong way round for a run of
    # ~25 frames of this video; the tail root turns it around
    nose = table[["head_x_video", "head_y_video"]].to_numpy()
    nearer_nose = np.hypot(*(nose - truth[:, 2]).T) < np.hypot(*(nose - truth[:, 0]).T)
    assert nearer_nose.mean() >= 0.9, np.flatnonzero(~nearer_nose)
    assert "qc_polarity" in table.columns
    seen = table["tail_root_x"].notna()
    assert seen.mean() > 0.5  # something thin joins the body on most frames
    for axis, centre in (("x", "crop_x"), ("y", "crop_y")):
        crop = (table[f"tail_root_{axis}"] - table[centre]) * 50 / table["crop_side"] + 24.5
        np.testing.assert_allclose(table.loc[seen, f"tail_root_{axis}_crop"], crop[seen], atol=2e-3)
    # the smoothing step read the track (the evidence's source)
    qc = json.loads(
        (workdir / "results" / "demo" / "movies" / "day1_session_1" / "qc.json").read_text()
    )
    assert qc["settings"]["track"].endswith("track.csv")
    assert 0.0 <= qc["polarity"]["min_certainty"] <= 1.0
    # ... and the tracker's background: keypoints off the animal are found (videos/silhouette.py)
    assert qc["settings"]["background"].endswith("day1_session_1/background.npz")
    assert "qc_off_animal" in table.columns and "off_animal" in qc["flagged_frames"]


def test_a_tracked_video_is_not_redone(tagged_video):
    workdir, _, _ = tagged_video
    result = run_snakemake(
        workdir, "-n", configs=[SHRUNK_DEMO, {"videos": {"day1": str(workdir / "my videos")}}]
    )
    assert "Nothing to be done" in result.stdout + result.stderr


def test_track_recentre_cuts_the_video_again_around_the_models_midpoint(tagged_video, tmp_path):
    """Issue #26: with track.recentre the run's model looks at the tracked crops once, the
    video is cut again around its nose - tail base midpoints, and the movie chain tags that
    cut; the keypoints come back to video px through the crops really cut."""
    workdir, truth, _ = tagged_video
    work = tmp_path / "work"
    shutil.copytree(workdir, work, symlinks=True)
    name = "day1_session_1"
    config = {
        "videos": {"day1": str(work / "my videos")},
        "track": {"recentre": True},
        "movies_per_job": 2,  # tag-movies finds the evidence beside the re-cut movie
    }
    target = f"results/demo/videos/{name}/predictions.csv"
    result = run_snakemake(work, target, configs=[SHRUNK_DEMO, config])
    log = result.stdout + result.stderr
    assert "rule recentre_video:" in log and "rule train:" not in log
    assert "tag_movies_demo_batch" in log
    # the re-cut folder holds the tracker's background, and cleaning used it (off-animal check)
    recut = work / "results" / "demo" / "videos" / name
    tracker_background = work / "results" / "videos" / name / "background.npz"
    assert (recut / "background.npz").read_bytes() == tracker_background.read_bytes()
    qc = json.loads((work / "results" / "demo" / "movies" / name / "qc.json").read_text())
    assert qc["settings"]["background"].endswith(f"results/demo/videos/{name}/background.npz")
    assert "qc_off_animal" in pd.read_csv(work / "results/demo/movies" / name / "predictions.csv")
    cut = pd.read_csv(work / "results" / "demo" / "videos" / name / "track.csv")
    assert {"tracker_crop_x", "tracker_crop_y"} <= set(cut.columns)
    table = pd.read_csv(work / target)
    np.testing.assert_allclose(table[["crop_x", "crop_y"]], cut[["crop_x", "crop_y"]])
    side = cut["crop_side"].to_numpy()
    for kp in KEYPOINTS:
        for axis in "xy":
            expected = cut[f"crop_{axis}"] + (table[f"{kp}_{axis}"] - 24.5) * side / 50
            np.testing.assert_allclose(table[f"{kp}_{axis}_video"], expected, atol=1e-3)
    # the run tagged the re-cut movie: each frame is the video's, cut at the new centre
    movie = np.load(work / "results" / "demo" / "videos" / name / "movie.npz")["images"]
    centres = cut[["crop_x", "crop_y"]].to_numpy()
    for i, frame in enumerate(iter_frames(video_info(work / "my videos" / "session 1.mp4"))):
        assert np.array_equal(movie[i], crop_frame(frame, *centres[i], side[i])), i
    first = pd.read_csv(workdir / "results" / "demo" / "movies" / name / "predictions_raw.csv")
    second = pd.read_csv(work / "results" / "demo" / "movies" / name / "predictions_raw.csv")

    def off_centre(raw):  # the model's nose - tail base midpoint from the crop's centre, px
        return np.hypot(
            (raw["base_x"] + raw["head_x"]) / 2 - 24.5, (raw["base_y"] + raw["head_y"]) / 2 - 24.5
        )

    # the tracker's centre is a geometric guess (2-4.5 crop px off with this cable); the
    # model (of a few seconds' training), shown the re-cut crops, finds its midpoint near
    # their centre
    before, after = np.median(off_centre(first)), np.median(off_centre(second))
    assert after < 0.5 * before and after < 1.5, (before, after)  # measured: 1.08 px after


def test_a_deeplabcut_project_trains_a_model_split_by_recording(tmp_path):
    project = tmp_path / "dlc project"
    write_dlc_project(project, recordings=4, frames=10)
    config = {
        "data": {"source": "dlc", "dlc": {"project": str(project)}},
        "split": {"train": 0.5, "val": 0.25, "test": 0.25},
        "train": {"steps": 40, "batch_size": 16, "patience": None, "arch_kwargs": {"width": 8}},
        "synthetic_movies": {},
        "evaluate": {"tta": False},
    }
    run_snakemake(tmp_path, "results/demo/eval/heldout/metrics.json", configs=[config])
    with np.load(tmp_path / "results" / "data" / "dlc" / "labelled.npz", allow_pickle=False) as npz:
        videos = npz["video"]
    summary = json.loads((tmp_path / "results" / "data" / "dlc" / "import.json").read_text())
    assert summary["skipped"]["missing label"] == 1  # one frame has no nose label
    assert len(videos) == summary["frames"] == 40 - sum(summary["skipped"].values()) >= 36
    split = json.loads((tmp_path / "results" / "demo" / "split.json").read_text())
    assert split["group_source"].startswith("key 'video'")
    sides = {part: set(videos[idx]) for part, idx in split["indices"].items() if idx}
    assert len(sides) == 3
    assert all(sides[a].isdisjoint(sides[b]) for a in sides for b in sides if a < b), sides
    assert (tmp_path / "results" / "demo" / "eval" / "heldout" / "metrics.json").is_file()


def test_a_one_recording_deeplabcut_project_trains_and_evaluates_with_defaults(tmp_path):
    """Issue #24: DLC's own example has one recording; grouping by recording left validation
    empty. Only the training length is shrunk here: split, calibration and evaluation are the
    defaults a new user gets."""
    project = tmp_path / "dlc project"
    write_dlc_project(project, recordings=1, frames=30)
    config = {
        "data": {"source": "dlc", "dlc": {"project": str(project)}},
        "train": {
            "steps": 30,
            "batch_size": 16,
            "patience": None,
            "arch_kwargs": {"width": 8},
            "init": "scratch",  # a narrow network: the pretrained start model is not
        },
    }
    run_snakemake(tmp_path, "results/main/summary.md", configs=[config], replace=True)
    results = tmp_path / "results" / "main"
    with np.load(tmp_path / "results" / "data" / "dlc" / "labelled.npz", allow_pickle=False) as npz:
        frames = npz["frame"]
    split = json.loads((results / "split.json").read_text())
    assert split["fallback"] == "contiguous blocks within groups"
    counts = {k: v["n_frames"] for k, v in split["parts"].items()}
    assert counts["train"] >= 20 and 2 <= counts["val"] <= 4 and 2 <= counts["test"] <= 4
    for part in ("val", "test"):  # each a run of neighbouring images of the recording
        numbers = sorted(int(str(frames[i])[3:7]) for i in split["indices"][part])
        assert np.all(np.diff(numbers) == 1), (part, numbers)
    calibration = json.loads((results / "calibration" / "tta8.json").read_text())
    assert calibration["n_frames"] == counts["val"] and calibration["n_views"] > 1
    assert calibration["viewed"]["training"]["frames"] == counts["train"]
    metrics = json.loads((results / "eval" / "heldout" / "metrics.json").read_text())
    assert metrics["n_frames"] == counts["test"]
    table = pd.read_csv(results / "eval" / "heldout" / "frames.csv")
    assert table["head_p_within_2px"].between(0, 1).all()
    summary = (results / "summary.md").read_text()
    assert "contiguous blocks" in summary
    assert f"rests on {counts['val']} validation frames" in summary
