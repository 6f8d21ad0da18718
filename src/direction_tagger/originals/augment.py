"""Offline augmentation: each original frame -> up to 64 labelled variants.

The published set was made from 1,546 originals with five two-way factors:
rot90 (x4), vertical flip (x2), Gaussian pixel noise (with / without), a random pixel shift
(with / without) and Gaussian label noise (with / without) = 64 variants per original.
`augment_originals` reproduces that recipe with every factor switchable and sized; a factor
that is off contributes x1.

Conventions (see geometry.py): points are (x, y) px, pixel centres at integers, rotation
about the frame centre (24.5, 24.5), vertical flip y -> 49 - y. The dihedral part of every
variant is done with dihedral.py (`index_maps` for pixels, `dihedral_points_each` for
labels), so pixels and labels move identically. Shifts are whole pixels (labels move by
exactly the same amount) with the uncovered border filled by mirror reflection, not black.

Order of operations for one variant: vertical flip, rotation, shift, pixel noise (then
round and clip to uint8); labels: flip, rotation, shift, label noise.
"""

from __future__ import annotations

import numpy as np

from ..dihedral import dihedral_index, dihedral_points_each, index_maps
from ..io import FRAME_SIZE

DEFAULT_PIXEL_NOISE_SIGMA = 4.0  # grey levels (0-255)
DEFAULT_PIXEL_SHIFT_PX = 2  # a shifted copy moves by -2..2 px on each axis, never (0, 0)
DEFAULT_LABEL_NOISE_SIGMA = 0.5  # px, per coordinate

# Frames processed per block; fixed so the random streams (and so the output) do not depend
# on anything but the seed.
_BLOCK = 4096


def augmentation_plan(
    n: int,
    seed: int,
    rot90: bool = True,
    vflip: bool = True,
    noise: bool = True,
    shift: bool = True,
    label_noise: bool = True,
    pixel_shift_px: int = DEFAULT_PIXEL_SHIFT_PX,
) -> dict[str, np.ndarray]:
    """The per-variant transforms `augment_originals` applies, one row per output frame.

    Returns int / bool arrays of length n * variants: `original_index`, `k` (counter-clockwise
    quarter turns), `flip` (vertical flip before rotating), `shift_x`, `shift_y` (px the content
    moves; labels move the same), `pixel_noise` and `label_noise` (whether that copy is noisy).
    Output is original-major: the variants of original i are rows i*v .. i*v + v - 1.
    """
    if pixel_shift_px < 0:
        raise ValueError(f"pixel_shift_px must be >= 0, got {pixel_shift_px}")
    shift = bool(shift) and pixel_shift_px > 0
    flips = (False, True) if vflip else (False,)
    ks = (0, 1, 2, 3) if rot90 else (0,)
    noise_opts = (False, True) if noise else (False,)
    shift_opts = (False, True) if shift else (False,)
    label_opts = (False, True) if label_noise else (False,)
    variants = [
        (k, f, pn, sh, ln)
        for f in flips
        for k in ks
        for pn in noise_opts
        for sh in shift_opts
        for ln in label_opts
    ]
    v = len(variants)
    table = np.array(variants, dtype=np.int64)  # (v, 5)
    rows = np.tile(table, (n, 1))
    plan = {
        "original_index": np.repeat(np.arange(n, dtype=np.int64), v),
        "k": rows[:, 0],
        "flip": rows[:, 1].astype(bool),
        "pixel_noise": rows[:, 2].astype(bool),
        "label_noise": rows[:, 4].astype(bool),
    }
    shifted = rows[:, 3].astype(bool)
    sx = np.zeros(n * v, dtype=np.int64)
    sy = np.zeros(n * v, dtype=np.int64)
    if shifted.any():
        # Uniform over the (2s+1)^2 - 1 non-zero integer shifts: a "shifted" copy is shifted.
        s = pixel_shift_px
        offsets = np.array(
            [(dx, dy) for dy in range(-s, s + 1) for dx in range(-s, s + 1) if (dx, dy) != (0, 0)]
        )
        rng = np.random.default_rng([seed, 0])
        pick = rng.integers(0, len(offsets), size=int(shifted.sum()))
        sx[shifted] = offsets[pick, 0]
        sy[shifted] = offsets[pick, 1]
    plan["shift_x"] = sx
    plan["shift_y"] = sy
    return plan


def variants_per_original(
    rot90: bool = True,
    vflip: bool = True,
    noise: bool = True,
    shift: bool = True,
    label_noise: bool = True,
    pixel_shift_px: int = DEFAULT_PIXEL_SHIFT_PX,
) -> int:
    """How many frames each original becomes (64 with everything on)."""
    return (
        (4 if rot90 else 1)
        * (2 if vflip else 1)
        * (2 if noise else 1)
        * (2 if shift and pixel_shift_px > 0 else 1)
        * (2 if label_noise else 1)
    )


def _reflect(i: np.ndarray, size: int) -> np.ndarray:
    """Mirror indices into [0, size) without repeating the edge (numpy's 'reflect' mode)."""
    period = 2 * (size - 1)
    i = np.abs(i) % period
    return np.where(i >= size, period - i, i)


