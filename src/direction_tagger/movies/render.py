"""Tagged video: the movie with keypoints, skeleton, directions and QC drawn on every frame.

What a frame shows (colours are fixed so a lab can learn them once):

- the 50x50 frame upscaled ``scale`` times by pixel repetition (400x400 at the default x8),
  grey levels contrast-stretched once per movie (0.5th-99.5th percentile -> 0-255);
- one filled disc per keypoint in the keypoint's colour -- tail base **blue**, neck **white**,
  nose **magenta** -- inside a ring whose colour is the keypoint's confidence, running
  **red (0) -> yellow (0.5) -> green (1)**. A NaN position (e.g. a gap the smoother left
  open) is not drawn;
- the skeleton: tail base -> neck in **orange** with an arrowhead at its middle (the body
  direction), neck -> nose in **cyan** continued by a short cyan arrow beyond the nose
  (the head direction);
- a compass in the top-right corner with the body (orange) and head (cyan) direction arrows,
  and the two angles in degrees at the bottom-left (0 = right, 90 = up, counter-clockwise);
- the nose trail over the last ``trail`` frames, fading out with age;
- frame number and time (s) at the top-left;
- a QC-flagged frame gets a red border and the flag names at the bottom-right;
- with ``panel=True`` a side panel of the same height shows the body and head direction over
  time, scrolling (past to the left of the white "now" line, future dimmed to its right), and
  a strip with the flagged frames in red.

Drawing is numpy on uint8 RGB arrays: thick anti-aliased lines are rasterised vectorised,
arrow shapes (scikit-image polygon + line_aa) are cached per whole degree, shapes of one colour
are blended in one call, and text comes from a glyph atlas rendered once per process with
matplotlib's DejaVu Sans Mono (matplotlib is never called per frame). The video is H.264
(libx264 preset "superfast", CRF 20, yuv420p, the movie's fps) piped through imageio-ffmpeg
from a helper thread while the next frame is drawn, into a temporary ``.mp4`` beside the
target that is renamed onto it only when complete.
"""

from __future__ import annotations

import colorsys
import functools
import os
from collections.abc import Mapping
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np
from skimage.draw import line_aa, polygon

from ..geometry import angle_difference, body_direction, head_direction
from ..io import FRAME_SIZE, KEYPOINTS

# RGB colours (uint8 triples), see the module docstring.
KEYPOINT_COLOURS = {"base": (60, 130, 255), "neck": (250, 250, 250), "head": (255, 60, 210)}
BODY_COLOUR = (255, 160, 20)
HEAD_COLOUR = (0, 225, 225)
FLAG_COLOUR = (235, 35, 35)
TEXT_COLOUR = (240, 240, 240)
PANEL_BACKGROUND = (22, 22, 28)
TRACE_SECONDS = 6.0  # width of the side panel's time window
NOW_AT = 0.75  # where the "now" line sits across the panel (past on the left)


def confidence_colour(confidence) -> np.ndarray:
    """RGB uint8 for a confidence in [0, 1]: red (0) -> yellow (0.5) -> green (1); NaN = red."""
    c = np.clip(np.nan_to_num(np.asarray(confidence, dtype=np.float64), nan=0.0), 0.0, 1.0)
    hue = c * (1.0 / 3.0)  # 0 = red, 1/3 = green
    flat = np.array([colorsys.hsv_to_rgb(h, 0.9, 1.0) for h in hue.reshape(-1)])
    return (flat.reshape(*c.shape, 3) * 255 + 0.5).astype(np.uint8)


# --------------------------------------------------------------------------- text


