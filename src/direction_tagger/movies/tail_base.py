"""The tail base from the tracker's tail root, where the network is less likely right.

On a rig the model never saw, the network can put the tail base inside the body -- half a
body length from the rump on a quarter of a real video's frames (issue #24) -- while the
tracker still sees the tail's root: where the longest thin part joins the body
(videos/finder.py). The root is not the labelled tail base: labellers click a little inside
the body, so the estimate is the root moved `offset` px toward the neck. Both the offset and
how often the estimate lands within 2 and 3 px of the tail base are measured on the movie
itself, on the frames where the network is sure of the rump end (calibrated P(within 3 px)
>= TRUSTED_P3) and the root clearly lies at that end; nothing is assumed.

A frame's tail base is then taken from the root where the root lies at the tail-base end of
the chosen polarity -- or the network collapsed the body (tail base and nose within
MIN_BODY_PX, seen on a real video for runs of 10 frames by a wall, all three points on the
head) and the root lies away from the nose -- and the estimate's measured P(within 3 px)
beats the network's own calibrated one for that frame: the likelier answer wins, and its P
is the one reported.
The measure can be optimistic where the network is unsure (rearing, grooming): it is made on
frames where the network is sure, and says so in the QC summary.

Positions are crop px (x, y), pixel centres at integers.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .evidence import MIN_BODY_PX, tail_votes

TRUSTED_P3 = 0.9  # frames whose rump end the network is this sure of measure the root
MIN_FRAMES = 20  # fewer measuring frames: the root is not used


@dataclass(frozen=True)
class RootEstimate:
    """How the tail root predicts the tail base on one movie (`fit_root_estimate`)."""

    offset_px: float  # the tail base lies this far from the root toward the neck
    p_within_2: float  # share of measuring frames with the estimate within 2 px
    p_within_3: float
    frames: int  # measuring frames

    def summary(self, used_frames: int) -> dict:
        return {
            "frames_from_root": int(used_frames),
            "offset_px": round(self.offset_px, 3),
            "p_within_2px": round(self.p_within_2, 4),
            "p_within_3px": round(self.p_within_3, 4),
            "measured_on_frames": int(self.frames),
        }


def _axis(locs: np.ndarray, root: np.ndarray) -> np.ndarray:
    """(M, 2) unit vectors from the root toward the neck (NaN where undefined)."""
    axis = locs[:, 1] - root
    with np.errstate(invalid="ignore", divide="ignore"):
        return axis / np.linalg.norm(axis, axis=-1, keepdims=True)


def rump_offsets(locs, p_within_3, tail_root) -> np.ndarray:
    """(M, 2) (along, across) position of the rump end relative to the root, in the frame
    of the root->neck axis, on the frames that measure the root (NaN elsewhere).

    locs (M, 3, 2) as the network gave them (either polarity: the rump end is the one the
    root votes for), p_within_3 (M, 3) calibrated, tail_root (M, 2)."""
    locs = np.asarray(locs, np.float64)
    root = np.asarray(tail_root, np.float64)
    p3 = np.nan_to_num(np.asarray(p_within_3, np.float64), nan=0.0)
    votes = tail_votes(locs, root)
    rump = np.where((votes == -1)[:, None], locs[:, 2], locs[:, 0])
    rump_p3 = np.where(votes == -1, p3[:, 2], p3[:, 0])
    axis = _axis(locs, root)
    d = rump - root
    along = (d * axis).sum(axis=-1)
    across = d[:, 0] * axis[:, 1] - d[:, 1] * axis[:, 0]
    out = np.stack([along, across], axis=-1)
    measuring = (votes != 0) & (rump_p3 >= TRUSTED_P3) & np.isfinite(out).all(axis=-1)
    return np.where(measuring[:, None], out, np.nan)


def fit_root_estimate(offsets) -> RootEstimate | None:
    """The estimate from `rump_offsets` of a whole movie; None with fewer than MIN_FRAMES."""
    offsets = np.asarray(offsets, np.float64)
    offsets = offsets[np.isfinite(offsets).all(axis=-1)]
    if len(offsets) < MIN_FRAMES:
        return None
    offset = float(np.median(offsets[:, 0]))
    miss = np.hypot(offsets[:, 0] - offset, offsets[:, 1])
    n = len(offsets)

    def share(radius):  # Laplace-smoothed: never certain
        return float(((miss <= radius).sum() + 1) / (n + 2))

    return RootEstimate(offset, share(2.0), share(3.0), n)


def base_from_root(locs, p2, p3, tail_root, estimate: RootEstimate | None):
    """(locs, p2, p3, used (M,) bool): the tail base (keypoint 0) taken from the root where
    that is likelier right (module docstring). locs (M, 3, 2) with the chosen polarity, p2 and
    p3 (M, 3) calibrated and following it; nothing changes without an estimate."""
    locs = np.asarray(locs, np.float64)
    used = np.zeros(len(locs), bool)
    if estimate is None or p3 is None:
        return locs, p2, p3, used
    root = np.asarray(tail_root, np.float64)
    guess = root + estimate.offset_px * _axis(locs, root)
    with np.errstate(invalid="ignore"):
        collapsed = (np.linalg.norm(locs[:, 2] - locs[:, 0], axis=-1) < MIN_BODY_PX) & (
            np.linalg.norm(root - locs[:, 2], axis=-1) >= MIN_BODY_PX
        )
        used = (
            ((tail_votes(locs, root) == 1) | collapsed)
            & np.isfinite(guess).all(axis=-1)
            & ~(np.asarray(p3)[:, 0] >= estimate.p_within_3)  # NaN: the network had none
        )
    locs, p2, p3 = locs.copy(), np.array(p2, np.float64), np.array(p3, np.float64)
    locs[used, 0] = guess[used]
    p2[used, 0] = estimate.p_within_2
    p3[used, 0] = estimate.p_within_3
    return locs, p2, p3, used
