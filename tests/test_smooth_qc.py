"""Smoothing (positions and angles) and label-free QC on synthetic tracks."""

import json

import numpy as np
import pytest

from direction_tagger.geometry import angle_difference, body_direction
from direction_tagger.movies.qc import geometry_reference, qc_flags, qc_summary
from direction_tagger.movies.smooth import fill_gaps, smooth_angles, smooth_locs


def rat_track(m=120, fps=30.0):
    """A rat-like skeleton (base, neck, nose; px) turning slowly around the frame centre."""
    t = np.arange(m) / fps
    heading = np.radians(25 * t)  # body direction, counter-clockwise on screen
    centre = np.stack([24.5 + 3 * np.cos(0.8 * t), 24.5 + 2 * np.sin(0.6 * t)], axis=1)
    u = np.stack([np.cos(heading), -np.sin(heading)], axis=1)  # y grows downward
    look = heading + np.radians(25 * np.sin(1.5 * t))
    neck = centre + 6 * u
    nose = neck + 5 * np.stack([np.cos(look), -np.sin(look)], axis=1)
    return np.stack([centre - 6 * u, neck, nose], axis=1)


# ----------------------------------------------------------------------------- smoothing


def test_fill_gaps_interpolates_short_inner_gaps_only():
    x = np.array([0.0, np.nan, np.nan, 3.0, np.nan, np.nan, np.nan, 7.0, np.nan])
    out = fill_gaps(x, max_gap=2)
    np.testing.assert_allclose(out[:4], [0, 1, 2, 3])
    assert np.isnan(out[4:7]).all()  # 3 > max_gap
    assert np.isnan(out[8])  # no value after it: never extrapolated


def test_smoothing_removes_outliers_and_noise():
    truth = rat_track()
    rng = np.random.default_rng(0)
    noisy = truth + rng.normal(0, 0.4, truth.shape)
    confidence = np.full(truth.shape[:2], 0.95)
    noisy[30, 2] += [12.0, -9.0]  # a confident outlier (one frame)
    noisy[60, 0] += [-10.0, 10.0]  # an unconfident one
    confidence[60, 0] = 0.1
    noisy[80:83, 1] += 15.0  # a short run of unconfident points
    confidence[80:83, 1] = 0.2
    for method in ("savgol", "median"):
        smoothed = smooth_locs(noisy, confidence, method=method, window=7, max_gap=5)
        error = np.linalg.norm(smoothed - truth, axis=-1)
        assert np.isfinite(smoothed).all()
        assert error.max() < 1.5, method  # outliers gone, not smeared
        assert np.median(error) < np.median(np.linalg.norm(noisy - truth, axis=-1)), method


def test_long_gaps_stay_missing():
    truth = rat_track(60)
    confidence = np.ones((60, 3))
    confidence[20:30, 2] = 0.0  # 10 frames > max_gap
    smoothed = smooth_locs(truth, confidence, max_gap=5)
    assert np.isnan(smoothed[20:30, 2]).all()
    assert np.isfinite(smoothed[:20]).all() and np.isfinite(smoothed[30:]).all()
    assert np.isfinite(smoothed[20:30, :2]).all()  # other keypoints untouched


def test_angle_smoothing_crosses_the_seam_without_a_jump():
    rng = np.random.default_rng(1)
    truth = (340.0 + np.linspace(0, 40, 81)) % 360  # 340 ... 359, 0 ... 20
    noisy = (truth + rng.normal(0, 2.0, truth.shape)) % 360
    noisy[40] = (noisy[40] + 1.0) % 360
    smoothed = smooth_angles(noisy, window=9)
    assert ((smoothed >= 0) & (smoothed < 360)).all()
    assert np.abs(angle_difference(smoothed, truth)).max() < 3.0
    assert np.abs(angle_difference(smoothed[1:], smoothed[:-1])).max() < 3.0  # no 360 step
    median = smooth_angles(noisy, window=5, method="median")
    assert np.abs(angle_difference(median, truth)).max() < 5.0


def test_angle_smoothing_keeps_missing_values_missing():
    deg = np.array([10.0, 12, 11, np.nan, 13, 12, 14, 15, 13])
    out = smooth_angles(deg, window=3)
    assert np.isnan(out[3]) and np.isfinite(np.delete(out, 3)).all()
    assert np.isfinite(smooth_angles(deg, window=3, max_gap=1)).all()


