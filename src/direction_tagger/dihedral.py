"""The 8 dihedral transforms of a square frame (4 quarter turns x vertical flip), in one place.

A transform (k, flip) first flips the frame vertically when `flip` (rows reversed, y -> last - y),
then turns it k quarter turns counter-clockwise on screen (as `np.rot90`). Points are (x, y) px,
x = column, y = row, pixel centres at integers (see geometry.py), and `dihedral_points` moves a
point exactly as `dihedral_images` moves the pixel under it; `inverse_dihedral_points` undoes it.

`DIHEDRAL` lists the 8 (k, flip) pairs in the project's order; transform g is DIHEDRAL[g], so
g = 4 * flip + k (`dihedral_index`). Tables built from the transforms themselves, so they
cannot disagree with them: `index_maps` (flat source pixel of every output pixel), `matrices`
(the integer 2x2 matrix of each transform about the frame centre), and the group tables
`COMPOSE` and `INVERSE`.

Images and points may be numpy arrays or torch tensors (training and test-time augmentation
run on tensors); the result is of the same kind. This module never imports torch: a tensor
can only reach it once torch is loaded, and the numpy-only steps (their environments have no
torch) use it too.
"""

from __future__ import annotations

import sys

import numpy as np

from .io import FRAME_SIZE

DIHEDRAL = [(k, flip) for flip in (False, True) for k in range(4)]  # the 8 transforms


def _torch_of(x):
    """The torch module when `x` is a torch tensor, else None (never imports torch)."""
    torch = sys.modules.get("torch")
    return torch if torch is not None and isinstance(x, torch.Tensor) else None


def _stack_xy(x, y):
    torch = _torch_of(x)
    return torch.stack([x, y], dim=-1) if torch is not None else np.stack([x, y], axis=-1)


def dihedral_images(images, k: int, flip: bool):
    """Rotate (..., H, W) images by k*90 degrees counter-clockwise on screen, after an optional
    vertical flip (rows reversed). Matches `dihedral_points`."""
    torch = _torch_of(images)
    if torch is not None:
        out = images.flip(-2) if flip else images
        return torch.rot90(out, k, dims=(-2, -1))
    out = images[..., ::-1, :] if flip else images
    return np.rot90(out, k=k, axes=(-2, -1))


def dihedral_points(points, k: int, flip: bool, size: int = FRAME_SIZE):
    """Map (..., 2) (x, y) points exactly as `dihedral_images` maps pixels."""
    last = size - 1
    x, y = points[..., 0], points[..., 1]
    if flip:
        y = last - y
    for _ in range(k % 4):
        # np.rot90 (counter-clockwise): pixel (row r, col c) -> (row last-c, col r)
        x, y = y, last - x
    return _stack_xy(x, y)


def inverse_dihedral_points(points, k: int, flip: bool, size: int = FRAME_SIZE):
    """Undo `dihedral_points`: rotate back, then flip back. For test-time augmentation, maps
    points found on a transformed frame back to the original frame."""
    last = size - 1
    x, y = points[..., 0], points[..., 1]
    for _ in range(k % 4):
        x, y = last - y, x
    if flip:
        y = last - y
    return _stack_xy(x, y)


def dihedral_points_each(points: np.ndarray, k, flip, size: int = FRAME_SIZE) -> np.ndarray:
    """(B, ..., 2) points, those of frame b mapped by its own transform (k[b], flip[b])."""
    out = np.empty_like(points)
    k = np.asarray(k) % 4
    flip = np.asarray(flip, dtype=bool)
    for kk, f in DIHEDRAL:
        sel = (k == kk) & (flip == f)
        if sel.any():
            out[sel] = dihedral_points(points[sel], kk, f, size)
    return out


def dihedral_index(k, flip) -> np.ndarray:
    """Index g into DIHEDRAL of the transforms (k, flip) (arrays or scalars): 4 * flip + k % 4."""
    return 4 * np.asarray(flip, dtype=np.int64) + np.asarray(k, dtype=np.int64) % 4


def index_maps(size: int = FRAME_SIZE) -> np.ndarray:
    """(8, size*size) int: flat source pixel of every output pixel of each transform, DIHEDRAL
    order, so `image.reshape(-1)[maps[g]]` is transform g of `image`. Built with
    `dihedral_images` itself, so it is exact by construction."""
    idx = np.arange(size * size).reshape(size, size)
    return np.stack([dihedral_images(idx, k, f).reshape(-1) for k, f in DIHEDRAL])


def matrices(size: int = FRAME_SIZE) -> np.ndarray:
    """(8, 2, 2) int64 A, DIHEDRAL order, with dihedral_points(p, k, flip, size) =
    A @ (p - c) + c about the frame centre c = ((size - 1) / 2, (size - 1) / 2)."""
    c = np.array([(size - 1) / 2.0] * 2)
    basis = np.array([c + (1.0, 0.0), c + (0.0, 1.0)])
    mats = []
    for k, flip in DIHEDRAL:
        image = dihedral_points(basis, k, flip, size) - c  # rows: images of e_x, e_y
        mats.append(np.rint(image.T).astype(np.int64))
    return np.stack(mats)


MATRICES = matrices()
_MAT_INDEX = {tuple(m.reshape(-1)): i for i, m in enumerate(MATRICES)}
COMPOSE = np.array(
    [
        [_MAT_INDEX[tuple((MATRICES[a] @ MATRICES[b]).reshape(-1))] for b in range(8)]
        for a in range(8)
    ]
)  # COMPOSE[a, b]: transform b first, then a
INVERSE = np.array([_MAT_INDEX[tuple(MATRICES[a].T.reshape(-1))] for a in range(8)])
