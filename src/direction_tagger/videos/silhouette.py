"""Keypoints the network put off the animal, found and moved onto it.

A rearing mouse's nose was put on its own reflection in the arena's wall, 15-20 video px
beyond the head, on 37 frames of a real open-field video (docs/quality_control.md). The
tracker's background, cut like each frame's crop, shows where the animal is: its silhouette
is the largest blob of the animal's contrast (the tracker's threshold, finder.py), holes
filled. A keypoint further than OFF_ANIMAL_PX from it is moved to the silhouette's nearest
pixel, and its frame flagged ``off_animal``.

Measured (benchmarks/bench_off_animal.py): on the 227 labelled real frames of the XMWell
project (each recording's own background) no label is moved; on the real video the frames
moved are the rearing ones and two more, all wrong before and right after. A lower threshold
(a quarter or a fifth of the peak) joined floor shadows to the animal and moved right labels.

The background is saved by the tracker (`save_background`) beside its track table.
"""

from __future__ import annotations

import cv2
import numpy as np
from PIL import Image
from scipy import ndimage

from ..io import FRAME_SIZE, DataError, atomic_path
from .finder import MIN_CONTRAST, NOISE_SIGMAS, PEAK_FRACTION, Background

OFF_ANIMAL_PX = 1.5  # crop px (0.06 body lengths at the default crop); labels lie within 1.41
# A silhouette under this share of the movie's median area is not the whole animal.
PART_OF_ANIMAL = 0.7
_SQUARE = np.ones((3, 3), np.uint8)


def save_background(path, bg: Background) -> None:
    """The empty arena (uint8), the animal's polarity and the noise, as .npz."""
    with atomic_path(path) as tmp, open(tmp, "wb") as f:
        np.savez_compressed(
            f,
            background=np.clip(np.rint(bg.full), 0, 255).astype(np.uint8),
            polarity=np.float64(bg.polarity),
            noise=np.float64(bg.noise),
        )


class ArenaBackground:
    """A saved background, ready to be cut like a frame's crop."""

    KEYS = {"background": 2, "polarity": 0, "noise": 0}  # key -> its number of dimensions

    def __init__(self, path):
        try:
            with np.load(path, allow_pickle=False) as f:
                arrays = {k: f[k] for k in self.KEYS if k in f.files}
        except (OSError, ValueError) as e:
            raise DataError(f"{path}: not a readable background .npz ({e})") from e
        for key, ndim in self.KEYS.items():
            if key not in arrays or arrays[key].ndim != ndim:
                raise DataError(
                    f"{path}: key '{key}' missing or not {ndim}-dimensional; expected the "
                    "background `track` saves (background (H, W) uint8, polarity, noise)"
                )
        self.image = np.ascontiguousarray(arrays["background"], dtype=np.uint8)
        self.polarity = float(arrays["polarity"])
        self.noise = float(arrays["noise"])
        self._shrunk: dict[float, np.ndarray] = {}

    def floor(self, x: float, y: float, side: float) -> np.ndarray:
        """(50, 50) float32: the empty arena where a crop centred on (x, y) with `side` video
        px looks. The background is shrunk once per crop side (area-filtered, as crops are),
        then each crop is a bilinear window of it: 20 x faster than cutting each crop anew."""
        if side not in self._shrunk:
            h, w = self.image.shape
            scale = FRAME_SIZE / side
            size = (max(1, round(w * scale)), max(1, round(h * scale)))
            image = Image.fromarray(self.image).resize(size, Image.Resampling.BILINEAR)
            self._shrunk[side] = np.asarray(image, np.float32)
        small = self._shrunk[side]
        sx = small.shape[1] / self.image.shape[1]  # the rounding of the shrunk size kept
        sy = small.shape[0] / self.image.shape[0]
        centre = ((x + 0.5) * sx - 0.5, (y + 0.5) * sy - 0.5)
        return cv2.getRectSubPix(small, (FRAME_SIZE, FRAME_SIZE), centre)

    def animal_pixels(self, crop: np.ndarray, x: float, y: float, side: float) -> np.ndarray:
        """(50, 50) bool: the pixels of `crop` (the frame's crop centred on (x, y), `side`
        video px: the tracker's) with the animal's contrast, at the tracker's threshold."""
        floor = self.floor(x, y, side)
        crop = crop.astype(np.float32)
        gain = max(float(np.median(crop)), 1.0) / max(float(np.median(floor)), 1.0)
        contrast = self.polarity * (floor * gain - crop)  # the lighting may drift
        # the peak where the contrast is wider than a cable or a tail (as finder._peak)
        peak = float(cv2.erode(contrast, _SQUARE, borderType=cv2.BORDER_REFLECT).max())
        threshold = max(NOISE_SIGMAS * self.noise, PEAK_FRACTION * peak, MIN_CONTRAST)
        return contrast > threshold

    def silhouette(self, crop: np.ndarray, x: float, y: float, side: float) -> np.ndarray:
        """(50, 50) bool: the animal in `crop`: the largest blob of `animal_pixels`, holes
        filled."""
        return ndimage.binary_fill_holes(largest_blob(self.animal_pixels(crop, x, y, side)))