def test_bad_smoothing_arguments_are_clear():
    with pytest.raises(ValueError, match="method"):
        smooth_locs(rat_track(10), None, method="mean")
    with pytest.raises(ValueError, match="polyorder"):
        smooth_locs(rat_track(10), None, window=3, polyorder=3)
    with pytest.raises(ValueError, match="confidence"):
        smooth_locs(rat_track(10), np.ones((9, 3)))


# ----------------------------------------------------------------------------- QC


def clean_inputs(m=120):
    locs = rat_track(m)
    return locs, np.full((m, 3), 0.9), np.full((m, 3), 0.5)


def test_clean_track_is_not_flagged():
    locs, confidence, spread = clean_inputs()
    flags = qc_flags(locs, confidence, spread, fps=30.0, reference=geometry_reference(locs))
    assert set(flags) == {"jump", "spread", "low_confidence", "geometry", "swap"}
    assert not any(f.any() for f in flags.values())


def test_planted_swap_and_jump_are_flagged_once():
    locs, confidence, spread = clean_inputs()
    locs[40, [0, 2]] = locs[40, [2, 0]]  # tail base and nose trade places for one frame
    locs[70, 1] += [7.0, 5.0]  # the neck jumps away for one frame
    flags = qc_flags(locs, confidence, spread, fps=30.0)
    assert np.flatnonzero(flags["swap"]).tolist() == [40]
    assert np.flatnonzero(flags["jump"]).tolist() == [40, 70]  # not again on the way back
    assert not flags["low_confidence"].any() and not flags["spread"].any()


def test_longer_swap_is_flagged_where_it_starts_and_ends():
    locs, confidence, spread = clean_inputs()
    locs[50:55, [0, 2]] = locs[50:55, [2, 0]]
    flags = qc_flags(locs, confidence, spread, fps=30.0)
    assert np.flatnonzero(flags["swap"]).tolist() == [50, 55]


def test_body_direction_flip_alone_counts_as_a_swap():
    locs, confidence, spread = clean_inputs()
    centre = locs[:, :2].mean(axis=1)
    locs[90, :2] = 2 * centre[90] - locs[90, :2]  # base and neck mirrored: body turns 180
    locs[90, 2] = locs[90, 1] + (locs[89, 1] - locs[89, 2])  # nose still beyond the neck
    assert abs(angle_difference(body_direction(locs[90]), body_direction(locs[89]))) > 170
    assert qc_flags(locs, confidence, spread, fps=30.0)["swap"][90]


def test_confidence_spread_and_geometry_flags():
    locs, confidence, spread = clean_inputs()
    reference = geometry_reference(locs)
    confidence[10, 1] = 0.2
    spread[20, 2] = 3.5
    locs[100:103, 2] = locs[100:103, 1] + 3 * (locs[100:103, 2] - locs[100:103, 1])  # long nose
    flags = qc_flags(locs, confidence, spread, fps=30.0, reference=reference)
    assert np.flatnonzero(flags["low_confidence"]).tolist() == [10]
    assert np.flatnonzero(flags["spread"]).tolist() == [20]
    assert np.flatnonzero(flags["geometry"]).tolist() == [100, 101, 102]
    no_tta = qc_flags(locs, confidence, np.full_like(spread, np.nan), fps=30.0)
    assert not no_tta["spread"].any() and not no_tta["geometry"].any()  # no reference


def test_reference_and_summary_are_json_able():
    locs, confidence, spread = clean_inputs()
    reference = geometry_reference(locs)
    assert json.loads(json.dumps(reference, allow_nan=False))["n_labels"] == 120
    assert reference["body_length_px"][2] == pytest.approx(17.0, abs=0.1)  # 12 + 5 px
    confidence[30:34] = 0.1
    flags = qc_flags(locs, confidence, spread, fps=30.0)
    summary = qc_summary(flags, locs, fps=30.0, smoothed=locs)
    json.dumps(summary, allow_nan=False)
    assert summary["flagged_share"]["low_confidence"] == pytest.approx(4 / 120)
    assert summary["flagged_share"]["any"] == pytest.approx(4 / 120)
    assert summary["longest_flagged_run"] == {
        "frames": 4,
        "seconds": pytest.approx(4 / 30),
        "start_frame": 30,
    }
    assert set(summary["median_step_px"]) == {"tail_base", "neck", "nose"}
    assert summary["median_jitter_px"]["neck"] < 0.05  # a smooth track
    assert summary["median_smoothing_shift_px"]["nose"] == 0.0
