"""Which frames to label next: likely wrong, and unlike each other and the labelled set.

Pure numpy functions over a movie's predictions table and its 50 x 50 crops.

Doubt of a frame (`frame_doubt`), a probability-like score in [0, 1]:

    1 - P(every point within 2 px) x P(head and tail the right way round)

from the calibrated `<kp>_p_within_2px` columns and `polarity_certainty` that the smoothed
table holds (the model's confidence where it is not calibrated), raised by `FLAG_WEIGHT` for a
frame QC flagged (`qc_any`): a flag (a jump, a swap, a skeleton out of range, the tracker lost)
is evidence the calibration does not see.

Diversity (`choose`): greedy, each pick the candidate with the largest doubt x distance, the
distance to the nearest frame already chosen or labelled. Frames are compared by appearance
(`appearance`: the crop shrunk to 10 x 10, each frame normalised to zero mean and unit norm, so
brightness and contrast do not count) and by time: a frame of another movie is a whole unit
away in time, one of the same movie min(|dt| / `time_scale_s`, 1); the distance is their sum,
appearance as min(d / `APPEARANCE_SCALE`, 1), so both terms run 0 to 1 (0.75 is about the
median distance between frames of one animal in one arena: 0.77 on the XMWell mice, 0.79 over
a synthetic movie, where consecutive frames are 0.09 apart). Labelled frames have no time:
their appearance alone spans the whole range (2 x the appearance term), so a doubtful frame
that looks like one already labelled is worth little. Twenty frames of one flagged run are thus never picked: after the
first, its neighbours are near in time and alike.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from ..io import FRAME_SIZE, KEYPOINTS

FLAG_WEIGHT = 0.5  # a QC-flagged frame's doubt moves this share of the way to 1
EMBED_SIDE = 10  # appearance is compared on crops shrunk to this side (5 x 5 px blocks)
APPEARANCE_SCALE = 0.75  # embedding distance that counts as "looks different"
TIME_SCALE_S = 2.0  # frames this far apart in one movie count as far apart in time
POOL_PER_FRAME = 25  # the most doubtful frames considered: this many per frame to choose


def frame_doubt(table: pd.DataFrame) -> np.ndarray:
    """(M,) doubt in [0, 1] of each frame of a smoothed predictions table (module docstring)."""
    cols = [f"{k}_p_within_2px" for k in KEYPOINTS]
    if not all(c in table.columns for c in cols):
        cols = [f"{k}_confidence" for k in KEYPOINTS]  # an uncalibrated model's own say
    right = np.nan_to_num(table[cols].to_numpy(np.float64), nan=0.0).clip(0, 1).prod(axis=1)
    if "polarity_certainty" in table.columns:
        certainty = table["polarity_certainty"].to_numpy(np.float64)
        right *= np.nan_to_num(certainty, nan=0.5).clip(0, 1)
    doubt = 1.0 - right
    if "qc_any" in table.columns:
        flagged = table["qc_any"].fillna(False).to_numpy(bool)
        doubt = np.where(flagged, doubt + FLAG_WEIGHT * (1.0 - doubt), doubt)
    return doubt


def doubt_reasons(table: pd.DataFrame, row: int) -> str:
    """The QC flags set on one row, as text ('' when none)."""
    flags = [
        c.removeprefix("qc_")
        for c in table.columns
        if c.startswith("qc_") and c != "qc_any" and bool(table[c].fillna(False).iloc[row])
    ]
    return " ".join(flags)


def appearance(images: np.ndarray) -> np.ndarray:
    """(N, 50, 50) uint8 crops -> (N, 100) float32 embeddings: 5 x 5 block means, each frame
    zero mean and unit norm (a flat frame stays all zero)."""
    images = np.asarray(images, np.float32)
    block = FRAME_SIZE // EMBED_SIDE
    small = images.reshape(len(images), EMBED_SIDE, block, EMBED_SIDE, block).mean(axis=(2, 4))
    flat = small.reshape(len(images), -1)
    flat -= flat.mean(axis=1, keepdims=True)
    norm = np.linalg.norm(flat, axis=1, keepdims=True)
    return np.divide(flat, norm, out=np.zeros_like(flat), where=norm > 0)


def _pairwise(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Euclidean distances (len(a), len(b)) between embeddings."""
    d2 = (a * a).sum(1)[:, None] + (b * b).sum(1)[None, :] - 2.0 * a @ b.T
    return np.sqrt(np.clip(d2, 0.0, None))


def candidate_pool(doubt: np.ndarray, count: int) -> np.ndarray:
    """Indices of the `POOL_PER_FRAME * count` most doubtful frames (ties: earlier first)."""
    size = min(len(doubt), max(POOL_PER_FRAME * count, count))
    return np.argsort(-np.asarray(doubt), kind="stable")[:size]


