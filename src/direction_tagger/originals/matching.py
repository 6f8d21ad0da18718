"""How augmented frames are compared when recovering their originals (recover.py).

- `estimate_noise_sigma`: per-frame pixel noise, from second differences;
- `descriptors` / `descriptor_variants`: shift- and noise-tolerant Fourier-magnitude
  descriptors, and those of a frame's dihedral versions, to find candidate copies cheaply;
- `exact_copies`: how many frames equal each frame up to rotation / flip (exact hashes);
- `Aligner`: the exact alignment of candidates to a reference frame, minimised over the 8
  dihedral transforms and whole-pixel shifts (one matrix product per reference);
- `matmul_t`, `blur`: the products and blur these run on, in blocks.

Frames are (N, 50, 50); positions (x, y) px with pixel centres at integers (see geometry.py).
"""

from __future__ import annotations

import numpy as np
import torch
from numpy.lib.stride_tricks import sliding_window_view
from scipy import ndimage

from ..dihedral import DIHEDRAL, dihedral_images
from ..geometry import CENTRE
from ..io import FRAME_SIZE

_FREQ = 6  # descriptor: Fourier magnitudes up to this many cycles per frame on each axis
_WINDOW_SIGMA = 10.0  # px, Gaussian window before the Fourier transform (keeps borders quiet)
_CHUNK = 4096


def blur(images: np.ndarray, sigma: float) -> np.ndarray:
    """Gaussian blur (sigma px, reflected borders) of every (H, W) frame, float32, in blocks."""
    out = np.empty(images.shape, dtype=np.float32)
    for s in range(0, len(images), _CHUNK):
        block = images[s : s + _CHUNK].astype(np.float32)
        out[s : s + _CHUNK] = ndimage.gaussian_filter(block, (0, sigma, sigma), mode="reflect")
    return out


def estimate_noise_sigma(images: np.ndarray) -> np.ndarray:
    """Per-frame Gaussian noise sigma in grey levels (Immerkaer 1996: the 3x3 filter
    [[1,-2,1],[-2,4,-2],[1,-2,1]], a product of two second differences, cancels smooth image
    content). Texture and the original's own sensor noise count too; fine for ranking."""
    out = np.empty(len(images), dtype=np.float64)
    h, w = images.shape[1:]
    for s in range(0, len(images), _CHUNK):
        x = images[s : s + _CHUNK].astype(np.float32)
        d = x[:, :-2] - 2.0 * x[:, 1:-1] + x[:, 2:]
        d = d[:, :, :-2] - 2.0 * d[:, :, 1:-1] + d[:, :, 2:]
        out[s : s + _CHUNK] = np.abs(d).sum(axis=(1, 2))
    return out * np.sqrt(np.pi / 2) / (6.0 * (h - 2) * (w - 2))


def descriptors(images: np.ndarray) -> np.ndarray:
    """(N, D) shift-tolerant descriptors: square roots of the low-frequency Fourier magnitudes
    (|u|, |v| <= _FREQ cycles per frame) of each frame, mean removed and under a wide Gaussian
    window. Magnitudes ignore where the content sits, so whole-pixel shifts barely change them;
    the square root keeps the strongest frequencies from drowning the rest. Rotating or
    flipping a frame rotates or flips this (2F+1, 2F+1) block about its centre (see
    `descriptor_variants`). Only these frequencies are computed (a DFT as two small matrix
    products), not the whole FFT; of the block (symmetric about its centre) the first half is
    kept, in row-major order."""
    n, h, w = images.shape
    yy, xx = np.mgrid[0:h, 0:w]
    window = np.exp(-((xx - CENTRE) ** 2 + (yy - CENTRE) ** 2) / (2 * _WINDOW_SIGMA**2))
    window = torch.from_numpy(window.astype(np.float32))
    freq = np.arange(-_FREQ, _FREQ + 1)
    ang_r = 2 * np.pi * np.outer(freq, np.arange(h)) / h  # (F, H)
    ang_c = 2 * np.pi * np.outer(freq, np.arange(w)) / w  # (F, W)
    cos_r, sin_r = (torch.from_numpy(f(ang_r).astype(np.float32)) for f in (np.cos, np.sin))
    cos_c, sin_c = (torch.from_numpy(f(ang_c).astype(np.float32)) for f in (np.cos, np.sin))
    half = (len(freq) ** 2 + 1) // 2  # |F(-u, -v)| = |F(u, v)|: the first half says it all
    out = np.empty((n, half), dtype=np.float32)
    for s in range(0, n, _CHUNK):
        x = torch.from_numpy(images[s : s + _CHUNK]).float()
        b = len(x)
        x = (x - x.mean(dim=(1, 2), keepdim=True)) * window
        # Cosine / sine sums along each row, then along each column: (B, F, F) with
        # rows = vertical frequency. Flattened to 2-D products (much faster than batched ones).
        pq = (x.reshape(b * h, w) @ torch.cat([cos_c, sin_c]).T).reshape(b, h, 2 * len(freq))
        pq = pq.transpose(1, 2).reshape(b * 2 * len(freq), h) @ torch.cat([cos_r, sin_r]).T
        pq = pq.reshape(b, 2, len(freq), 2, len(freq))  # (b, cos/sin col, v, cos/sin row, u)
        re = pq[:, 0, :, 0] - pq[:, 1, :, 1]
        im = pq[:, 0, :, 1] + pq[:, 1, :, 0]
        mag = torch.sqrt(torch.sqrt(re * re + im * im)).transpose(1, 2)  # (b, u, v)
        out[s : s + _CHUNK] = mag.reshape(b, -1)[:, :half].numpy()
    return out


