"""Which frames to label next: likely wrong, and typical of a group of look-alike frames.

Pure numpy functions over a movie's predictions table and its 50 x 50 crops.

Doubt of a frame (`frame_doubt`), a probability-like score in [0, 1]:

    1 - P(every point within 2 px) x P(head and tail the right way round)

from the calibrated `<kp>_p_within_2px` columns and `polarity_certainty` that the smoothed
table holds (the model's confidence where it is not calibrated), raised by `FLAG_WEIGHT` for a
frame QC flagged (`qc_any`): a flag (a jump, a swap, a skeleton out of range, the tracker lost)
is evidence the calibration does not see.

What a frame is like (`features`): its crop shrunk to 10 x 10, normalised for brightness and
contrast (`appearance`), and its pose whatever the position, heading, side and size of the
animal (`pose_shape`: where the nose is against the body, the body's length), the model's
points for a candidate, the labels for a labelled frame.

The choice (`choose`): the candidates are split into `CLUSTERS_PER_FRAME` x count groups of
look-alike frames (k-means over the features); a frame's worth is its doubt x its novelty
(how unlike the labelled frames it is, `novelty`), and the groups that hold the most worth --
many doubtful frames, or very doubtful ones -- each give one frame, their worthiest. A long flagged run of one pose is one group, so it gives
one frame, not twenty; a doubtful one-off frame is a group holding little doubt and is left
for a doubtful pose that recurs. This replaced a first version (each pick the frame of most
doubt x distance to those picked): on real mice that one chose frames the model got wrong
more often, but correcting them helped new recordings no more than random frames (the
measurement: docs/refine.md).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from ..io import FRAME_SIZE, KEYPOINTS

FLAG_WEIGHT = 0.5  # a QC-flagged frame's doubt moves this share of the way to 1
EMBED_SIDE = 10  # appearance is compared on crops shrunk to this side (5 x 5 px blocks)
POOL_PER_FRAME = 25  # candidates per movie: the most doubtful of this many stretches per frame
POSE_WEIGHT = 3.0  # pose shape x this: its median distance then matches appearance's (XMWell)
CORE_SHARE = 0.5  # a group gives the worthiest of this share of it nearest its centre
CLUSTERS_PER_FRAME = 2  # groups of look-alikes per frame wanted; the worthiest give one each


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


def _nearest(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """(len(a),) distance of each row of a to its nearest row of b, in blocks (a run's
    candidates can be thousands)."""
    out = np.empty(len(a))
    for start in range(0, len(a), 1024):
        out[start : start + 1024] = _pairwise(a[start : start + 1024], b).min(axis=1)
    return out


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


def _core(group: np.ndarray, embedding: np.ndarray) -> np.ndarray:
    """The CORE_SHARE of a group's frames nearest its centre (at least one): an odd frame
    the k-means put with a pose it barely resembles is not the group's frame to label."""
    if CORE_SHARE >= 1 or len(group) < 3:
        return group
    d = np.linalg.norm(embedding[group] - embedding[group].mean(axis=0), axis=1)
    return group[d <= np.quantile(d, CORE_SHARE)]


def choose(
    doubt: np.ndarray, embedding: np.ndarray, count: int, labelled: np.ndarray | None = None
) -> np.ndarray:
    """Indices of `count` frames, most worth first (module docstring).

    doubt (N,) in [0, 1]; embedding (N, D) from `features`; labelled (L, D) the features of
    frames already labelled. Worth = doubt x novelty; one frame per group of look-alikes, from
    the groups (CLUSTERS_PER_FRAME x count of them) that hold the most worth.
    """
    doubt = np.asarray(doubt, np.float64)
    n = len(doubt)
    count = min(int(count), n)
    if count <= 0:
        return np.zeros(0, int)
    embedding = np.asarray(embedding, np.float32)
    worth = doubt.copy()
    if labelled is not None and len(labelled):
        worth *= novelty(embedding, labelled)
    worth += 1e-9 * doubt  # ties (all alike): the more doubtful
    label = kmeans(embedding, min(n, CLUSTERS_PER_FRAME * count))
    groups = [g for j in range(label.max() + 1) if len(g := np.flatnonzero(label == j))]
    groups.sort(key=lambda g: -worth[g].sum())  # many worthy frames, or very worthy ones
    cores = [_core(g, embedding) for g in groups[:count]]
    picks = [int(core[np.argmax(worth[core])]) for core in cores]
    if len(picks) < count:  # fewer groups than frames wanted: the most worth of the rest
        taken = set(picks)
        rest = [int(i) for i in np.argsort(-worth, kind="stable") if i not in taken]
        picks += rest[: count - len(picks)]
    return np.array(sorted(picks, key=lambda i: -worth[i]), int)
