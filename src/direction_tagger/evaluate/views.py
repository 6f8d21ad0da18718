"""Many views of a few labelled frames: what a calibration fitted on 8 frames rests on.

A lab's validation part can be 8 frames (10 % of 80). Their 24 points say how often the model
is within 2 px, but hardly how that chance moves with the model's confidence and TTA spread,
so a calibration fitted on them alone comes out as one constant. Each frame shown under the 8
dihedral transforms and whole-pixel shifts is, to the network, another input (it is not
equivariant), with labels mapped exactly, so the views give many (confidence, spread, error)
samples of the same frames. Views of one frame are not independent; `calibration` weighs
them as such.

Conventions as in originals/augment.py: flip, rotation about the frame centre, then a shift
with mirrored borders; labels move with the pixels.
"""

from __future__ import annotations

import numpy as np

from ..originals.augment import source_index, transform_points

SHIFTS_PX = (-2, 0, 2)  # whole px on each axis: within what training's augmentation shows
MIN_VIEWED_FRAMES = 2000  # views are added until the frames and their views reach this
# From this many validation frames on (600 points), the frames show the slopes themselves; the
# views cost predictions (4,000 frames x TTA) that a large project need not pay.
VIEWS_BELOW_FRAMES = 200
VIEW_SEED = 0  # which views, when fewer than all are needed: fixed, so refits agree


def all_views() -> np.ndarray:
    """(72, 4) int rows (k, flip, shift_x, shift_y): 8 dihedral transforms x 9 shifts; the
    identity first, the rest in a fixed shuffled order so that a prefix mixes them all."""
    grid = np.array(
        [(k, f, sx, sy) for k in range(4) for f in (0, 1) for sx in SHIFTS_PX for sy in SHIFTS_PX]
    )
    identity = np.flatnonzero((grid == [0, 0, 0, 0]).all(axis=1))
    rest = np.setdiff1d(np.arange(len(grid)), identity)
    order = np.concatenate([identity, np.random.default_rng(VIEW_SEED).permutation(rest)])
    return grid[order]


def views_per_frame(n_frames: int, target: int = MIN_VIEWED_FRAMES) -> int:
    """How many views (the frame itself included) each of n frames gets: enough for about
    `target` predictions in all, at most every view, at least the frame itself."""
    return int(np.clip(np.ceil(target / max(1, n_frames)), 1, len(all_views())))


def calibration_views(n_validation: int) -> int:
    """Views of each validation frame a calibration uses (1: the frames alone, no views)."""
    return views_per_frame(n_validation) if n_validation < VIEWS_BELOW_FRAMES else 1


def labelled_views(
    images: np.ndarray, locs: np.ndarray, n_views: int
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The first `n_views` of `all_views` of every frame: ((n*v, 50, 50) uint8 images,
    (n*v, 3, 2) float64 labels (x, y px), (n*v,) index of the frame each view shows)."""
    images, locs = np.asarray(images), np.asarray(locs, dtype=np.float64)
    views = all_views()[:n_views]
    frame = np.repeat(np.arange(len(images)), len(views))
    k, flip, sx, sy = (np.tile(views[:, c], len(images)) for c in range(4))
    size = images.shape[1] * images.shape[2]
    flat = images.reshape(len(images), size)
    out = np.take_along_axis(flat[frame], source_index(k, flip.astype(bool), sx, sy), axis=1)
    moved = transform_points(locs[frame], k, flip.astype(bool), sx, sy)
    return out.reshape(-1, *images.shape[1:]), moved, frame


def view_sample(
    images: np.ndarray, locs: np.ndarray, target: int = MIN_VIEWED_FRAMES
) -> tuple[np.ndarray, np.ndarray, int]:
    """About `target` labelled views of a set of frames: every frame under `views_per_frame`
    views, or, for a set larger than `target`, a fixed draw of `target` frames as they are.
    Returns (images, labels, views per frame)."""
    n = len(images)
    if n > target:
        chosen = np.sort(np.random.default_rng(VIEW_SEED).choice(n, target, replace=False))
        return np.asarray(images)[chosen], np.asarray(locs, dtype=np.float64)[chosen], 1
    n_views = views_per_frame(n, target)
    out_images, out_locs, _ = labelled_views(images, locs, n_views)
    return out_images, out_locs, n_views
