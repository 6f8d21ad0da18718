"""Raster drawing on uint8 RGB canvases, fast enough to tag a few hundred frames per second.

Thick anti-aliased lines are rasterised vectorised, arrow shapes (scikit-image polygon +
line_aa) are cached per whole degree, shapes of one colour are collected as anti-aliased
coverage (row, col, value) and blended in one call (`Strokes`), discs and rings are cached
stencils, and text comes from a glyph atlas rendered once per process with matplotlib's DejaVu
Sans Mono (matplotlib is never called per frame). Positions are (row, col) canvas px.
"""

from __future__ import annotations

import functools
import math

import numpy as np
from skimage.draw import line_aa, polygon

from ..figures import new_figure

TEXT_COLOUR = (240, 240, 240)  # RGB, the default for text


# --------------------------------------------------------------------------- text


@functools.lru_cache(maxsize=8)
def glyph_atlas(px: int) -> tuple[dict[str, np.ndarray], int, int]:
    """Anti-aliased glyph masks (float32 in [0, 1]) for a monospace font of `px` pixels.

    Rendered once with matplotlib (Agg) into a strip of equal cells, then sliced; matplotlib is
    never called per frame.
    """
    from matplotlib.font_manager import FontProperties

    chars = "".join(chr(c) for c in range(32, 127)) + "°"
    cell_w = int(np.ceil(0.61 * px)) + 1
    cell_h = int(np.ceil(1.25 * px))
    width = cell_w * len(chars)
    fig = new_figure(figsize=(width / 72, cell_h / 72), dpi=72, facecolor="black")
    font = FontProperties(family="DejaVu Sans Mono", size=px)
    baseline = 0.27 * px / cell_h
    for i, ch in enumerate(chars):
        fig.text(
            (i * cell_w + 0.5) / width,
            baseline,
            ch,
            fontproperties=font,
            color="white",
            ha="left",
            va="baseline",
        )
    fig.canvas.draw()
    strip = np.asarray(fig.canvas.buffer_rgba())[:, :, 0].astype(np.float32) / 255.0
    glyphs = {ch: strip[:, i * cell_w : (i + 1) * cell_w] for i, ch in enumerate(chars)}
    return glyphs, cell_w, cell_h


def _text_mask(text: str, px: int) -> np.ndarray:
    glyphs, cell_w, cell_h = glyph_atlas(px)
    if not text:
        return np.zeros((cell_h, 0), np.float32)
    return np.concatenate([glyphs.get(ch, glyphs["?"]) for ch in text], axis=1)


# --------------------------------------------------------------------------- drawing
# All drawing is on uint8 RGB canvases. Shapes are collected as anti-aliased coverage
# (row, col, value) and blended in one call per colour, which keeps the per-frame Python
# overhead small enough for a few hundred frames per second.


def _store(region, values):
    """Write float values back into a canvas region, rounding when the canvas is uint8."""
    if region.dtype == np.uint8:
        values += 0.5
    region[...] = values


def blend_premultiplied(canvas, top, left, alpha, premult):
    """canvas[top:, left:] = canvas * (1 - alpha) + premult, clipped to the canvas.
    alpha: (h, w, 1) float32 coverage; premult: (h, w, 3) float32 colour * coverage."""
    h, w = alpha.shape[:2]
    H, W = canvas.shape[:2]
    t0, l0 = max(top, 0), max(left, 0)
    t1, l1 = min(top + h, H), min(left + w, W)
    if t0 >= t1 or l0 >= l1:
        return
    sl = np.s_[t0 - top : t1 - top, l0 - left : l1 - left]
    region = canvas[t0:t1, l0:l1]
    _store(region, region * (1.0 - alpha[sl]) + premult[sl])


def _blend_patch(canvas, top, left, alpha, colour):
    """Blend one colour into canvas[top:, left:] with (h, w) coverage `alpha`."""
    a = alpha[..., None]
    blend_premultiplied(canvas, top, left, a, a * np.asarray(colour, np.float32))