def choose(
    doubt: np.ndarray,
    embedding: np.ndarray,
    movie: np.ndarray,
    time_s: np.ndarray,
    count: int,
    labelled: np.ndarray | None = None,
    time_scale_s: float = TIME_SCALE_S,
) -> np.ndarray:
    """Indices of `count` frames, in the order they were picked (module docstring).

    doubt (N,) in [0, 1]; embedding (N, D) from `appearance`; movie (N,) a movie id per frame;
    time_s (N,) seconds in its movie; labelled (L, D) embeddings of frames already labelled.
    """
    doubt = np.asarray(doubt, np.float64)
    n = len(doubt)
    count = min(int(count), n)
    if count <= 0:
        return np.zeros(0, int)
    embedding = np.asarray(embedding, np.float32)
    movie, time_s = np.asarray(movie), np.asarray(time_s, np.float64)

    def looks(other: np.ndarray) -> np.ndarray:  # (n, len(other)) appearance term in [0, 1]
        return np.minimum(_pairwise(embedding, other) / APPEARANCE_SCALE, 1.0)

    # distance to the nearest frame chosen or labelled; before any, the most there is (2)
    nearest = np.full(n, 2.0)
    if labelled is not None and len(labelled):
        for start in range(0, len(labelled), 2048):
            block = looks(np.asarray(labelled[start : start + 2048], np.float32))
            nearest = np.minimum(nearest, 2.0 * block.min(axis=1))
    # a tiny weight on doubt alone breaks ties when every distance is zero (all alike)
    score_floor = 1e-6 * doubt
    chosen: list[int] = []
    taken = np.zeros(n, bool)
    for _ in range(count):
        score = np.where(taken, -np.inf, doubt * nearest + score_floor)
        pick = int(np.argmax(score))
        chosen.append(pick)
        taken[pick] = True
        look = looks(embedding[pick : pick + 1])[:, 0]
        same = movie == movie[pick]
        apart = np.where(same, np.minimum(np.abs(time_s - time_s[pick]) / time_scale_s, 1.0), 1.0)
        nearest = np.minimum(nearest, look + apart)
    return np.array(chosen, int)


# --- doubtful AND representative (issue #25's measurement: see docs/refine.md) -------------

METHOD = "representative"  # or "greedy": doubt x distance, the first version
POSE_WEIGHT = 3.0  # pose shape x this: its median distance then matches appearance's (XMWell)
TYPICAL_NEIGHBOURS = 5  # typicality: how close a frame's 5 nearest candidates are


def pose_shape(locs: np.ndarray) -> np.ndarray:
    """(N, 3, 2) points px (tail base, neck, nose) -> (N, 3) the pose, whatever the animal's
    position, heading and side: the nose ahead of the neck along the body and off to the side
    (either side: a mirror image is the same pose to a model trained with flips), both in body
    lengths (tail base to neck), and the body length over the median of these frames. A frame
    without a finite body axis gets the median pose."""
    locs = np.asarray(locs, np.float64)
    body = locs[:, 1] - locs[:, 0]
    length = np.hypot(body[:, 0], body[:, 1])
    ok = np.isfinite(length) & (length > 1e-6) & np.isfinite(locs[:, 2]).all(axis=1)
    out = np.full((len(locs), 3), np.nan)
    if ok.any():
        u = body[ok] / length[ok, None]
        head = locs[ok, 2] - locs[ok, 1]
        out[ok, 0] = (head * u).sum(axis=1) / length[ok]
        out[ok, 1] = np.abs(head[:, 0] * u[:, 1] - head[:, 1] * u[:, 0]) / length[ok]
        out[ok, 2] = length[ok] / np.median(length[ok])
    fill = np.where(ok.any(), np.nanmedian(np.where(ok[:, None], out, np.nan), axis=0), 0.0)
    return np.where(ok[:, None], out, fill).astype(np.float32)


def features(images: np.ndarray, locs: np.ndarray) -> np.ndarray:
    """(N, 50, 50) crops and (N, 3, 2) points -> (N, 103) what a frame is like: `appearance`
    and `pose_shape` x POSE_WEIGHT (the points: the model's, or a labelled frame's labels)."""
    return np.concatenate([appearance(images), POSE_WEIGHT * pose_shape(locs)], axis=1)


def _nearest(a: np.ndarray, b: np.ndarray, k: int = 1, skip_self: bool = False) -> np.ndarray:
    """(len(a),) mean distance of each row of a to its k nearest rows of b, in blocks (a
    run's candidates can be thousands). skip_self: a and b are the same rows."""
    out = np.empty(len(a))
    for start in range(0, len(a), 1024):
        d = _pairwise(a[start : start + 1024], b)
        if skip_self:
            rows = np.arange(len(d))
            d[rows, start + rows] = np.inf
        out[start : start + 1024] = np.sort(d, axis=1)[:, :k].mean(axis=1)
    return out


