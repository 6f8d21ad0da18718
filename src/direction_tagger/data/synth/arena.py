"""A synthetic arena video: the synthetic rat walking on a textured floor, seen whole, as a
lab's camera would record it -- for testing the tracker and the video chain end to end.

The animal is the movie renderer's (behaviour.py, appearance.py), drawn on a plain floor at
50 x 50, enlarged `scale` times and laid over the arena as a difference to that floor. The
arena has a textured floor, a dark wall around it, a static object, a cable hanging from the
top of the picture to the animal's neck (a tether), lighting that drifts over the video, and
fresh sensor noise in every frame. Ground truth keypoints come back in video pixels.
"""

from __future__ import annotations

from dataclasses import replace

import numpy as np
from PIL import Image, ImageDraw

from .appearance import render, sample_appearance
from .behaviour import simulate
from .body import keypoints

NECK = 1  # keypoint order: base, neck, nose


def _floor(width: int, height: int, rng) -> np.ndarray:
    """Textured floor (H, W) float32: bedding grain and slow patches, a darker wall outside
    an inscribed circle, and a static dark object."""
    yy, xx = np.mgrid[0:height, 0:width].astype(np.float32)
    floor = np.full((height, width), 185.0, np.float32)
    for _ in range(12):
        k = rng.uniform(0.005, 0.25) * np.array([np.cos(a := rng.uniform(0, 2 * np.pi)), np.sin(a)])
        floor += rng.uniform(1.0, 5.0) * np.cos(k[0] * xx + k[1] * yy + rng.uniform(0, 2 * np.pi))
    cx, cy, r = width / 2, height / 2, 0.47 * min(width, height)
    floor -= 90.0 * np.clip((np.hypot(xx - cx, yy - cy) - r) / 3.0, 0.0, 1.0)
    ox, oy = cx + 0.55 * r, cy - 0.55 * r  # the static object: a dark disc (a bottle cap, a toy)
    floor -= 110.0 * np.clip(1.0 - (np.hypot(xx - ox, yy - oy) - 0.06 * r) / 1.5, 0.0, 1.0)
    return floor


def make_arena_video(
    n_frames: int,
    seed: int,
    *,
    width: int = 640,
    height: int = 480,
    fps: float = 30.0,
    scale: float = 2.0,
    drift: float = 0.12,
    noise: float = 2.0,
    tether: bool = True,
):
    """Frames of an arena video, made one at a time: yields (frame (H, W) uint8, keypoints
    (3, 2) video px). Lighting drifts by +-`drift` (relative) over the video."""
    rng = np.random.default_rng(seed)
    floor = _floor(width, height, rng)
    radius = 0.47 * min(width, height) / scale  # the arena's radius in 50-px units
    postures, offsets = simulate(n_frames, fps, rng, (20.0, 26.0), 2.0, 3.0, radius)
    look = sample_appearance(1, rng, "dark", (0.6, 0.6), (0.0, 0.0), 0.0, None)
    plain = 150.0
    look = replace(
        look,
        floor=np.array([plain]),
        contrast=np.array([120.0]),
        hood=np.array([1.0]),  # one colour: a hooded rat's light head on a light floor is
        ear=np.array([1.0]),  # measured without its head (see docs/videos.md)
        gradient=np.zeros((1, 2)),
        tex_amp=np.zeros_like(look.tex_amp),
    )
    size = round(50 * scale)
    hang = (width * 0.5, 0.0)
    for i in range(n_frames):
        p = postures.take(slice(i, i + 1))
        crop = render(p, look, rng).astype(np.float32) - plain  # the animal, as a difference
        big = np.asarray(Image.fromarray(crop[0], mode="F").resize((size, size), Image.BILINEAR))
        # arena px (crop offset + pixel) -> video px; place the enlarged crop on whole pixels
        corner = np.array([width / 2, height / 2]) + offsets[i] * scale + 0.5 - scale / 2
        left, top = np.round(corner).astype(int)
        kp = keypoints(p)[0] * scale + (scale - 1) / 2 + np.array([left, top])
        frame = floor.copy()
        rows = slice(max(top, 0), min(top + size, height))
        cols = slice(max(left, 0), min(left + size, width))
        frame[rows, cols] += big[
            rows.start - top : rows.stop - top, cols.start - left : cols.stop - left
        ]
        if tether:
            cable = Image.new("L", (width, height), 0)
            ImageDraw.Draw(cable).line(
                [hang, tuple(kp[NECK])], fill=255, width=max(1, round(scale))
            )
            frame -= 80.0 * np.asarray(cable, np.float32) / 255.0
        frame *= 1.0 + drift * np.sin(2 * np.pi * i / max(n_frames, 1))
        frame += rng.normal(0.0, noise, frame.shape).astype(np.float32)
        yield np.clip(np.rint(frame), 0, 255).astype(np.uint8), kp.astype(np.float32)


def write_arena_video(path, n_frames: int, seed: int, fps: float = 30.0, **options) -> np.ndarray:
    """Encode an arena video to `path` (H.264 .mp4); returns the keypoints (n, 3, 2) video px."""
    from ...movies.video_io import write_video

    width, height = options.get("width", 640), options.get("height", 480)
    frames = make_arena_video(n_frames, seed, fps=fps, **options)
    truth = np.empty((n_frames, 3, 2), np.float32)

    def draw(out, i):
        frame, truth[i] = next(frames)
        out[...] = frame[..., None]

    # ffmpeg's own RGB -> yuv420p conversion: the frames the tests were tuned on, to the bit
    write_video(path, n_frames, width, height, fps, draw, crf=18, progress=False, convert=False)
    return truth
