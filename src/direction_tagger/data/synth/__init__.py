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
from .appearance import render, sample_appearance, widen_appearance
from .behaviour import simulate
from .body import builds, keypoints, sample_postures

# Below this the simulation's step (a frame) is so long that the animal leaves the crop.
MIN_MOVIE_FPS = 0.5

SPECIES = ("rat", "mouse", "mixed")
VARIETIES = ("standard", "wide")
# What `variety="wide"` changes besides the looks (`appearance.widen_appearance`): animals from
# small mice to large rats, sharp to blurred, clean to noisy, distractors more often.
WIDE = {
    "length_range": (12.0, 36.0),
    "blur_range": (0.3, 1.8),
    "noise_range": (0.5, 14.0),
    "distractor_prob": 0.25,
}

__all__ = ["make_labelled_set", "make_movie", "make_pretraining_set"]


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
    species: str = "rat",
    variety: str = "standard",
) -> tuple[np.ndarray, np.ndarray]:
    """Independent labelled frames of synthetic rats (or mice).

    Returns images (n, 50, 50) uint8 and locs (n, 3, 2) float32 (base, neck, nose; (x, y) px).
    Options: `polarity` 'random' | 'light' (light animal on dark floor) | 'dark';
    `length_range` nose-base path length (px); `jitter` max offset of the body centre from the
    frame centre (px); `margin` min distance of every label from the frame edge (px);
    `blur_range` gaussian sigma (px); `noise_range` sensor noise sigma (grey levels);
    `distractor_prob` chance of each distractor (2 blobs, a bright spot, a wall edge);
    `species` 'rat' | 'mouse' (larger head and ears, rounder body) | 'mixed' (each frame
    either, at even odds); `variety` 'standard' | 'wide' (looks varied as widely as real rigs
    vary: `appearance.widen_appearance`; the length, blur and noise ranges and distractor
    chance given are then widened to at least `WIDE`'s). 'rat' + 'standard' gives the
    renderer's original frames, unchanged.
    """
    if n < 1:
        raise ValueError(f"need n >= 1 frames, got {n}")
    if species not in SPECIES or variety not in VARIETIES:
        raise ValueError(
            f"species must be one of {SPECIES} and variety one of {VARIETIES}; got "
            f"{species!r}, {variety!r}"
        )
    rng = np.random.default_rng(seed)
    if variety == "wide":
        length_range = _widest(length_range, WIDE["length_range"])
        blur_range = _widest(blur_range, WIDE["blur_range"])
        noise_range = _widest(noise_range, WIDE["noise_range"])
        distractor_prob = max(distractor_prob, WIDE["distractor_prob"])
    if species == "rat":
        mouse = np.zeros(n, dtype=bool)
    else:
        mouse = np.ones(n, dtype=bool) if species == "mouse" else rng.random(n) < 0.5
    build = None if species == "rat" else builds(np.where(mouse, "mouse", "rat"))
    p = sample_postures(n, rng, length_range, jitter, margin, build)
    app = sample_appearance(n, rng, polarity, blur_range, noise_range, distractor_prob)
    if variety == "wide":
        app = widen_appearance(app, rng, mouse, noise_range)
    elif species != "rat":
        app.ear_size = np.where(mouse, 0.5, app.ear_size)  # a mouse's larger ears
    return render(p, app, rng), keypoints(p)


def _widest(given: tuple[float, float], wide: tuple[float, float]) -> tuple[float, float]:
    return min(given[0], wide[0]), max(given[1], wide[1])


def make_pretraining_set(n: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """What the pretrained start model learns from: rats and mice in even shares, both
    polarities, looks, sizes, tails and lighting varied widely (`variety='wide'`)."""
    return make_labelled_set(n, seed, polarity="random", species="mixed", variety="wide")


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
