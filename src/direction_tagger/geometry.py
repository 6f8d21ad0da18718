"""Angles and exact point transforms under the project's conventions.

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


def dihedral_images(images: np.ndarray, k: int, flip: bool) -> np.ndarray:
    """Rotate (..., H, W) images by k*90 degrees counter-clockwise on screen, after an optional
    vertical flip (rows reversed). Matches `dihedral_points`."""
    out = images[..., ::-1, :] if flip else images
    return np.rot90(out, k=k, axes=(-2, -1))


def dihedral_points(points: np.ndarray, k: int, flip: bool, size: int = FRAME_SIZE) -> np.ndarray:
    """Map (..., 2) (x, y) points exactly as `dihedral_images` maps pixels."""
    last = size - 1
    x, y = points[..., 0], points[..., 1]
    if flip:
        y = last - y
    for _ in range(k % 4):
        # np.rot90 (counter-clockwise): pixel (row r, col c) -> (row last-c, col r)
        x, y = y, last - x
    return np.stack([x, y], axis=-1)


def inverse_dihedral_points(points: np.ndarray, k: int, flip: bool, size: int = FRAME_SIZE):
    """Undo `dihedral_points`: rotate back, then flip back."""
    last = size - 1
    x, y = points[..., 0], points[..., 1]
    for _ in range(k % 4):
        x, y = last - y, x
    if flip:
        y = last - y
    return np.stack([x, y], axis=-1)


DIHEDRAL = [(k, flip) for flip in (False, True) for k in range(4)]  # the 8 transforms
