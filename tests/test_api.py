"""The public Python API (issue #27): `Tagger` gives the batch path's numbers, frame by frame
as in one call, and tracks full video frames incrementally with the batch tracker's crops.

Material is made here: a tiny model trained for 2 steps (its answers are poor, which does not
matter: the tests compare paths, not accuracy), a synthetic movie, an arena video."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from live_material import TOLERANCE_PX, make_run, table_locs

from direction_tagger import Tagger
from direction_tagger.data.synth.arena import write_arena_video
from direction_tagger.io import DataError, load_movie
from direction_tagger.live.tracker import LiveTracker
from direction_tagger.movies.qc import qc_flags
from direction_tagger.videos.reader import iter_frames, video_info
from direction_tagger.videos.track import TrackSettings, track_video


@pytest.fixture(scope="module")
def run(tmp_path_factory) -> Path:
    return make_run(tmp_path_factory.mktemp("api"))


@pytest.fixture(scope="module")
def tagger(run) -> Tagger:
    return Tagger.from_run(run, threads=1)


def test_from_run_finds_the_model_its_calibration_and_reference(run, tagger):
    assert tagger.tta == 2 and tagger.calibration["tta"] == 2
    assert tagger.stream.reference is not None
    with pytest.raises(DataError, match="no calibration for TTA 4"):
        Tagger.from_run(run, tta=4, warm_up=False)
    with pytest.raises(DataError, match="no model.pt"):
        Tagger.from_run(run / "calibration", warm_up=False)


@pytest.mark.parametrize("tta", [0, 2])
def test_predict_gives_the_predict_commands_keypoints(run, tta):
    tagger = Tagger(run / "model.pt", tta=tta, warm_up=False)
    result = tagger.predict(load_movie(run.parents[1] / "movie.npz").images)
    batch = table_locs(run.parents[1] / f"raw_tta{tta}.csv")
    assert np.abs(result.locs_raw - batch).max() <= TOLERANCE_PX
    # uncalibrated: P is the model's confidence, and no calibrated risk
    assert result.p_within_3px is None
    np.testing.assert_array_equal(result.p_within_2px, result.confidence)


def test_frame_by_frame_gives_what_predict_gives(run, tagger):
    images = load_movie(run.parents[1] / "movie.npz").images
    whole = tagger.predict(images)
    tagger.reset()
    frames = [tagger.predict_frame(crop) for crop in images]
    raw = table_locs(run.parents[1] / "raw_tta2.csv")
    assert np.abs(np.stack([f.locs_raw for f in frames]) - raw).max() <= TOLERANCE_PX
    assert np.abs(np.stack([f.locs for f in frames]) - whole.locs).max() <= TOLERANCE_PX
    np.testing.assert_array_equal([f.polarity_exchanged for f in frames], whole.polarity_exchanged)
    for name, values in whole.flags.items():
        np.testing.assert_array_equal([f.flags[name] for f in frames], values, err_msg=name)
    # the calibrated flags, and the polarity's certainty below 0.9 (as offline)
    assert set(whole.flags) == {"jump", "uncertain", "geometry", "swap", "polarity"}
    np.testing.assert_allclose(  # float rounding: onnxruntime in the frame path (if there)
        [f.polarity_certainty for f in frames], whole.polarity_certainty, atol=1e-5
    )
    np.testing.assert_allclose(
        np.stack([f.p_within_2px for f in frames]), whole.p_within_2px, atol=1e-5
    )
    np.testing.assert_allclose(
        [f.head_direction_deg for f in frames], whole.head_direction_deg, atol=1e-2
    )


def test_an_unfamiliar_neck_is_judged_alike_frame_by_frame_and_in_one_call(run):
    """The stream's familiarity (movies/familiarity.py, RunningFamiliarity) is causal: one
    call gives each frame what the frames before it gave, as frame by frame."""
    tagger = Tagger.from_run(run, threads=1, warm_up=False)
    reference = {k: {"p5": 0.0, "median": 0.5} for k in ("base", "head")}
    tagger.calibration = tagger.calibration | {
        "confidence": reference | {"neck": {"p5": 1.0, "median": 1.0}}  # never familiar
    }
    tagger.stream.calibration = tagger.calibration
    tagger.reset()
    images = np.concatenate([load_movie(run.parents[1] / "movie.npz").images] * 5)  # 200
    whole = tagger.predict(images)
    frames = [tagger.predict_frame(crop) for crop in images]
    assert tagger.stream.familiarity.result["unfamiliar"] == ["neck"]
    for name, values in whole.flags.items():
        np.testing.assert_array_equal([f.flags[name] for f in frames], values, err_msg=name)
    # the stream's verdict on the neck flags (its fence measured last at frame 180)
    judged = whole.confidence[180:, 1] >= tagger.stream.familiarity.result["neck"]["movie_fence"]
    others = 1 - whole.p_within_3px[180:, 0] * whole.p_within_3px[180:, 2] > 0.2
    np.testing.assert_array_equal(whole.flags["uncertain"][180:], ~judged | others)


def test_flags_are_the_offline_flags_of_the_same_keypoints(run, tagger):
    """QC looks back at most two frames: the live flags are qc_flags over the whole movie."""
    result = tagger.predict(load_movie(run.parents[1] / "movie.npz").images)
    offline = qc_flags(
        result.locs,
        result.confidence,
        result.spread,
        30.0,
        tagger.stream.reference,
        p_within_3=result.p_within_3px,
    )
    for name, values in offline.items():
        np.testing.assert_array_equal(result.flags[name], values, err_msg=name)


def test_result_table_has_the_tidy_columns(tagger, run):
    table = tagger.predict(load_movie(run.parents[1] / "movie.npz").images[:5]).table()
    assert len(table) == 5
    for column in (
        "base_x",
        "head_y_raw",
        "head_direction_deg",
        "qc_jump",
        "polarity_exchanged",
        "neck_p_within_2px",
    ):
        assert column in table.columns


def test_bad_frames_are_one_clear_error(tagger):
    with pytest.raises(DataError, match=r"\(N, 50, 50\) uint8"):
        tagger.predict(np.zeros((3, 40, 40), np.uint8))
    with pytest.raises(DataError, match=r"\(H, W\) uint8"):
        Tagger.track(tagger, np.zeros((3, 40, 40), np.float32))


# --------------------------------------------------------------------------- tracking


@pytest.fixture(scope="module")
def arena(tmp_path_factory):
    """A 640x480 arena video and the batch tracker's movie and table of it (crop centred on
    each frame's own detection, as live does)."""
    d = tmp_path_factory.mktemp("arena")
    truth = write_arena_video(d / "arena.mp4", 60, seed=6, tether=False)
    settings = TrackSettings(smooth_window=1)
    track_video(video_info(d / "arena.mp4"), d / "m.npz", d / "t.csv", d / "q.json", settings)
    return d, truth