def _blend_coverage(canvas, rr, cc, vv, colour):
    """Blend one colour at pixels (rr, cc) with coverage vv (clipped to the canvas).

    A pixel listed twice is blended once, with one of its coverages (overlapping strokes of
    one colour must not darken or double); `canvas` must be C-contiguous."""
    H, W = canvas.shape[:2]
    keep = (rr >= 0) & (rr < H) & (cc >= 0) & (cc < W)
    lin = (rr * W + cc)[keep]
    if lin.size == 0:
        return
    a = np.minimum(vv[keep], 1.0).astype(np.float32)[:, None]
    flat = canvas.reshape(-1, 3)
    px = np.take(flat, lin, axis=0).astype(np.float32)
    flat[lin] = px + (np.asarray(colour, np.float32) - px) * a + 0.5


class Strokes:
    """Anti-aliased coverage of lines and triangles of one colour, blended together."""

    def __init__(self):
        self.parts = []

    def add(self, rr, cc, vv):
        self.parts.append((rr, cc, np.asarray(vv, np.float32)))

    def line(self, p0, p1, width=1, alpha=1.0):
        """Anti-aliased line between (row, col) endpoints, `width` px thick."""
        rr, cc, vv = line_pixels(p0, p1, width)
        if rr.size:
            self.add(rr, cc, vv * alpha)

    def shape(self, origin, offsets):
        """Add cached pixel offsets (dr, dc, vv) placed at the rounded (row, col) `origin`."""
        dr, dc, vv = offsets
        self.parts.append((dr + int(round(origin[0])), dc + int(round(origin[1])), vv))

    def arrowhead(self, tip, direction_deg, size):
        """Filled triangle with its tip at (row, col) `tip`, pointing along screen angle
        `direction_deg` (0 = right, counter-clockwise as seen: 90 points up, -row)."""
        self.shape(tip, _arrowhead_offsets(int(round(direction_deg)) % 360, float(size)))

    def arrow(self, start, direction_deg, length, width, head):
        """Arrow from (row, col) `start` along `direction_deg`, `length` px, head `head` px."""
        self.shape(
            start,
            _arrow_offsets(
                int(round(direction_deg)) % 360, float(length), float(width), float(head)
            ),
        )

    def blend(self, canvas, colour):
        if self.parts:
            rr, cc, vv = (np.concatenate(x) for x in zip(*self.parts))
            _blend_coverage(canvas, rr, cc, vv, colour)
        self.parts = []


def line_pixels(p0, p1, width=1.0):
    """Pixels (rr, cc, coverage) of an anti-aliased line `width` px thick between (row, col)
    points. Stepping along the major axis, each step covers a span across the line whose
    ends get fractional coverage (vectorised; no per-pixel polygon tests). Scalars are
    Python floats: this runs a few times a frame, where numpy's per-call cost dominated."""
    r0, c0, r1, c1 = float(p0[0]), float(p0[1]), float(p1[0]), float(p1[1])
    if not all(map(math.isfinite, (r0, c0, r1, c1))):
        return np.zeros(0, int), np.zeros(0, int), np.zeros(0, np.float32)
    steep = abs(r1 - r0) > abs(c1 - c0)
    if steep:  # walk along rows instead of columns
        r0, c0, r1, c1 = c0, r0, c1, r1
    if c1 < c0:
        r0, c0, r1, c1 = r1, c1, r0, c0
    slope = (r1 - r0) / (c1 - c0) if c1 > c0 else 0.0
    cols = np.arange(round(c0), round(c1) + 1)
    centre = (r0 + (cols - c0) * slope)[:, None]  # the line's row at each column
    half = 0.5 * max(width, 1.0) * math.sqrt(1.0 + slope * slope)  # vertical half-thickness
    reach = math.ceil(half) + 1
    rows = np.round(centre).astype(int) + np.arange(-reach, reach + 1)  # (n, k)
    cover = np.minimum(rows + 0.5 - (centre - half), (centre + half) - (rows - 0.5))
    np.clip(cover, 0.0, 1.0, out=cover)
    along, across = np.nonzero(cover > 0)
    rr, cc, vv = rows[along, across], cols[along], cover[along, across].astype(np.float32)
    return (cc, rr, vv) if steep else (rr, cc, vv)


def _concat(parts):
    return tuple(np.concatenate(x) for x in zip(*parts))


