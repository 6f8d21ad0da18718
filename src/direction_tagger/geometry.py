"""Angles and directions under the project's conventions (the 8 dihedral transforms of a
frame are in dihedral.py).

Points are (x, y) px, x = column, y = row, origin top-left, pixel centres at integers, so
the centre of a 50x50 frame is (24.5, 24.5). Angles are degrees in [0, 360): 0 = toward +x,
90 = toward the top of the image (-y), i.e. atan2(-dy, dx).
"""

from __future__ import annotations

import numpy as np

from .io import FRAME_SIZE

CENTRE = (FRAME_SIZE - 1) / 2.0  # 24.5


def direction_deg(tail: np.ndarray, tip: np.ndarray) -> np.ndarray:
    """Direction of the vector tail -> tip, degrees in [0, 360), counter-clockwise on screen."""
    d = np.asarray(tip, dtype=np.float64) - np.asarray(tail, dtype=np.float64)
    return np.degrees(np.arctan2(-d[..., 1], d[..., 0])) % 360.0


def body_direction(locs: np.ndarray) -> np.ndarray:
    """Base -> neck direction of (..., 3, 2) keypoints (KEYPOINTS order), degrees."""
    return direction_deg(locs[..., 0, :], locs[..., 1, :])


def head_direction(locs: np.ndarray) -> np.ndarray:
    """Neck -> nose direction of (..., 3, 2) keypoints, degrees."""
    return direction_deg(locs[..., 1, :], locs[..., 2, :])


def angle_difference(a, b) -> np.ndarray:
    """Signed smallest difference a - b in degrees, in [-180, 180)."""
    return (np.asarray(a, dtype=np.float64) - b + 180.0) % 360.0 - 180.0