def test_track_gives_the_batch_trackers_crops_and_keypoints(run, arena):
    d, truth = arena
    info = video_info(d / "arena.mp4")
    tagger = Tagger.from_run(run, warm_up=False)
    tagger.use_tracker(LiveTracker.from_video(info, TrackSettings(smooth_window=1)))
    results = [tagger.track(frame) for frame in iter_frames(info)]
    table = pd.read_csv(d / "t.csv")
    assert len(results) == len(table) == 60
    np.testing.assert_allclose([r.crop_x for r in results], table["crop_x"], atol=1e-3)
    np.testing.assert_allclose([r.crop_y for r in results], table["crop_y"], atol=1e-3)
    batch = tagger.predict(load_movie(d / "m.npz").images)
    assert np.abs(np.stack([r.locs_raw for r in results]) - batch.locs_raw).max() <= TOLERANCE_PX
    # video px: the crop's coordinates scaled by side / 50 about the crop centre
    r = results[10]
    expected = (r.locs - 24.5) * r.crop_side / 50 + [r.crop_x, r.crop_y]
    np.testing.assert_allclose(r.locs_video, expected)


def test_track_with_a_polarity_lag_gives_each_frame_once_with_its_own_crop(run, arena):
    """A lag of 4: track() answers for the frame 4 back (None for the first 4), flush() for
    the last 4; each result keeps its own frame's crop; the polarity is the lagged filter's
    on the tracker's evidence (what the benchmark measures, movies.causal_polarity)."""
    from direction_tagger.movies.causal_evidence import evidence_rows
    from direction_tagger.movies.causal_polarity import live_polarity_states

    d, _ = arena
    info = video_info(d / "arena.mp4")
    tagger = Tagger.from_run(run, warm_up=False, polarity_lag=4)
    tagger.use_tracker(LiveTracker.from_video(info, TrackSettings(smooth_window=1)))
    answers = [tagger.track(frame) for frame in iter_frames(info)]
    assert answers[:4] == [None] * 4 and None not in answers[4:]
    results = answers[4:] + tagger.flush()
    assert [r.frame for r in results] == list(range(60))
    assert [r.lag_frames for r in results] == [4] * 56 + [3, 2, 1, 0]
    table = pd.read_csv(d / "t.csv")
    np.testing.assert_allclose([r.crop_x for r in results], table["crop_x"], atol=1e-3)
    raw = np.stack([r.locs_raw for r in results])
    p2 = np.stack([r.p_within_2px for r in results])
    exchanged = np.array([r.polarity_exchanged for r in results])
    p2 = np.where(exchanged[:, None], p2[:, [2, 1, 0]], p2)  # back to the model's order
    stream = tagger.stream
    expected = live_polarity_states(
        raw, p2, 4, tagger.fps, stream.network_accuracy, stream.tail_accuracy, evidence_rows(table)
    )
    np.testing.assert_array_equal(exchanged, expected)


