"""The original video, tagged: keypoints, skeleton and QC drawn on the full frame (`full`), or
on a close-up that follows the animal (`zoom`). Frames are read and written one at a time.

Same marks and colours as the crop movie's tagged video (movies/render.py): tail base blue,
neck white, nose magenta, each inside a ring coloured by its confidence (red -> yellow ->
green), doubtful points hollow; tail base -> neck orange, neck -> nose cyan; a thin grey
square is the crop the model saw; a flagged frame gets a red border and the flag names.
"""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np
from PIL import Image

from ..io import KEYPOINTS, DataError
from ..movies.colours import (
    BODY_COLOUR,
    FLAG_COLOUR,
    HEAD_COLOUR,
    KEYPOINT_COLOURS,
    confidence_colour,
)
from ..movies.draw import Strokes, disc_stencil, draw_stencil, draw_text, glyph_atlas
from ..movies.video_io import write_video
from .reader import VideoInfo, iter_frames

CROP_BOX_COLOUR = (170, 170, 170)
VIEWS = ("full", "zoom")


class VideoMarks:
    """What is drawn on each frame, in video pixels (arrays over frames)."""

    def __init__(self, locs, confidence, hollow, crops, sides, flags: dict[str, np.ndarray]):
        self.locs = np.asarray(locs, float)  # (M, 3, 2) video px
        self.ring_colours = confidence_colour(confidence)  # (M, 3, 3)
        self.hollow = np.asarray(hollow, bool)  # (M, 3)
        self.crops = np.asarray(crops, float)  # (M, 2) crop centres
        self.sides = np.asarray(sides, float)  # (M,)
        self.flags = flags

    def __len__(self):
        return len(self.locs)


def check_marks(marks: VideoMarks, info: VideoInfo, where) -> None:
    """Marks the video can show: crops with a finite centre and a side of at most twice the
    video's longer side, keypoints within a video's size of the frame (NaN: not drawn).
    Anything further is a damaged table, named by its first bad row."""
    reach = max(info.width, info.height)
    problems = (
        (~np.isfinite(marks.crops).all(axis=1), "crop centre", "a finite crop centre"),
        (
            ~((marks.sides > 0) & (marks.sides <= 2 * reach)),
            "crop side",
            f"a crop side of at most {2 * reach} px",
        ),
        (
            (np.abs(marks.locs - [info.width / 2, info.height / 2]) > 1.5 * reach).any(axis=(1, 2)),
            "keypoint",
            f"keypoints within {reach} px of the {info.width}x{info.height} frame",
        ),
    )
    for bad, what, expected in problems:
        if bad.any():
            row = int(np.flatnonzero(bad)[0])
            raise DataError(f"{where}: row {row + 1}: a {what} out of reach; expected {expected}")


def _to_view(points, edge, zoom):
    """Video (x, y) -> canvas (row, col), for a view whose top-left edge sits at video point
    `edge` (x, y), `zoom` canvas px per video px (pixel centres at integers in both)."""
    return ((np.asarray(points, float) - edge) * zoom - 0.5)[..., ::-1]


def _draw_marks(canvas, marks: VideoMarks, i: int, edge, zoom, unit: float):
    """Draw frame i's marks; `unit` ~ the animal's body length on the canvas / 10."""
    rc = _to_view(marks.locs[i], edge, zoom)
    finite = np.isfinite(rc).all(axis=1)
    width = max(1.0, 0.35 * unit)
    strokes = Strokes()
    half = marks.sides[i] / 2
    square = np.array([[-half, -half], [half, -half], [half, half], [-half, half]])
    corners = _to_view(marks.crops[i] + square, edge, zoom)
    for a in range(4):
        strokes.line(corners[a], corners[(a + 1) % 4], 1)
    strokes.blend(canvas, CROP_BOX_COLOUR)
    for (a, b), colour in (((0, 1), BODY_COLOUR), ((1, 2), HEAD_COLOUR)):
        if finite[a] and finite[b]:
            strokes.line(rc[a], rc[b], width + 1)
            strokes.blend(canvas, colour)
    ring = disc_stencil(1.3 * unit + 1.5, 0.9 * unit + 0.5)
    disc = disc_stencil(0.8 * unit + 0.5)
    hollow = disc_stencil(0.8 * unit + 0.5, 0.4 * unit)
    for k, name in enumerate(KEYPOINTS):
        if finite[k]:
            draw_stencil(canvas, rc[k, 0], rc[k, 1], ring, marks.ring_colours[i, k])
            stencil = hollow if marks.hollow[i, k] else disc
            draw_stencil(canvas, rc[k, 0], rc[k, 1], stencil, KEYPOINT_COLOURS[name])


def _draw_text(canvas, marks: VideoMarks, i: int, fps: float):
    h, w = canvas.shape[:2]
    px = max(10, min(h, w) // 32)
    _, _, ch = glyph_atlas(px)
    draw_text(canvas, 4, 4, f"frame {i}  {i / fps:.2f} s", px=px)
    raised = [name for name, flag in marks.flags.items() if flag[i]]
    if raised:
        b = max(2, min(h, w) // 100)
        for sl in (np.s_[:b], np.s_[-b:], np.s_[:, :b], np.s_[:, -b:]):
            canvas[sl] = FLAG_COLOUR
        draw_text(
            canvas,
            w - 4 - b,
            h - ch - 4 - b,
            "QC " + " ".join(raised),
            FLAG_COLOUR,
            px,
            anchor="right",
        )


def render_on_video(
    path,
    info: VideoInfo,
    marks: VideoMarks,
    view: str = "full",
    zoom_size: int = 400,
    zoom_context: float = 1.6,
    progress: bool = True,
) -> Path:
    """Render the tagged original video to `path` (.mp4, H.264) atomically.

    view "full": the whole frame at the video's own size; "zoom": a `zoom_size` square that
    follows the animal, showing `zoom_context` x the crop side around the crop centre."""
    if view not in VIEWS:
        raise ValueError(f"view must be one of {VIEWS}, got {view!r}")
    frames = iter_frames(info, keep=0)  # each frame is copied onto the canvas at once
    n = len(marks)
    if view == "full":
        width, height = info.width, info.height
    else:
        width = height = int(zoom_size)
    body = float(np.nanmedian(marks.sides)) / 2  # the crop is ~2 body lengths

    def draw(out, i):
        frame = next(frames, None)
        if frame is None:
            raise DataError(
                f"{info.path}: the video ended at frame {i}, but the predictions have {n} "
                "frames; were they made from this video?"
            )
        if view == "full":
            # grey to RGB: OpenCV's copy, 20x numpy's broadcast one (most of a frame's time)
            cv2.cvtColor(frame, cv2.COLOR_GRAY2RGB, dst=out)
            edge, zoom = np.array([-0.5, -0.5]), 1.0
        else:
            side = zoom_context * marks.sides[i]
            edge = marks.crops[i] - side / 2
            box = (*(edge + 0.5), *(edge + 0.5 + side))  # Pillow's box counts from pixel edges
            image = Image.fromarray(frame).resize(
                (width, height), Image.Resampling.BILINEAR, box=box
            )
            cv2.cvtColor(np.asarray(image), cv2.COLOR_GRAY2RGB, dst=out)
            zoom = width / side
        _draw_marks(out, marks, i, edge, zoom, zoom * body / 10)
        _draw_text(out, marks, i, info.fps)

    try:
        return write_video(
            path,
            n,
            width,
            height,
            info.fps,
            draw,
            progress=progress,
            desc=f"render {Path(path).name}",
        )
    finally:
        frames.close()