@functools.lru_cache(maxsize=8)
def _glyph_atlas(px: int) -> tuple[dict[str, np.ndarray], int, int]:
    """Anti-aliased glyph masks (float32 in [0, 1]) for a monospace font of `px` pixels.

    Rendered once with matplotlib (Agg) into a strip of equal cells, then sliced; matplotlib is
    never called per frame.
    """
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure
    from matplotlib.font_manager import FontProperties

    chars = "".join(chr(c) for c in range(32, 127)) + "°"
    cell_w = int(np.ceil(0.61 * px)) + 1
    cell_h = int(np.ceil(1.25 * px))
    width = cell_w * len(chars)
    fig = Figure(figsize=(width / 72, cell_h / 72), dpi=72, facecolor="black")
    FigureCanvasAgg(fig)
    font = FontProperties(family="DejaVu Sans Mono", size=px)
    baseline = 0.27 * px / cell_h
    for i, ch in enumerate(chars):
        fig.text((i * cell_w + 0.5) / width, baseline, ch, fontproperties=font, color="white",
                 ha="left", va="baseline")
    fig.canvas.draw()
    strip = np.asarray(fig.canvas.buffer_rgba())[:, :, 0].astype(np.float32) / 255.0
    glyphs = {ch: strip[:, i * cell_w:(i + 1) * cell_w] for i, ch in enumerate(chars)}
    return glyphs, cell_w, cell_h


def _text_mask(text: str, px: int) -> np.ndarray:
    glyphs, cell_w, cell_h = _glyph_atlas(px)
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


def _blend_premultiplied(canvas, top, left, alpha, premult):
    """canvas[top:, left:] = canvas * (1 - alpha) + premult, clipped to the canvas.
    alpha: (h, w, 1) float32 coverage; premult: (h, w, 3) float32 colour * coverage."""
    h, w = alpha.shape[:2]
    H, W = canvas.shape[:2]
    t0, l0 = max(top, 0), max(left, 0)
    t1, l1 = min(top + h, H), min(left + w, W)
    if t0 >= t1 or l0 >= l1:
        return
    sl = np.s_[t0 - top:t1 - top, l0 - left:l1 - left]
    region = canvas[t0:t1, l0:l1]
    _store(region, region * (1.0 - alpha[sl]) + premult[sl])


def _blend_patch(canvas, top, left, alpha, colour):
    """Blend one colour into canvas[top:, left:] with (h, w) coverage `alpha`."""
    a = alpha[..., None]
    _blend_premultiplied(canvas, top, left, a, a * np.asarray(colour, np.float32))


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


class _Strokes:
    """Anti-aliased coverage of lines and triangles of one colour, blended together."""

    def __init__(self):
        self.parts = []

    def add(self, rr, cc, vv):
        self.parts.append((rr, cc, np.asarray(vv, np.float32)))

    def line(self, p0, p1, width=1, alpha=1.0):
        """Anti-aliased line between (row, col) endpoints, `width` px thick."""
        rr, cc, vv = _line_pixels(p0, p1, width)
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
        self.shape(start, _arrow_offsets(int(round(direction_deg)) % 360, float(length),
                                         float(width), float(head)))

    def blend(self, canvas, colour):
        if self.parts:
            rr, cc, vv = (np.concatenate(x) for x in zip(*self.parts))
            _blend_coverage(canvas, rr, cc, vv, colour)
        self.parts = []


def _line_pixels(p0, p1, width=1.0):
    """Pixels (rr, cc, coverage) of an anti-aliased line `width` px thick between (row, col)
    points. Stepping along the major axis, each step covers a span across the line whose
    ends get fractional coverage (vectorised; no per-pixel polygon tests)."""
    (r0, c0), (r1, c1) = p0, p1
    if not np.isfinite([r0, c0, r1, c1]).all():
        return np.zeros(0, int), np.zeros(0, int), np.zeros(0, np.float32)
    steep = abs(r1 - r0) > abs(c1 - c0)
    if steep:  # walk along rows instead of columns
        r0, c0, r1, c1 = c0, r0, c1, r1
    if c1 < c0:
        r0, c0, r1, c1 = r1, c1, r0, c0
    slope = (r1 - r0) / (c1 - c0) if c1 > c0 else 0.0
    cols = np.arange(int(np.round(c0)), int(np.round(c1)) + 1)
    centre = r0 + (cols - c0) * slope  # the line's row at each column
    half = 0.5 * max(width, 1.0) * np.sqrt(1.0 + slope * slope)  # vertical half-thickness
    reach = int(np.ceil(half)) + 1
    offsets = np.arange(-reach, reach + 1)
    rows = np.round(centre)[:, None].astype(int) + offsets  # (n, k)
    top, bottom = centre[:, None] - half, centre[:, None] + half
    cover = np.clip(np.minimum(rows + 0.5 - top, bottom - (rows - 0.5)), 0.0, 1.0)
    cover = np.minimum(cover, 1.0).astype(np.float32)
    cols = np.broadcast_to(cols[:, None], rows.shape)
    keep = cover > 0
    rr, cc, vv = rows[keep], cols[keep], cover[keep]
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
    shaft = _line_pixels((0.0, 0.0), end - d * head * 0.8, width)
    hr, hc, hv = _arrowhead_offsets(direction_deg, head)
    er, ec = int(round(end[0])), int(round(end[1]))
    return _concat([shaft, (hr + er, hc + ec, hv)])