@functools.lru_cache(maxsize=4096)
def _arrowhead_offsets(direction_deg: int, size: float):
    """Pixels (drow, dcol, coverage) of an arrowhead with its tip at (0, 0); cached per degree
    because arrows are redrawn every frame."""
    rad = np.radians(direction_deg)
    back = np.array([np.sin(rad), -np.cos(rad)])  # (row, col) backwards
    side = np.array([np.cos(rad), np.sin(rad)])
    base = back * size
    pts = np.array([(0.0, 0.0), base + side * size * 0.55, base - side * size * 0.55])
    lo = np.floor(pts.min(axis=0)).astype(int) - 1
    rr, cc = polygon(pts[:, 0] - lo[0], pts[:, 1] - lo[1])
    ends = np.round(pts).astype(int)
    parts = [line_aa(*ends[a], *ends[b]) for a, b in ((0, 1), (1, 2), (2, 0))]  # AA edges
    parts.append((rr + lo[0], cc + lo[1], np.ones(rr.size, np.float32)))  # fill wins
    return _concat(parts)


@functools.lru_cache(maxsize=4096)
def _arrow_offsets(direction_deg: int, length: float, width: float, head: float):
    """Pixels of an arrow starting at (0, 0): shaft plus head, cached per degree."""
    rad = np.radians(direction_deg)
    d = np.array([-np.sin(rad), np.cos(rad)])  # (row, col) forward
    end = d * length
    shaft = line_pixels((0.0, 0.0), end - d * head * 0.8, width)
    hr, hc, hv = _arrowhead_offsets(direction_deg, head)
    er, ec = int(round(end[0])), int(round(end[1]))
    return _concat([shaft, (hr + er, hc + ec, hv)])


@functools.lru_cache(maxsize=32)
def disc_stencil(r_out: float, r_in: float = 0.0) -> np.ndarray:
    """Anti-aliased coverage of a disc (or ring when r_in > 0), centred in an odd square."""
    half = int(np.ceil(r_out)) + 1
    yy, xx = np.mgrid[-half : half + 1, -half : half + 1]
    d = np.hypot(yy, xx)
    cover = np.clip(r_out + 0.5 - d, 0.0, 1.0)
    if r_in > 0:
        cover = np.minimum(cover, np.clip(d - r_in + 0.5, 0.0, 1.0))
    return cover.astype(np.float32)


def draw_stencil(canvas, row, col, stencil, colour, alpha=1.0):
    half = stencil.shape[0] // 2
    _blend_patch(
        canvas,
        int(round(row)) - half,
        int(round(col)) - half,
        stencil * alpha if alpha != 1.0 else stencil,
        colour,
    )


@functools.lru_cache(maxsize=1024)
def _text_patch(text, colour, px, box):
    """Premultiplied (alpha (h, w, 1), colour (h, w, 3)) patch of `text`, with a translucent
    black box behind it when `box`."""
    mask = _text_mask(text, px)[..., None]
    colour = np.asarray(colour, np.float32)
    if not box:
        return mask, mask * colour
    pad = max(1, px // 4)
    h, w = mask.shape[:2]
    alpha = np.full((h + 2 * pad, w + 2 * pad, 1), 0.55, np.float32)
    premult = np.zeros((h + 2 * pad, w + 2 * pad, 3), np.float32)
    inner = np.s_[pad : pad + h, pad : pad + w]
    # text over the box: a = m + 0.55 (1 - m), premult = m * colour (box is black)
    alpha[inner] = mask + 0.55 * (1.0 - mask)
    premult[inner] = mask * colour
    return alpha, premult


def draw_text(canvas, x, y, text, colour=TEXT_COLOUR, px=12, box=True, anchor="left"):
    """Draw `text` with its top-left (or top-right, anchor="right") glyph cell at (x, y)."""
    alpha, premult = _text_patch(text, tuple(colour), px, box)
    pad = max(1, px // 4) if box else 0
    w = alpha.shape[1] - 2 * pad
    if anchor == "right":
        x -= w
    blend_premultiplied(canvas, y - pad, x - pad, alpha, premult)
    return w, alpha.shape[0] - 2 * pad