def exact_copies(images: np.ndarray) -> np.ndarray:
    """(N,) how many frames (itself included) equal each frame up to rotation / flip.
    A frame's key: for each of its 8 dihedral versions, two dot products of the pixels with
    fixed random integer weights (< 2^33, so every float64 sum is an exact integer whatever the
    summation order), and the version whose first is smallest."""
    n, h, w = images.shape
    weights = np.random.default_rng(0).integers(0, 2**33, (2, h, w)).astype(np.float64)
    # the pixel at p of D_g(x) is x at D_g^-1(p): x . D_g(weights) hashes one of x's versions,
    # and over all 8 g, all of them
    table = np.stack(
        [dihedral_images(weights[j], k, f).reshape(-1) for j in (0, 1) for k, f in DIHEDRAL],
        axis=1,
    )
    keys = np.empty((n, 2))
    for s in range(0, n, _CHUNK):
        hashed = images[s : s + _CHUNK].reshape(-1, h * w).astype(np.float64) @ table
        first, second = hashed[:, :8], hashed[:, 8:]
        pick = np.argmin(first, axis=1)[:, None]
        keys[s : s + _CHUNK, 0] = np.take_along_axis(first, pick, axis=1)[:, 0]
        keys[s : s + _CHUNK, 1] = np.take_along_axis(second, pick, axis=1)[:, 0]
    _, inverse, counts = np.unique(keys, axis=0, return_inverse=True, return_counts=True)
    return counts[inverse.reshape(-1)]


def descriptor_variants(desc: np.ndarray) -> np.ndarray:
    """(4, D): the descriptors of the dihedral versions of a frame. A Fourier magnitude block
    does not change under a half turn, so quarter turns 0 and 1, with and without a flip,
    give all that differ (the block of rot90 is the block turned by -90, i.e. +90 then 180)."""
    side = 2 * _FREQ + 1
    half = len(desc)
    block = np.concatenate([desc, desc[: half - 1][::-1]]).reshape(side, side)
    return np.stack(
        [dihedral_images(block, k, f).reshape(-1)[:half] for f in (False, True) for k in (0, 1)]
    )


class Aligner:
    """Exact alignment of candidate frames to one reference frame: minimum over the 8 dihedral
    transforms and whole-px shifts |dx|, |dy| <= 2 * max_shift of the mean squared difference
    over the interior (a margin of 3 * max_shift keeps reflect-filled borders out)."""

    def __init__(self, max_shift_px: int, size: int = FRAME_SIZE):
        self.reach = 2 * max_shift_px
        self.margin = 3 * max_shift_px
        self.crop = size - 2 * self.margin
        if self.crop < 8:
            raise ValueError(f"max_shift_px={max_shift_px} leaves no interior to compare")
        span = np.arange(-self.reach, self.reach + 1)
        # Template order: dihedral index, then window row a, window column b.
        # Window (a, b) starts at (margin - reach + a, ...): shift dy = reach - a, dx = reach - b.
        self.dy = np.repeat(self.reach - np.arange(len(span)), len(span))
        self.dx = np.tile(self.reach - np.arange(len(span)), len(span))
        self.per_g = len(span) ** 2

    @staticmethod
    def versions(ref: np.ndarray) -> np.ndarray:
        return np.stack([dihedral_images(ref, k, f) for k, f in DIHEDRAL])

    def templates(self, ref: np.ndarray) -> np.ndarray:
        lo, hi = self.margin - self.reach, self.margin + self.reach + 1
        mats = []
        for k, f in DIHEDRAL:
            t = np.ascontiguousarray(dihedral_images(ref, k, f))
            win = sliding_window_view(t, (self.crop, self.crop))[lo:hi, lo:hi]
            mats.append(win.reshape(self.per_g, -1))
        return np.concatenate(mats) - np.float32(128.0)

    def windows(
        self, versions: np.ndarray, g: np.ndarray, dx: np.ndarray, dy: np.ndarray
    ) -> np.ndarray:
        """(B, crop*crop): rows of `templates` for given transforms, cut from the 8 dihedral
        `versions` (8, H, W) of the reference (or of its gradients) without building them all."""
        r = np.arange(self.crop)
        rows = (self.margin - dy)[:, None] + r[None, :]
        cols = (self.margin - dx)[:, None] + r[None, :]
        return versions[g[:, None, None], rows[:, :, None], cols[:, None, :]].reshape(len(g), -1)

    def interior(self, frames: np.ndarray) -> np.ndarray:
        m, c = self.margin, self.crop
        return frames[:, m : m + c, m : m + c].reshape(len(frames), -1) - np.float32(128.0)

    def align(self, tmpl: np.ndarray, tmpl_sq: np.ndarray, frames: np.ndarray):
        """Best (dihedral index, dx, dy, mse, template row) of each frame relative to the
        template's frame."""
        x = self.interior(frames)
        ssd = (x * x).sum(axis=1)[:, None] + tmpl_sq[None, :] - 2.0 * matmul_t(x, tmpl)
        best = np.argmin(ssd, axis=1)
        mse = np.maximum(ssd[np.arange(len(x)), best], 0.0) / x.shape[1]
        g, w = np.divmod(best, self.per_g)
        return g, self.dx[w], self.dy[w], mse, best


def matmul_t(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """a @ b.T through torch, whose thread count the caller controls (OpenBLAS threads in
    numpy cannot be set after import, and oversubscribed cores make it many times slower)."""
    return (
        torch.from_numpy(np.ascontiguousarray(a)) @ torch.from_numpy(np.ascontiguousarray(b)).T
    ).numpy()