def source_index(
    k: np.ndarray, flip: np.ndarray, sx: np.ndarray, sy: np.ndarray, size: int = FRAME_SIZE
) -> np.ndarray:
    """(B, size*size) flat indices into each original such that
    `original.reshape(-1)[index]` is the flipped, rotated, shifted (reflect-filled) frame."""
    maps = index_maps(size)
    g = dihedral_index(k, flip)
    r = np.arange(size)
    rows = _reflect(r[None, :] - np.asarray(sy)[:, None], size)  # (B, size)
    cols = _reflect(r[None, :] - np.asarray(sx)[:, None], size)
    within = (rows[:, :, None] * size + cols[:, None, :]).reshape(len(g), -1)
    return np.take_along_axis(maps[g], within, axis=1)


def transform_points(points: np.ndarray, k, flip, sx, sy) -> np.ndarray:
    """Map (B, ..., 2) points of the originals into their variants (exact; no label noise)."""
    points = np.asarray(points, dtype=np.float64)
    out = dihedral_points_each(points, k, flip)
    shift = np.stack([np.asarray(sx), np.asarray(sy)], axis=-1).astype(np.float64)
    return out + shift.reshape(shift.shape[:1] + (1,) * (points.ndim - 2) + (2,))


def augment_originals(
    images: np.ndarray,
    locs: np.ndarray,
    seed: int,
    rot90: bool = True,
    vflip: bool = True,
    pixel_noise_sigma: float = DEFAULT_PIXEL_NOISE_SIGMA,
    pixel_shift_px: int = DEFAULT_PIXEL_SHIFT_PX,
    label_noise_sigma: float = DEFAULT_LABEL_NOISE_SIGMA,
    noise: bool = True,
    shift: bool = True,
    label_noise: bool = True,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Augment (n, 50, 50) uint8 originals with (n, 3, 2) (x, y) px labels.

    Returns `(images, locs, original_index)`: (n*v, 50, 50) uint8, (n*v, 3, 2) float32 and the
    (n*v,) index of each variant's original, v = `variants_per_original(...)` (64 with every
    factor on). Pixel noise sigma is in grey levels, shift in whole px (a shifted copy moves by
    -s..s on each axis, never by (0, 0)), label noise sigma in px per coordinate. Deterministic
    per seed; `augmentation_plan` gives the transform of every output frame. A sigma of 0 keeps
    its factor's x2 (the copies are then equal); switch the factor off to drop it.
    """
    images = np.asarray(images)
    locs = np.asarray(locs, dtype=np.float64)
    if images.ndim != 3 or images.shape[1:] != (FRAME_SIZE, FRAME_SIZE):
        raise ValueError(f"images must be (n, {FRAME_SIZE}, {FRAME_SIZE}), got {images.shape}")
    if locs.shape[0] != len(images) or locs.shape[-1] != 2 or locs.ndim != 3:
        raise ValueError(f"locs must be (n, keypoints, 2) matching images, got {locs.shape}")
    if pixel_noise_sigma < 0 or label_noise_sigma < 0:
        raise ValueError("noise sigmas must be >= 0")
    images = images.astype(np.uint8, copy=False)
    plan = augmentation_plan(
        len(images),
        seed,
        rot90=rot90,
        vflip=vflip,
        noise=noise,
        shift=shift,
        label_noise=label_noise,
        pixel_shift_px=pixel_shift_px,
    )
    n_out = len(plan["original_index"])
    size = FRAME_SIZE * FRAME_SIZE
    flat = images.reshape(len(images), size)
    out = np.empty((n_out, size), dtype=np.uint8)
    noise_rng = np.random.default_rng([seed, 1])
    for start in range(0, n_out, _BLOCK):
        sl = slice(start, min(start + _BLOCK, n_out))
        src = source_index(
            plan["k"][sl], plan["flip"][sl], plan["shift_x"][sl], plan["shift_y"][sl]
        )
        block = np.take_along_axis(flat[plan["original_index"][sl]], src, axis=1)
        noisy = np.flatnonzero(plan["pixel_noise"][sl])
        if len(noisy) and pixel_noise_sigma > 0:
            values = noise_rng.standard_normal((len(noisy), size), dtype=np.float32)
            values *= np.float32(pixel_noise_sigma)
            values += block[noisy]
            np.rint(values, out=values)
            np.clip(values, 0, 255, out=values)
            block[noisy] = values.astype(np.uint8)
        out[sl] = block
    out_locs = transform_points(
        locs[plan["original_index"]], plan["k"], plan["flip"], plan["shift_x"], plan["shift_y"]
    )
    noisy_labels = plan["label_noise"]
    if noisy_labels.any() and label_noise_sigma > 0:
        label_rng = np.random.default_rng([seed, 2])
        jitter = label_rng.standard_normal((int(noisy_labels.sum()),) + out_locs.shape[1:])
        out_locs[noisy_labels] += label_noise_sigma * jitter
    return (
        out.reshape(n_out, FRAME_SIZE, FRAME_SIZE),
        out_locs.astype(np.float32),
        plan["original_index"],
    )
