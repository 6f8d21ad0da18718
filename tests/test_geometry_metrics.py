"""Angles, exact transforms and metrics against hand-computed values."""

import numpy as np
import pytest

from direction_tagger.dihedral import (
    DIHEDRAL,
    dihedral_images,
    dihedral_points,
    inverse_dihedral_points,
)
from direction_tagger.evaluate.metrics import evaluate, keypoint_errors
from direction_tagger.geometry import (
    angle_difference,
    body_direction,
    direction_deg,
    head_direction,
)


@pytest.mark.parametrize(
    "dx, dy, expected",
    [(1, 0, 0), (0, -1, 90), (-1, 0, 180), (0, 1, 270), (1, -1, 45), (1, 1, 315)],
)
def test_direction_convention(dx, dy, expected):
    # 0 = toward +x, 90 = toward the top of the image (-y), counter-clockwise on screen
    assert direction_deg(np.array([10.0, 10.0]), np.array([10.0 + dx, 10.0 + dy])) == pytest.approx(
        expected
    )


def test_angle_difference_across_the_seam():
    assert angle_difference(359, 1) == pytest.approx(-2)
    assert angle_difference(1, 359) == pytest.approx(2)
    assert angle_difference(180, 0) == pytest.approx(-180)


@pytest.mark.parametrize("k, flip", DIHEDRAL)
def test_dihedral_points_follow_the_pixels(k, flip):
    image = np.zeros((50, 50))
    image[7, 31] = 1  # x = 31, y = 7
    row, col = np.argwhere(dihedral_images(image, k, flip))[0]
    moved = dihedral_points(np.array([31.0, 7.0]), k, flip)
    assert tuple(moved) == (col, row)
    np.testing.assert_allclose(inverse_dihedral_points(moved, k, flip), [31.0, 7.0])


def test_rotation_is_about_the_frame_centre():
    np.testing.assert_allclose(dihedral_points(np.array([24.5, 24.5]), 1, False), [24.5, 24.5])


def skeleton(base, neck, head):
    return np.array([[base, neck, head]], dtype=np.float64)


def test_metrics_equal_hand_computed_values():
    truth = np.concatenate(
        [
            skeleton((10, 25), (20, 25), (25, 25)),  # body 0°, head 0°
            skeleton((25, 40), (25, 30), (25, 20)),
        ]
    )  # body 90°, head 90°
    pred = truth.copy()
    pred[0, 2] += (3, 4)  # nose 5 px off
    pred[1, 0] = (25, 20)  # tail base put at the nose: head and tail swapped
    pred[1, 2] = (25, 40)
    conf = np.ones((2, 3))
    metrics, frames = evaluate(pred, conf, truth, baseline_locs=truth.mean(0))
    np.testing.assert_allclose(keypoint_errors(pred, truth), [[0, 0, 5], [20, 0, 20]])
    assert metrics["keypoints"]["head"]["median"] == pytest.approx(12.5)
    assert metrics["keypoints"]["neck"]["pck@1px"] == 1.0
    assert metrics["keypoints"]["head"]["pck@5px"] == 0.5
    assert metrics["all_keypoints"]["mean"] == pytest.approx(45 / 6)
    # frame 0: head direction from (20,25) to (28,29) = atan2(-4, 8) = -26.565°
    assert frames.loc[0, "head_direction_error_deg"] == pytest.approx(26.565, abs=1e-3)
    assert frames.loc[1, "body_direction_error_deg"] == pytest.approx(180)
    assert metrics["body_direction"]["share_over_90deg"] == 0.5
    assert list(frames.head_tail_swapped) == [False, True]


def test_angular_error_across_the_seam_is_small():
    truth = skeleton((20, 25), (30, 25.5), (35, 26))  # body just below 360°
    pred = skeleton((20, 25), (30, 24.5), (35, 24))  # body just above 0°
    metrics, frames = evaluate(pred, np.ones((1, 3)), truth)
    expected = 2 * np.degrees(np.arctan2(0.5, 10))
    assert frames.loc[0, "body_direction_error_deg"] == pytest.approx(expected)
    assert body_direction(truth)[0] > 350 and body_direction(pred)[0] < 10
    assert head_direction(pred)[0] < 20


def test_confidence_that_tracks_error_is_reported_as_negative_correlation():
    rng = np.random.default_rng(0)
    truth = rng.uniform(10, 40, (200, 3, 2))
    noise = rng.exponential(1.0, (200, 3))
    pred = truth + np.stack([noise, np.zeros_like(noise)], -1)
    metrics, _ = evaluate(pred, 1 / (1 + noise), truth)
    assert metrics["confidence_vs_error"]["spearman"] == pytest.approx(-1.0)
