"""Tagged video: the movie with keypoints, skeleton, directions and QC drawn on every frame.

What a frame shows (colours are fixed so a lab can learn them once):

- the 50x50 frame upscaled ``scale`` times by pixel repetition (400x400 at the default x8),
  grey levels contrast-stretched once per movie (0.5th-99.5th percentile -> 0-255);
- one filled disc per keypoint in the keypoint's colour -- tail base **blue**, neck **white**,
  nose **magenta** -- inside a ring whose colour is the keypoint's confidence, running
  **red (0) -> yellow (0.5) -> green (1)** (the calibrated P(error <= 2 px) when the table
  has it). A doubtful point (`hollow`: calibrated P(within 2 px) below 0.5, or a raw
  prediction shown where the smoother left a gap) is drawn hollow, a ring in its colour
  around the image; a NaN position is not drawn (the smoother never leaves one);
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

Drawing is numpy on uint8 RGB arrays (draw.py; matplotlib is never called per frame). The
video is H.264 (libx264 preset "ultrafast" with CABAC, CRF 20, yuv420p, the movie's fps),
written atomically by video_io.py while the next frame is drawn.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

import numpy as np

from ..geometry import body_direction, head_direction
from ..io import FRAME_SIZE, KEYPOINTS
from ..movie_store import MovieFrames, percentiles_of_histogram
from .colours import (
    BODY_COLOUR,
    FLAG_COLOUR,
    HEAD_COLOUR,
    KEYPOINT_COLOURS,
    confidence_colour,
)
from .draw import (
    Strokes,
    blend_premultiplied,
    disc_stencil,
    draw_stencil,
    draw_text,
    glyph_atlas,
    line_pixels,
)
from .panel import Panel
from .video_io import (
    read_video_frames,  # noqa: F401  (re-exported: callers import it here)
    write_video,
)

# --------------------------------------------------------------------------- layout


class _Colours:
    """RGB tuples by index, kept as a (n, 3) uint8 array: 3 bytes a point where a list of
    tuples would take ~70 (200 MB for a million frames)."""

    def __init__(self, rgb):
        self.rgb = np.asarray(rgb).astype(np.uint8)

    def __getitem__(self, j):
        return tuple(int(v) for v in self.rgb[j])


def _grey_histogram(images) -> np.ndarray:
    """(256,) pixel count per grey level of an array of frames or a movie_store.MovieFrames."""
    if hasattr(images, "grey_histogram"):
        return images.grey_histogram()
    return np.bincount(np.asarray(images, np.uint8).reshape(-1), minlength=256)


class _Layout:
    """Everything that depends only on scale and the movie, computed once."""

    def __init__(
        self, images, locs, confidence, fps, flags_any, flag_names, scale, trail, panel, hollow
    ):
        self.scale = s = int(scale)
        self.hollow = np.zeros(locs.shape[:2], bool) if hollow is None else hollow
        self.size = FRAME_SIZE * s
        self.trail = int(trail)
        self.fps = float(fps)
        self.flags_any = flags_any
        self.flag_names = flag_names
        self.text_px = max(9, int(round(1.5 * s)))
        lo, hi = percentiles_of_histogram(_grey_histogram(images), [0.5, 99.5])
        hi = max(hi, lo + 1)
        grey = np.clip((np.arange(256) - lo) * 255.0 / (hi - lo), 0, 255).astype(np.uint8)
        self.lut_rgb = np.repeat(grey[:, None], 3, axis=1)  # (256, 3)
        # keypoints in upscaled (row, col): pixel centre x maps to (x + 0.5) * s - 0.5
        self.rc = (locs[..., ::-1].astype(np.float64) + 0.5) * s - 0.5  # (M, 3, 2)
        self.finite = np.isfinite(self.rc).all(axis=2)  # (M, 3)
        self.ring_colours = _Colours(
            np.concatenate(  # a chunk at a time: confidence_colour makes a tuple per point
                [confidence_colour(confidence[k : k + 65536]) for k in range(0, len(locs), 65536)]
            ).reshape(-1, 3)
        )
        self.body_deg = body_direction(locs)
        self.head_deg = head_direction(locs)
        self.disc = disc_stencil(0.6 * s)
        self.hollow_disc = disc_stencil(0.6 * s, 0.6 * s - max(1.5, 0.25 * s))
        self.ring = disc_stencil(0.6 * s + max(1.5, 0.3 * s), 0.6 * s)
        self.line_width = max(1.0, s / 4)  # px
        self.arrow_head = max(5.0, 1.4 * s)
        self.border = max(2, int(round(0.75 * s)))
        self.margin = max(3, s // 2)
        # compass (top-right): static translucent disc + ring, arrows per frame
        self.compass_r = 3.5 * s
        self.compass_centre = (self.compass_r + 0.6 * s, self.size - self.compass_r - 0.6 * s)
        bg = disc_stencil(self.compass_r + 2) * 0.5
        ring = disc_stencil(self.compass_r + 2, self.compass_r + 1.0) * 0.8
        a = (ring + bg * (1 - ring))[..., None]
        self.compass_patch = (a, ring[..., None] * np.float32(150))
        self.width = self.size * (2 if panel else 1)
        self.frame_buffer = np.empty((self.size, self.size, 3), np.uint8)
        self._trail_cache: dict[int, tuple] = {}
        self.panel = Panel(self, fps, flags_any) if panel else None

    def trail_segment(self, k):
        """Pixels of the nose trail segment from frame k to k + 1 (cached: reused `trail` times)."""
        seg = self._trail_cache.get(k)
        if seg is None:
            if self.finite[k, 2] and self.finite[k + 1, 2]:
                seg = line_pixels(self.rc[k, 2], self.rc[k + 1, 2], self.line_width * 1.25)
            else:
                seg = ()
            self._trail_cache[k] = seg
            self._trail_cache.pop(k - self.trail - 2, None)
        return seg


def _draw_frame(out, lay: _Layout, images, i):
    """Draw frame `i` into the left (size, size) part of `out` (uint8 RGB) in place."""
    s, S = lay.scale, lay.size
    # draw into a contiguous frame (flat indexing), copied into `out` when it is wider
    canvas = out if out.shape[1] == S else lay.frame_buffer
    row = np.repeat(lay.lut_rgb[images[i]], s, axis=1)  # (50, S, 3)
    canvas.reshape(FRAME_SIZE, s, S, 3)[...] = row[:, None]
    rc, finite = lay.rc[i], lay.finite[i]
    strokes = Strokes()

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
            draw_stencil(canvas, rc[k, 0], rc[k, 1], lay.ring, lay.ring_colours[3 * i + k])
            disc = lay.hollow_disc if lay.hollow[i, k] else lay.disc
            draw_stencil(canvas, rc[k, 0], rc[k, 1], disc, KEYPOINT_COLOURS[name])

    # compass (top-right)
    cr, cc = lay.compass_centre
    a, p = lay.compass_patch
    half = a.shape[0] // 2
    blend_premultiplied(canvas, int(round(cr)) - half, int(round(cc)) - half, a, p)
    for deg, colour in ((lay.body_deg[i], BODY_COLOUR), (lay.head_deg[i], HEAD_COLOUR)):
        if np.isfinite(deg):
            strokes.arrow((cr, cc), deg, lay.compass_r - 1, lay.line_width, lay.arrow_head * 0.8)
            strokes.blend(canvas, colour)

    # text
    px, m = lay.text_px, lay.margin
    _, _, ch = glyph_atlas(px)
    draw_text(canvas, m + 2, m + 2, f"frame {i}", px=px)
    draw_text(canvas, m + 2, m + ch + 6, f"{i / lay.fps:.2f} s", px=px)
    bottom = S - ch - m - 2
    body_txt = f"{lay.body_deg[i]:3.0f}°" if np.isfinite(lay.body_deg[i]) else "  -"
    head_txt = f"{lay.head_deg[i]:3.0f}°" if np.isfinite(lay.head_deg[i]) else "  -"
    draw_text(canvas, m + 2, bottom - ch - 4, f"body {body_txt}", BODY_COLOUR, px)
    draw_text(canvas, m + 2, bottom, f"head {head_txt}", HEAD_COLOUR, px)

    if lay.flags_any is not None and lay.flags_any[i]:
        b = lay.border
        for sl in (np.s_[:b], np.s_[-b:], np.s_[:, :b], np.s_[:, -b:]):
            canvas[sl] = FLAG_COLOUR
        names = [n for n, f in lay.flag_names.items() if f[i]] if lay.flag_names else []
        label = "QC " + " ".join(names) if names else "QC"
        draw_text(canvas, S - m - b - 2, bottom, label, FLAG_COLOUR, px, anchor="right")
    if canvas is not out:
        out[:, :S] = canvas


def _check_inputs(images, locs, confidence, fps, flags, scale, trail):
    if not isinstance(images, MovieFrames):  # frames on disk are read as they are drawn
        images = np.asarray(images)
        if images.ndim != 3 or images.shape[1:] != (FRAME_SIZE, FRAME_SIZE):
            raise ValueError(f"images have shape {images.shape}; expected (M, 50, 50)")
    m = len(images)
    if m == 0:
        raise ValueError("images hold no frames; expected at least one")
    locs = np.asarray(locs, np.float64)
    confidence = np.asarray(confidence, np.float64)
    if locs.shape != (m, len(KEYPOINTS), 2):
        raise ValueError(
            f"locs have shape {locs.shape}; expected ({m}, {len(KEYPOINTS)}, 2) to match {m} frames"
        )
    if confidence.shape != (m, len(KEYPOINTS)):
        raise ValueError(
            f"confidence has shape {confidence.shape}; expected ({m}, "
            f"{len(KEYPOINTS)}) to match {m} frames"
        )
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
        flags_any = np.any(list(flag_names.values()), axis=0) if flag_names else np.zeros(m, bool)
    else:
        flags_any = np.asarray(flags, bool)
        if flags_any.shape != (m,):
            raise ValueError(f"flags have shape {flags_any.shape}; expected ({m},)")
    if not isinstance(images, MovieFrames) and images.dtype != np.uint8:
        images = np.clip(images, 0, 255).astype(np.uint8)
    return images, locs, confidence, fps, flags_any, flag_names


def render_video(
    path,
    images,
    locs,
    confidence,
    fps,
    flags=None,
    scale=8,
    trail=15,
    panel=False,
    *,
    hollow=None,
    crf=20,
    preset="ultrafast",
    progress=True,
) -> Path:
    """Render the tagged video of a whole movie to `path` (.mp4, H.264, yuv420p) atomically.

    images: (M, 50, 50) uint8 frames, or a movie_store.MovieFrames (read a chunk at a time
    as they are drawn: memory does not grow with the movie's frames); locs: (M, 3, 2) float (x, y) px in KEYPOINTS order
    (tail base, neck, nose), NaN = not drawn; confidence: (M, 3) in [0, 1]; fps: frames per
    second of the movie (and of the video). flags: None, a (M,) bool array, or a dict of
    name -> (M,) bool (e.g. from `qc.qc_flags`; names are shown, a `qc_` prefix dropped).
    scale: integer upscaling (frame side = 50 * scale px; x8 -> 400x400). trail: nose trail
    length in frames (0 = none). panel: add the scrolling direction-trace panel to the right
    (doubles the width). hollow: None or (M, 3) bool, points drawn hollow (doubtful). crf /
    preset: libx264 quality and speed.

    Raises ValueError (before anything is written) when the arrays disagree; if anything fails
    while encoding, no file is left at `path`.
    """
    images, locs, confidence, fps, flags_any, flag_names = _check_inputs(
        images, locs, confidence, fps, flags, scale, trail
    )
    if hollow is not None:
        hollow = np.asarray(hollow, bool)
        if hollow.shape != locs.shape[:2]:
            raise ValueError(f"hollow has shape {hollow.shape}; expected {locs.shape[:2]}")
    lay = _Layout(images, locs, confidence, fps, flags_any, flag_names, scale, trail, panel, hollow)
    path = Path(path)

    def draw(out, i):
        _draw_frame(out, lay, images, i)
        if lay.panel is not None:
            lay.panel.draw(out[:, lay.size :], i)

    return write_video(
        path,
        len(images),
        lay.width,
        lay.size,
        fps,
        draw,
        crf=crf,
        preset=preset,
        progress=progress,
        desc=f"render {path.name}",
    )
