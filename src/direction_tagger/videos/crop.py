"""The crop: a square of `side` video pixels centred on (x, y), resampled to the 50 x 50 frame
the model reads. Coordinates both ways, pixel centres at integers in both frames:

    x_video = x_centre + (x_crop - 24.5) * side / 50
"""

from __future__ import annotations

import numpy as np
from PIL import Image

from ..io import FRAME_SIZE

CENTRE = (FRAME_SIZE - 1) / 2  # 24.5


def crop_to_video(locs: np.ndarray, centres: np.ndarray, sides: np.ndarray) -> np.ndarray:
    """Crop coordinates (M, K, 2) -> video pixels, per frame centre (M, 2) and side (M,)."""
    scale = (np.asarray(sides, float) / FRAME_SIZE)[:, None, None]
    return np.asarray(centres, float)[:, None, :] + (np.asarray(locs, float) - CENTRE) * scale


def video_to_crop(locs: np.ndarray, centres: np.ndarray, sides: np.ndarray) -> np.ndarray:
    """Video pixels (M, K, 2) -> crop coordinates; the inverse of crop_to_video."""
    scale = (FRAME_SIZE / np.asarray(sides, float))[:, None, None]
    return (np.asarray(locs, float) - np.asarray(centres, float)[:, None, :]) * scale + CENTRE


def crop_frame(frame: np.ndarray, x: float, y: float, side: float) -> np.ndarray:
    """The 50 x 50 uint8 crop of `frame` (H, W) centred on (x, y), area-filtered when
    shrinking (Pillow's resampling widens its filter with the scale, so fine texture does not
    alias). Outside the frame, the edge pixels are repeated."""
    half = side / 2
    # Pillow's box is in pixel-edge coordinates: pixel i spans [i, i + 1).
    x0, y0 = x + 0.5 - half, y + 0.5 - half
    left, top = int(np.floor(x0)) - 2, int(np.floor(y0)) - 2
    size = int(np.ceil(side)) + 5
    h, w = frame.shape
    rows = np.clip(np.arange(top, top + size), 0, h - 1)
    cols = np.clip(np.arange(left, left + size), 0, w - 1)
    if (
        rows[0] == top
        and rows[-1] == top + size - 1
        and cols[0] == left
        and cols[-1] == left + size - 1
    ):
        patch = frame[top : top + size, left : left + size]
    else:
        patch = frame[np.ix_(rows, cols)]
    box = (x0 - left, y0 - top, x0 - left + side, y0 - top + side)
    image = Image.fromarray(np.ascontiguousarray(patch))
    out = image.resize((FRAME_SIZE, FRAME_SIZE), Image.Resampling.BILINEAR, box=box)
    return np.asarray(out)