def largest_blob(mask: np.ndarray) -> np.ndarray:
    """The largest 4-connected blob of `mask` (all False when none); holes are not filled."""
    n, labels, stats, _ = cv2.connectedComponentsWithStats(mask.view(np.uint8), connectivity=4)
    if n <= 1:
        return np.zeros(mask.shape, bool)
    return labels == 1 + int(np.argmax(stats[1:, cv2.CC_STAT_AREA]))


def onto_animal(background: ArenaBackground, crops, centres, locs):
    """For each keypoint of `locs` (M, 3, 2) further than OFF_ANIMAL_PX from its frame's
    silhouette, the silhouette's nearest pixel. Returns ((M, 3, 2) crop px, NaN for the
    keypoints on the animal and where a frame shows none; (M,) the silhouettes' areas, px).
    `crops`: the M frames (M, 50, 50); `centres`: (M, 3) their crop x, y and side, video px
    (the track table's crop_x, crop_y, crop_side)."""
    locs = np.asarray(locs, np.float64)
    out = np.full(locs.shape, np.nan)
    area = np.zeros(len(locs))
    size = crops.shape[-1]
    pixels = np.clip(np.rint(np.nan_to_num(locs)).astype(int), 0, size - 1)  # (M, 3, 2) x, y
    for i, (x, y, side) in enumerate(np.asarray(centres, np.float64)):
        finite = np.isfinite(locs[i]).all(axis=1)
        if not finite.any() or not np.isfinite([x, y, side]).all():
            continue
        animal = largest_blob(background.animal_pixels(crops[i], x, y, side))
        area[i] = animal.sum()
        cols, rows = pixels[i, finite].T
        if not area[i] or animal[rows, cols].all():  # the usual frame: every keypoint on it
            continue
        away, (near_y, near_x) = ndimage.distance_transform_edt(
            ~ndimage.binary_fill_holes(animal), return_indices=True
        )
        for k in np.flatnonzero(finite):
            c, r = pixels[i, k]
            if away[r, c] > OFF_ANIMAL_PX:
                out[i, k] = near_x[r, c], near_y[r, c]
    return out, area


def onto_animal_of_movie(background_path, movie_path, track, locs) -> np.ndarray:
    """`onto_animal`'s moves over a whole tracked movie, a chunk of frames at a time: `track`
    its track table (videos/to_video.read_track), `locs` (M, 3, 2) the model's keypoints.
    A frame whose silhouette is under PART_OF_ANIMAL of the movie's median keeps its
    keypoints: where the animal sat still for long, the background holds part of it, and
    the silhouette there is only the rest."""
    from ..movie_store import open_movie

    background = ArenaBackground(background_path)
    centres = track[["crop_x", "crop_y", "crop_side"]].to_numpy(np.float64)
    out = np.full(np.shape(locs), np.nan)
    area = np.zeros(len(out))
    with open_movie(movie_path) as movie:
        if not len(movie) == len(track) == len(locs):
            raise DataError(
                f"{movie_path}: {len(movie)} frames, its track table {len(track)} rows and "
                f"the predictions {len(locs)}; expected the same frames in all three"
            )
        for first, frames in movie.chunks():
            rows = slice(first, first + len(frames))
            out[rows], area[rows] = onto_animal(background, frames, centres[rows], locs[rows])
    seen = area[area > 0]
    typical = float(np.median(seen)) if len(seen) else 0.0
    out[area < PART_OF_ANIMAL * typical] = np.nan
    return out
