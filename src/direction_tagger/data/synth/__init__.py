"""Synthetic rats seen from above: labelled frames and continuous movies.

- body.py: the animal -- posture, keypoints (the labels) and the shapes that are drawn;
- appearance.py: its looks and the frames -- floor, texture, distractors, blur, noise;
- behaviour.py: how it moves in a movie.

Coordinates follow `direction_tagger.geometry`: (x, y) px, x = column, y = row, pixel centres
at integers, frame centre (24.5, 24.5).

Public API: `make_labelled_set` and `make_movie`. Everything is drawn from
`np.random.default_rng(seed)`, so the same seed and arguments give identical frames.
"""

from __future__ import annotations

import numpy as np

from ...checks import FPS_RANGE
from .appearance import render, sample_appearance
from .behaviour import simulate
from .body import keypoints, sample_postures

# Below this the simulation's step (a frame) is so long that the animal leaves the crop.
MIN_MOVIE_FPS = 0.5

__all__ = ["make_labelled_set", "make_movie"]


def make_labelled_set(
    n: int,
    seed: int,
    *,
    polarity: str = "random",
    length_range: tuple[float, float] = (14.0, 30.0),
    jitter: float = 3.0,
    margin: float = 2.0,
    blur_range: tuple[float, float] = (0.4, 1.3),
    noise_range: tuple[float, float] = (1.0, 8.0),
    distractor_prob: float = 0.15,
) -> tuple[np.ndarray, np.ndarray]:
    """Independent labelled frames of synthetic rats.

    Returns images (n, 50, 50) uint8 and locs (n, 3, 2) float32 (base, neck, nose; (x, y) px).
    Options: `polarity` 'random' | 'light' (light animal on dark floor) | 'dark';
    `length_range` nose-base path length (px); `jitter` max offset of the body centre from the
    frame centre (px); `margin` min distance of every label from the frame edge (px);
    `blur_range` gaussian sigma (px); `noise_range` sensor noise sigma (grey levels);
    `distractor_prob` chance of each distractor (2 blobs, a bright spot, a wall edge).
    """
    if n < 1:
        raise ValueError(f"need n >= 1 frames, got {n}")
    rng = np.random.default_rng(seed)
    p = sample_postures(n, rng, length_range, jitter, margin)
    app = sample_appearance(n, rng, polarity, blur_range, noise_range, distractor_prob)
    return render(p, app, rng), keypoints(p)


def make_movie(
    n_frames: int,
    seed: int,
    fps: float = 30.0,
    *,
    polarity: str = "random",
    length_range: tuple[float, float] = (14.0, 30.0),
    margin: float = 2.0,
    blur_range: tuple[float, float] = (0.4, 1.3),
    noise_range: tuple[float, float] = (1.0, 8.0),
    distractor_prob: float = 0.5,
    max_speed: float = 90.0,
    arena_radius: float | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """A continuous movie of one animal, cropped around it, with ground-truth labels.

    The animal walks along its heading, pauses and looks around, turns in place and now
    and then turns around (over ~0.5-1 s, curling its body). No keypoint moves more than
    `max_speed` / fps px between frames (3 px at 30 fps). The crop follows the animal, so
    its body centre drifts by ~1 px while the floor texture slides past as it walks.
    Look (polarity, floor, blur, noise level, arena wall and distractors) is fixed for the
    movie; sensor noise is fresh each frame. `arena_radius` (px) defaults to 80-160 at random;
    other options as in `make_labelled_set`. Returns images (n, 50, 50) uint8, locs (n, 3, 2).
    """
    if n_frames < 1 or not MIN_MOVIE_FPS <= fps <= FPS_RANGE[1]:
        raise ValueError(
            f"need n_frames >= 1 and fps {MIN_MOVIE_FPS:g} to {FPS_RANGE[1]:g}, got {n_frames} "
            f"and {fps}"
        )
    rng = np.random.default_rng(seed)
    arena_radius = float(rng.uniform(80.0, 160.0) if arena_radius is None else arena_radius)
    p, offset = simulate(n_frames, fps, rng, length_range, margin, max_speed / fps, arena_radius)
    app = sample_appearance(
        1, rng, polarity, blur_range, noise_range, distractor_prob, arena_radius
    )
    return render(p, app.repeat(n_frames), rng, offset), keypoints(p)