def test_track_learns_the_background_from_the_first_frames_then_follows(run, arena):
    d, truth = arena
    info = video_info(d / "arena.mp4")
    settings = TrackSettings(smooth_window=1, background_frames=5)
    tagger = Tagger.from_run(run, warm_up=False, track=settings)
    tagger.tracker = LiveTracker(settings, background_every=10)
    results = [tagger.track(frame) for frame in iter_frames(info)]
    # 5 samples, one every 10 frames: frames 0, 10, ..., 40; from the 41st frame on, results
    assert all(r is None for r in results[:41]) and all(r is not None for r in results[41:])
    centres = np.array([[r.crop_x, r.crop_y] for r in results[41:]])
    midpoint = (truth[41:, 0] + truth[41:, 2]) / 2  # tail base - nose midpoint
    # the crop is centred on the animal: within a tenth of the crop side
    assert np.median(np.hypot(*(centres - midpoint).T)) < 0.1 * results[-1].crop_side


def test_track_with_a_given_background_image(run, arena):
    d, _ = arena
    info = video_info(d / "arena.mp4")
    frames = list(iter_frames(info))
    empty = np.median(np.stack(frames[::6]), axis=0).astype(np.uint8)  # a stand-in empty arena
    tagger = Tagger.from_run(
        run, warm_up=False, background=empty, track=TrackSettings(smooth_window=1, polarity="dark")
    )
    results = [tagger.track(f) for f in frames[:20]]
    # the body length is measured on the first 15 frames; then every frame has a result
    assert results[:15] == [None] * 15 and all(r.found for r in results[15:])


def test_the_readme_example_runs(run, arena):
    readme = (Path(__file__).resolve().parents[1] / "README.md").read_text()
    start = readme.index("```python\nfrom direction_tagger import Tagger")
    code = readme[start + len("```python\n") : readme.index("```\n", start + 10)]
    d, _ = arena
    namespace = {
        "crops": load_movie(run.parents[1] / "movie.npz").images,
        "frames": list(iter_frames(video_info(d / "arena.mp4"))),
    }
    exec(code.replace('"results/demo"', repr(str(run))), namespace)
    assert len(namespace["result"]) == 40