@functools.lru_cache(maxsize=32)
def _disc_stencil(r_out: float, r_in: float = 0.0) -> np.ndarray:
    """Anti-aliased coverage of a disc (or ring when r_in > 0), centred in an odd square."""
    half = int(np.ceil(r_out)) + 1
    yy, xx = np.mgrid[-half:half + 1, -half:half + 1]
    d = np.hypot(yy, xx)
    cover = np.clip(r_out + 0.5 - d, 0.0, 1.0)
    if r_in > 0:
        cover = np.minimum(cover, np.clip(d - r_in + 0.5, 0.0, 1.0))
    return cover.astype(np.float32)


def _draw_stencil(canvas, row, col, stencil, colour, alpha=1.0):
    half = stencil.shape[0] // 2
    _blend_patch(canvas, int(round(row)) - half, int(round(col)) - half,
                 stencil * alpha if alpha != 1.0 else stencil, colour)


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
    inner = np.s_[pad:pad + h, pad:pad + w]
    # text over the box: a = m + 0.55 (1 - m), premult = m * colour (box is black)
    alpha[inner] = mask + 0.55 * (1.0 - mask)
    premult[inner] = mask * colour
    return alpha, premult


def _draw_text(canvas, x, y, text, colour=TEXT_COLOUR, px=12, box=True, anchor="left"):
    """Draw `text` with its top-left (or top-right, anchor="right") glyph cell at (x, y)."""
    alpha, premult = _text_patch(text, tuple(colour), px, box)
    pad = max(1, px // 4) if box else 0
    w = alpha.shape[1] - 2 * pad
    if anchor == "right":
        x -= w
    _blend_premultiplied(canvas, y - pad, x - pad, alpha, premult)
    return w, alpha.shape[0] - 2 * pad


# --------------------------------------------------------------------------- layout


class _Layout:
    """Everything that depends only on scale and the movie, computed once."""

    def __init__(self, images, locs, confidence, fps, flags_any, flag_names, scale, trail, panel):
        self.scale = s = int(scale)
        self.size = FRAME_SIZE * s
        self.trail = int(trail)
        self.fps = float(fps)
        self.flags_any = flags_any
        self.flag_names = flag_names
        self.text_px = max(9, int(round(1.5 * s)))
        lo, hi = np.percentile(images, [0.5, 99.5])
        hi = max(hi, lo + 1)
        grey = np.clip((np.arange(256) - lo) * 255.0 / (hi - lo), 0, 255).astype(np.uint8)
        self.lut_rgb = np.repeat(grey[:, None], 3, axis=1)  # (256, 3)
        # keypoints in upscaled (row, col): pixel centre x maps to (x + 0.5) * s - 0.5
        self.rc = (locs[..., ::-1].astype(np.float64) + 0.5) * s - 0.5  # (M, 3, 2)
        self.finite = np.isfinite(self.rc).all(axis=2)  # (M, 3)
        self.ring_colours = [tuple(int(v) for v in c)
                             for c in confidence_colour(confidence).reshape(-1, 3)]
        self.body_deg = body_direction(locs)
        self.head_deg = head_direction(locs)
        self.disc = _disc_stencil(0.6 * s)
        self.ring = _disc_stencil(0.6 * s + max(1.5, 0.3 * s), 0.6 * s)
        self.line_width = max(1.0, s / 4)  # px
        self.arrow_head = max(5.0, 1.4 * s)
        self.border = max(2, int(round(0.75 * s)))
        self.margin = max(3, s // 2)
        # compass (top-right): static translucent disc + ring, arrows per frame
        self.compass_r = 3.5 * s
        self.compass_centre = (self.compass_r + 0.6 * s, self.size - self.compass_r - 0.6 * s)
        bg = _disc_stencil(self.compass_r + 2) * 0.5
        ring = _disc_stencil(self.compass_r + 2, self.compass_r + 1.0) * 0.8
        a = (ring + bg * (1 - ring))[..., None]
        self.compass_patch = (a, ring[..., None] * np.float32(150))
        self.width = self.size * (2 if panel else 1)
        self.frame_buffer = np.empty((self.size, self.size, 3), np.uint8)
        self._trail_cache: dict[int, tuple] = {}
        self.panel = _Panel(self, fps, flags_any) if panel else None

    def trail_segment(self, k):
        """Pixels of the nose trail segment from frame k to k + 1 (cached: reused `trail` times)."""
        seg = self._trail_cache.get(k)
        if seg is None:
            if self.finite[k, 2] and self.finite[k + 1, 2]:
                seg = _line_pixels(self.rc[k, 2], self.rc[k + 1, 2], self.line_width * 1.25)
            else:
                seg = ()
            self._trail_cache[k] = seg
            self._trail_cache.pop(k - self.trail - 2, None)
        return seg


class _Panel:
    """Scrolling direction traces beside the frame; static parts drawn once."""

    def __init__(self, layout: _Layout, fps: float, flags_any):
        H = layout.size
        px = layout.text_px
        _, cw, ch = _glyph_atlas(px)
        self.height = H
        self.x0 = 4 * cw + 6
        self.x1 = H - 8
        self.plot_w = self.x1 - self.x0
        strip_h = max(6, ch // 2)
        # vertical stack: title, body plot, title, head plot, strip
        gap = ch + 6
        self.plot_h = (H - 2 * gap - 4 - 10 - strip_h - 8) // 2
        self.body_top = gap
        self.head_top = self.body_top + self.plot_h + gap + 4
        self.strip_top = self.head_top + self.plot_h + 10
        self.strip_h = strip_h
        window = max(10, int(round(TRACE_SECONDS * fps)))
        self.ppf = max(1, int(round(self.plot_w / window)))  # pixel columns per frame
        self.frames_shown = self.plot_w / self.ppf
        self.now_col = int(round(self.plot_w * NOW_AT))
        m = len(layout.body_deg)
        pad = self.plot_w + 2
        # One column value per `ppf` sub-step for the whole movie, padded with NaN either side,
        # so a frame's window is a slice. Values are rows inside the plot (0 = 360 deg at top).
        self.pad = pad
        self.body_rows = self._column_rows(layout.body_deg, pad)
        self.head_rows = self._column_rows(layout.head_deg, pad)
        flags = np.zeros(m, bool) if flags_any is None else flags_any
        self.flag_cols = np.concatenate([np.zeros(pad, bool), np.repeat(flags, self.ppf),
                                         np.zeros(pad, bool)])
        self.rows = np.arange(self.plot_h)[:, None]
        self.background = self._background(layout)

    def _column_rows(self, deg, pad):
        deg = np.asarray(deg, np.float64)
        m = len(deg)
        t = np.arange(m * self.ppf) / self.ppf
        i0 = np.minimum(t.astype(int), m - 1)
        i1 = np.minimum(i0 + 1, m - 1)
        w = t - i0
        step = angle_difference(deg[i1], deg[i0])
        # interpolate along the short way round; wrap into [0, 360)
        val = (deg[i0] + w * step) % 360.0
        rows = (360.0 - val) / 360.0 * (self.plot_h - 1)
        nan = np.full(pad, np.nan)
        return np.concatenate([nan, rows, nan])

    def _background(self, layout):
        H, W = self.height, self.height
        bg = np.empty((H, W, 3), np.float32)
        bg[:] = PANEL_BACKGROUND
        px = layout.text_px
        _, cw, ch = _glyph_atlas(px)
        for top, title, colour in ((self.body_top, "body direction (deg)", BODY_COLOUR),
                                   (self.head_top, "head direction (deg)", HEAD_COLOUR)):
            _draw_text(bg, self.x0, top - ch - 3, title, colour, px, box=False)
            area = bg[top:top + self.plot_h, self.x0:self.x1]
            area[:] = area * 0.6 + 0.4 * np.float32(12)
            for deg in (0, 90, 180, 270, 360):
                r = top + int(round((360 - deg) / 360 * (self.plot_h - 1)))
                bg[r, self.x0:self.x1] = (70, 70, 78) if deg % 180 else (95, 95, 105)
                _draw_text(bg, self.x0 - 4, r - ch // 2, str(deg), (170, 170, 170), px,
                           box=False, anchor="right")
            future = bg[top:top + self.plot_h, self.x0 + self.now_col + 1:self.x1]
            future *= 0.7
        _draw_text(bg, self.x0 - 4, self.strip_top + self.strip_h // 2 - ch // 2, "QC",
                   (170, 170, 170), px, box=False, anchor="right")
        bg[self.strip_top:self.strip_top + self.strip_h, self.x0:self.x1] = (40, 40, 46)
        seconds = self.frames_shown / layout.fps
        _draw_text(bg, self.x1, self.body_top - ch - 3, f"{seconds:.3g} s shown",
                   (150, 150, 150), px, box=False, anchor="right")
        return np.clip(bg, 0, 255).astype(np.uint8)

    def draw(self, out, frame):
        """Draw the panel for `frame` into `out` (H, H, 3) uint8."""
        out[...] = self.background
        start = self.pad + frame * self.ppf - self.now_col
        cols = slice(start, start + self.plot_w)
        for top, rows, colour in ((self.body_top, self.body_rows, BODY_COLOUR),
                                  (self.head_top, self.head_rows, HEAD_COLOUR)):
            y = rows[cols]
            prev = rows[start - 1:start - 1 + self.plot_w]
            # join consecutive columns with a vertical run, except across the 0/360 wrap
            joined = np.isfinite(prev) & (np.abs(prev - y) < self.plot_h / 2)
            lo = np.where(joined, np.minimum(prev, y), y) - 1.0
            hi = np.where(joined, np.maximum(prev, y), y) + 1.0
            mask = (self.rows >= np.floor(lo)) & (self.rows <= np.ceil(hi))  # NaN -> False
            area = out[top:top + self.plot_h, self.x0:self.x1]
            area[mask] = colour
            yn = y[self.now_col]
            if np.isfinite(yn):
                r0 = top + int(round(yn))
                c0 = self.x0 + self.now_col
                out[max(r0 - 3, top):r0 + 4, c0 - 3:c0 + 4] = colour  # the current value
        for top in (self.body_top, self.head_top):
            out[top:top + self.plot_h, self.x0 + self.now_col] = (255, 255, 255)
        flagged = self.flag_cols[cols]
        strip = out[self.strip_top:self.strip_top + self.strip_h, self.x0:self.x1]
        strip[:, flagged] = FLAG_COLOUR
        strip[:, self.now_col] = (255, 255, 255)

def _draw_frame(out, lay: _Layout, images, i):
    """Draw frame `i` into the left (size, size) part of `out` (uint8 RGB) in place."""
    s, S = lay.scale, lay.size
    # draw into a contiguous frame (flat indexing), copied into `out` when it is wider
    canvas = out if out.shape[1] == S else lay.frame_buffer
    row = np.repeat(lay.lut_rgb[images[i]], s, axis=1)  # (50, S, 3)
    canvas.reshape(FRAME_SIZE, s, S, 3)[...] = row[:, None]
    rc, finite = lay.rc[i], lay.finite[i]
    strokes = _Strokes()

    # nose trail: segments between consecutive past nose positions, older = fainter
    first = max(0, i - lay.trail)
    for k in range(first, i):
        seg = lay.trail_segment(k)
        if seg:
            age = i - k  # 1 = newest segment
            strokes.add(seg[0], seg[1], seg[2] * (0.9 * (1.0 - (age - 1) / lay.trail)))
    strokes.blend(canvas, KEYPOINT_COLOURS["head"])

    # skeleton with the direction arrows on the animal
    if finite[0] and finite[1]:
        strokes.line(rc[0], rc[1], lay.line_width + 1)
        body = np.radians(lay.body_deg[i])
        mid = (rc[0] + rc[1]) / 2 + np.array([-np.sin(body), np.cos(body)]) * lay.arrow_head / 2
        strokes.arrowhead(mid, lay.body_deg[i], lay.arrow_head)
        strokes.blend(canvas, BODY_COLOUR)
    if finite[1] and finite[2]:
        strokes.line(rc[1], rc[2], lay.line_width + 1)
        head = np.radians(lay.head_deg[i])
        start = rc[2] + np.array([-np.sin(head), np.cos(head)]) * 0.8 * s
        strokes.arrow(start, lay.head_deg[i], 2.6 * s, lay.line_width, lay.arrow_head)
        strokes.blend(canvas, HEAD_COLOUR)

    # keypoints: confidence ring, then the keypoint's own colour
    for k, name in enumerate(KEYPOINTS):
        if finite[k]:
            _draw_stencil(canvas, rc[k, 0], rc[k, 1], lay.ring, lay.ring_colours[3 * i + k])
            _draw_stencil(canvas, rc[k, 0], rc[k, 1], lay.disc, KEYPOINT_COLOURS[name])

    # compass (top-right)
    cr, cc = lay.compass_centre
    a, p = lay.compass_patch
    half = a.shape[0] // 2
    _blend_premultiplied(canvas, int(round(cr)) - half, int(round(cc)) - half, a, p)
    for deg, colour in ((lay.body_deg[i], BODY_COLOUR), (lay.head_deg[i], HEAD_COLOUR)):
        if np.isfinite(deg):
            strokes.arrow((cr, cc), deg, lay.compass_r - 1, lay.line_width, lay.arrow_head * 0.8)
            strokes.blend(canvas, colour)

    # text
    px, m = lay.text_px, lay.margin
    _, _, ch = _glyph_atlas(px)
    _draw_text(canvas, m + 2, m + 2, f"frame {i}", px=px)
    _draw_text(canvas, m + 2, m + ch + 6, f"{i / lay.fps:.2f} s", px=px)
    bottom = S - ch - m - 2
    body_txt = f"{lay.body_deg[i]:3.0f}°" if np.isfinite(lay.body_deg[i]) else "  -"
    head_txt = f"{lay.head_deg[i]:3.0f}°" if np.isfinite(lay.head_deg[i]) else "  -"
    _draw_text(canvas, m + 2, bottom - ch - 4, f"body {body_txt}", BODY_COLOUR, px)
    _draw_text(canvas, m + 2, bottom, f"head {head_txt}", HEAD_COLOUR, px)

    if lay.flags_any is not None and lay.flags_any[i]:
        b = lay.border
        for sl in (np.s_[:b], np.s_[-b:], np.s_[:, :b], np.s_[:, -b:]):
            canvas[sl] = FLAG_COLOUR
        names = [n for n, f in lay.flag_names.items() if f[i]] if lay.flag_names else []
        label = "QC " + " ".join(names) if names else "QC"
        _draw_text(canvas, S - m - b - 2, bottom, label, FLAG_COLOUR, px, anchor="right")
    if canvas is not out:
        out[:, :S] = canvas


def _check_inputs(images, locs, confidence, fps, flags, scale, trail):
    images = np.asarray(images)
    if images.ndim != 3 or images.shape[1:] != (FRAME_SIZE, FRAME_SIZE):
        raise ValueError(f"images have shape {images.shape}; expected (M, 50, 50)")
    m = len(images)
    if m == 0:
        raise ValueError("images hold no frames; expected at least one")
    locs = np.asarray(locs, np.float64)
    confidence = np.asarray(confidence, np.float64)
    if locs.shape != (m, len(KEYPOINTS), 2):
        raise ValueError(f"locs have shape {locs.shape}; expected ({m}, {len(KEYPOINTS)}, 2) "
                         f"to match {m} frames")
    if confidence.shape != (m, len(KEYPOINTS)):
        raise ValueError(f"confidence has shape {confidence.shape}; expected ({m}, "
                         f"{len(KEYPOINTS)}) to match {m} frames")
    fps = float(fps)
    if not np.isfinite(fps) or fps <= 0:
        raise ValueError(f"fps is {fps}; expected a positive number")
    if int(scale) != scale or scale < 1:
        raise ValueError(f"scale is {scale}; expected a positive integer")
    if int(trail) != trail or trail < 0:
        raise ValueError(f"trail is {trail}; expected a non-negative integer")
    flag_names = None
    if flags is None:
        flags_any = None
    elif isinstance(flags, Mapping):
        flag_names = {}
        for name, f in flags.items():
            f = np.asarray(f, bool)
            if f.shape != (m,):
                raise ValueError(f"flag '{name}' has shape {f.shape}; expected ({m},)")
            short = name.removeprefix("qc_")
            if short != "any":
                flag_names[short] = f
        flags_any = (np.any(list(flag_names.values()), axis=0) if flag_names
                     else np.zeros(m, bool))
    else:
        flags_any = np.asarray(flags, bool)
        if flags_any.shape != (m,):
            raise ValueError(f"flags have shape {flags_any.shape}; expected ({m},)")
    if images.dtype != np.uint8:
        images = np.clip(images, 0, 255).astype(np.uint8)
    return images, locs, confidence, fps, flags_any, flag_names


def render_video(path, images, locs, confidence, fps, flags=None, scale=8, trail=15,
                 panel=False, *, crf=20, preset="superfast", progress=True) -> Path:
    """Render the tagged video of a whole movie to `path` (.mp4, H.264, yuv420p) atomically.

    images: (M, 50, 50) uint8 frames; locs: (M, 3, 2) float (x, y) px in KEYPOINTS order
    (tail base, neck, nose), NaN = not drawn; confidence: (M, 3) in [0, 1]; fps: frames per
    second of the movie (and of the video). flags: None, a (M,) bool array, or a dict of
    name -> (M,) bool (e.g. from `qc.qc_flags`; names are shown, a `qc_` prefix dropped).
    scale: integer upscaling (frame side = 50 * scale px; x8 -> 400x400). trail: nose trail
    length in frames (0 = none). panel: add the scrolling direction-trace panel to the right
    (doubles the width). crf / preset: libx264 quality and speed.

    Raises ValueError (before anything is written) when the arrays disagree; if anything fails
    while encoding, no file is left at `path`.
    """
    import imageio_ffmpeg
    from tqdm import tqdm

    images, locs, confidence, fps, flags_any, flag_names = _check_inputs(
        images, locs, confidence, fps, flags, scale, trail)
    lay = _Layout(images, locs, confidence, fps, flags_any, flag_names, scale, trail, panel)
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    # ffmpeg picks the container from the suffix, so the temporary name keeps ".mp4".
    tmp = path.with_name(f".{path.stem}.tmp-{os.getpid()}.mp4")
    m = len(images)
    # Two frame buffers: one is drawn while a helper thread pipes the other to ffmpeg (the
    # pipe write releases the GIL, so drawing overlaps with waiting for the encoder).
    buffers = [np.empty((lay.size, lay.width, 3), np.uint8) for _ in range(2)]
    writer = imageio_ffmpeg.write_frames(
        str(tmp), (lay.width, lay.size), pix_fmt_in="rgb24", pix_fmt_out="yuv420p",
        fps=fps, codec="libx264", quality=None, macro_block_size=2,
        output_params=["-crf", str(crf), "-preset", preset, "-movflags", "+faststart"],
    )
    ok = False
    try:
        writer.send(None)
        with ThreadPoolExecutor(max_workers=1) as sender:
            pending = None
            for i in tqdm(range(m), total=m, desc=f"render {path.name}", unit="frame",
                          disable=not progress, mininterval=1.0):
                out = buffers[i % 2]  # its previous frame (i - 2) was sent: `pending` waited
                _draw_frame(out, lay, images, i)
                if lay.panel is not None:
                    lay.panel.draw(out[:, lay.size:], i)
                if pending is not None:
                    pending.result()  # re-raises a failed write
                pending = sender.submit(writer.send, out)
            if pending is not None:
                pending.result()
        ok = True
    finally:
        writer.close()  # waits for ffmpeg to finish the file
        if ok:
            os.replace(tmp, path)
        elif tmp.exists():
            tmp.unlink()
    return path


def read_video_frames(path) -> tuple[np.ndarray, float]:
    """Decode a video to (N, H, W, 3) uint8 RGB frames and its fps (for tests and reports)."""
    import imageio_ffmpeg

    reader = imageio_ffmpeg.read_frames(str(path), pix_fmt="rgb24")
    meta = reader.__next__()
    w, h = meta["size"]
    frames = [np.frombuffer(f, np.uint8).reshape(h, w, 3) for f in reader]
    return np.stack(frames) if frames else np.zeros((0, h, w, 3), np.uint8), float(meta["fps"])