def typicality(embedding: np.ndarray) -> np.ndarray:
    """(N,) in (0, 1]: how many frames look like this one -- the mean distance to its
    TYPICAL_NEIGHBOURS nearest frames against the median of that over all frames (capped at
    1). An odd frame (a one-off reflection, an animal half out of the crop) is far from its
    nearest and scores low; one of a recurring pose in a recurring place scores 1."""
    embedding = np.asarray(embedding, np.float32)
    if len(embedding) <= TYPICAL_NEIGHBOURS:
        return np.ones(len(embedding))
    near = _nearest(embedding, embedding, TYPICAL_NEIGHBOURS, skip_self=True)
    return np.minimum(np.median(near) / np.maximum(near, 1e-9), 1.0)


def novelty(embedding: np.ndarray, labelled: np.ndarray) -> np.ndarray:
    """(N,) in [0, 1]: the distance to the nearest labelled frame over the median distance
    between frames (a sample of 2,000), capped at 1: a frame like one already labelled is
    worth little."""
    embedding = np.asarray(embedding, np.float32)
    sample = embedding[np.random.default_rng(0).permutation(len(embedding))[:2000]]
    typical = np.median(_pairwise(sample, sample)[np.triu_indices(len(sample), 1)])
    nearest = _nearest(embedding, np.asarray(labelled, np.float32))
    return np.minimum(nearest / max(float(typical), 1e-9), 1.0)


def kmeans(x: np.ndarray, k: int, seed: int = 0, rounds: int = 100) -> np.ndarray:
    """(N,) cluster of each row of x, k clusters (k-means++ start, fixed seed: the same
    frames give the same clusters)."""
    x = np.asarray(x, np.float64)
    rng = np.random.default_rng(seed)
    centres = [x[rng.integers(len(x))]]
    d2 = ((x - centres[0]) ** 2).sum(axis=1)
    for _ in range(1, k):
        total = d2.sum()
        pick = rng.choice(len(x), p=d2 / total) if total > 0 else rng.integers(len(x))
        centres.append(x[pick])
        d2 = np.minimum(d2, ((x - x[pick]) ** 2).sum(axis=1))
    centres = np.array(centres)
    label = np.zeros(len(x), int)
    for _ in range(rounds):
        dist = (x * x).sum(1)[:, None] + (centres**2).sum(1)[None] - 2 * x @ centres.T
        label = dist.argmin(axis=1)
        moved = np.array(
            [x[label == j].mean(axis=0) if (label == j).any() else centres[j] for j in range(k)]
        )
        if np.allclose(moved, centres):
            break
        centres = moved
    return label


TYPICAL_POWER = 1.0  # worth = doubt x typicality ** this (0: doubt alone within a group)
NOVELTY = True  # worth also x novelty (unlike the labelled frames)
CLUSTERS_PER_FRAME = 2  # look-alike groups per frame wanted; the most doubt-laden are used


def choose_representative(
    doubt: np.ndarray, embedding: np.ndarray, count: int, labelled: np.ndarray | None = None
) -> np.ndarray:
    """Indices of `count` frames, most worth first. The candidates are split into
    CLUSTERS_PER_FRAME x `count` groups of look-alikes (k-means over `features`); the groups
    holding the most doubt (many frames, or very doubtful ones) each give one frame, the one
    of most worth: doubt x typicality (x novelty against the `labelled` frames' features) -- a
    doubtful frame of a pose that recurs, not an odd one-off. One per group: never two of one
    run or one pose."""
    doubt = np.asarray(doubt, np.float64)
    n = len(doubt)
    count = min(int(count), n)
    if count <= 0:
        return np.zeros(0, int)
    embedding = np.asarray(embedding, np.float32)
    worth = doubt * typicality(embedding) ** TYPICAL_POWER
    if NOVELTY and labelled is not None and len(labelled):
        worth *= novelty(embedding, labelled)
    worth += 1e-9 * doubt  # ties (all alike): the more doubtful
    label = kmeans(embedding, min(n, CLUSTERS_PER_FRAME * count))
    groups = [g for j in range(label.max() + 1) if len(g := np.flatnonzero(label == j))]
    groups.sort(key=lambda g: -doubt[g].sum())
    picks = [int(g[np.argmax(worth[g])]) for g in groups[:count]]
    if len(picks) < count:  # fewer groups than frames wanted: the most worth of the rest
        taken = set(picks)
        rest = [int(i) for i in np.argsort(-worth, kind="stable") if i not in taken]
        picks += rest[: count - len(picks)]
    return np.array(sorted(picks, key=lambda i: -worth[i]), int)
