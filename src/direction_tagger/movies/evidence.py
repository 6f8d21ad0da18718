"""Head/tail evidence that does not come from the keypoint model, for the polarity Viterbi.

On a tracked video the tracker sees two things the 50 x 50 model may get wrong together for a
whole run of frames (near a wall, at the frame's edge, on a curled body):

- the **tail root**: where the longest thin part joins the body (videos/finder.py). The end
  of the predicted body nearer to it is the rump;
- the **direction of travel** when the animal moves fast: animals walk forward, so the nose
  leads.

Each is a per-frame vote on the model's polarity: +1 keep, -1 exchange tail base and nose,
0 no opinion. A vote that is right with probability a is a likelihood ratio a / (1 - a), so
it adds `vote * logit(a)` to the cost of exchanging the frame (polarity.py). The accuracies
are measured: the tail root's on the labelled frames (an imported DeepLabCut project keeps
each frame's tail root: `tail_root_agreement`), the travel direction's on the video itself
from how often it agrees with the tail root (two independent votes of accuracies a_t and a_v
agree with probability a_t a_v + (1 - a_t)(1 - a_v)).

Positions are crop px (x, y), pixel centres at integers.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

# No vote where the body is too short to say which end is which (crop px; bodies are ~25).
MIN_BODY_PX = 6.0
# A tail root votes when it is this much (x body length) nearer one end than the other ...
TAIL_MARGIN = 0.25
# ... and no further than this (x body length) from that end (a cable or a shadow elsewhere
# on the body is no tail root).
TAIL_REACH = 0.6
# Travel votes when the crop centre moves faster than this (body lengths per second) and
# along the body (|cos| of the angle between travel and body direction above TRAVEL_COS).
TRAVEL_MIN_SPEED = 2.0
TRAVEL_COS = 0.7
TRAVEL_HALF_WINDOW = 3  # frames each side of the central difference
# Accuracies are kept below this: no evidence is certain, and a certain vote would make one
# frame overrule every other consideration.
MAX_ACCURACY = 0.98
# The tail root's accuracy where no labelled frames measured it (synthetic or published
# training data): a modest prior, so that it can turn a run around only with the travel
# direction or a doubtful model behind it.
DEFAULT_TAIL_ACCURACY = 0.85
MIN_AGREEMENT_FRAMES = 30  # fewer frames where both vote: travel gets no weight


def accuracy(agree: int, total: int) -> float:
    """Laplace-smoothed share of right votes, in [0.5, MAX_ACCURACY]."""
    return float(np.clip((agree + 1) / (total + 2), 0.5, MAX_ACCURACY))


def logit(a: float) -> float:
    return float(np.log(a / (1 - a)))


@dataclass
class PolarityEvidence:
    """Per-frame evidence of a movie (M frames) and the measured accuracy of each vote."""

    tail_root: np.ndarray  # (M, 2) crop px, NaN where no tail was seen
    travel: np.ndarray  # (M, 2) direction of travel (unit vector, crop axes), NaN when slow
    tail_accuracy: float = DEFAULT_TAIL_ACCURACY
    travel_accuracy: float | None = None  # None: measured from the movie (with_travel_accuracy)

    def __len__(self) -> int:
        return len(self.tail_root)

    def rows(self, start: int, stop: int) -> PolarityEvidence:
        return PolarityEvidence(
            self.tail_root[start:stop],
            self.travel[start:stop],
            self.tail_accuracy,
            self.travel_accuracy,
        )


def tail_votes(locs, tail_root) -> np.ndarray:
    """(M,) +1 / -1 / 0: the tail root lies at the predicted tail base / at the predicted
    nose / neither clearly. locs (M, 3, 2), tail_root (M, 2), crop px."""
    locs = np.asarray(locs, np.float64)
    root = np.asarray(tail_root, np.float64)
    base, nose = locs[:, 0], locs[:, 2]
    with np.errstate(invalid="ignore"):
        body = np.linalg.norm(nose - base, axis=-1)
        to_base = np.linalg.norm(root - base, axis=-1)
        to_nose = np.linalg.norm(root - nose, axis=-1)
        usable = body >= MIN_BODY_PX
        reach = TAIL_REACH * body
        keep = usable & (to_base + TAIL_MARGIN * body < to_nose) & (to_base <= reach)
        swap = usable & (to_nose + TAIL_MARGIN * body < to_base) & (to_nose <= reach)
    return keep.astype(np.int8) - swap.astype(np.int8)


def travel_votes(locs, travel) -> np.ndarray:
    """(M,) +1 / -1 / 0: the predicted nose leads / trails the direction of travel / the
    animal is slow or moves sideways. locs (M, 3, 2) crop px, travel (M, 2) unit vectors."""
    locs = np.asarray(locs, np.float64)
    body = locs[:, 2] - locs[:, 0]
    with np.errstate(invalid="ignore"):
        length = np.linalg.norm(body, axis=-1)
        cos = (body * np.asarray(travel, np.float64)).sum(axis=-1) / length
        usable = length >= MIN_BODY_PX
        keep = usable & (cos > TRAVEL_COS)
        swap = usable & (cos < -TRAVEL_COS)
    return keep.astype(np.int8) - swap.astype(np.int8)


def travel_accuracy(tail: np.ndarray, travel: np.ndarray, tail_accuracy: float) -> float:
    """The travel vote's accuracy from its agreement with the tail vote on the frames where
    both vote (independent errors): agree = a_t a_v + (1 - a_t)(1 - a_v). 0.5 (no weight)
    with too few such frames or a tail vote that says nothing."""
    both = (tail != 0) & (travel != 0)
    n = int(both.sum())
    if n < MIN_AGREEMENT_FRAMES or tail_accuracy <= 0.5:
        return 0.5
    agree = (int((tail[both] == travel[both]).sum()) + 1) / (n + 2)
    a = (agree - (1 - tail_accuracy)) / (2 * tail_accuracy - 1)
    return float(np.clip(a, 0.5, MAX_ACCURACY))


def with_travel_accuracy(evidence: PolarityEvidence, locs) -> PolarityEvidence:
    """The evidence with its travel accuracy measured on the movie's raw predictions `locs`
    (the whole movie, or what the polarity pass has kept of it)."""
    if evidence.travel_accuracy is not None:
        return evidence
    a = travel_accuracy(
        tail_votes(locs, evidence.tail_root),
        travel_votes(locs, evidence.travel),
        evidence.tail_accuracy,
    )
    return PolarityEvidence(evidence.tail_root, evidence.travel, evidence.tail_accuracy, a)


def exchange_log_odds(locs, evidence: PolarityEvidence) -> np.ndarray:
    """(M,) what the evidence adds to the cost of exchanging each frame (nats): each vote
    times the log likelihood ratio of its measured accuracy. Negative: the evidence says the
    model has tail base and nose the wrong way round."""
    if evidence.travel_accuracy is None:
        raise ValueError("measure the travel accuracy first (with_travel_accuracy)")
    return logit(evidence.tail_accuracy) * tail_votes(locs, evidence.tail_root) + logit(
        evidence.travel_accuracy
    ) * travel_votes(locs, evidence.travel)


def travel_directions(centres, body_length_px: float, fps: float) -> np.ndarray:
    """(M, 2) unit direction of travel of the crop centres (M, 2) video px, NaN where the
    animal moves slower than TRAVEL_MIN_SPEED body lengths per second. The crop is a shift
    and a uniform scale of the video, so directions are the same in crop px."""
    centres = np.asarray(centres, np.float64)
    m, h = len(centres), TRAVEL_HALF_WINDOW
    out = np.full((m, 2), np.nan)
    if m <= 2 * h or not np.isfinite(body_length_px) or body_length_px <= 0:
        return out
    velocity = (centres[2 * h :] - centres[: -2 * h]) * (fps / (2 * h))  # px/s
    speed = np.linalg.norm(velocity, axis=-1)
    with np.errstate(invalid="ignore", divide="ignore"):
        unit = velocity / speed[:, None]
    fast = speed >= TRAVEL_MIN_SPEED * body_length_px
    out[h:-h] = np.where(fast[:, None], unit, np.nan)
    return out


def evidence_from_track(
    track, fps: float, tail_accuracy: float | None = None
) -> PolarityEvidence:
    """The evidence of a tracked video from its track table (videos/track.py): tail roots in
    crop px, travel of the crop centre. A table without tail roots gives no tail votes."""
    m = len(track)
    if "tail_root_x_crop" in track.columns:
        root = track[["tail_root_x_crop", "tail_root_y_crop"]].to_numpy(np.float64)
    else:
        root = np.full((m, 2), np.nan)
    length = track["body_length_px"].to_numpy(np.float64)
    body = float(np.nanmedian(length)) if np.isfinite(length).any() else np.nan
    travel = travel_directions(track[["crop_x", "crop_y"]].to_numpy(np.float64), body, fps)
    return PolarityEvidence(
        root, travel, DEFAULT_TAIL_ACCURACY if tail_accuracy is None else tail_accuracy
    )


def tail_root_agreement(locs, tail_root) -> dict:
    """How well tail roots (N, 2) predict which end is the tail on labelled frames (N, 3, 2):
    {"frames": frames with a vote, "right": votes that were right, "accuracy"}, JSON-able."""
    votes = tail_votes(locs, tail_root)
    n = int((votes != 0).sum())
    right = int((votes == 1).sum())
    return {"frames": n, "right": right, "accuracy": accuracy(right, n)}


def model_polarity_agreement(predicted, labelled) -> dict:
    """How often the model has tail base and nose the right way round on labelled frames
    (predicted, labelled: (N, 3, 2)): right when pairing them as predicted is nearer than
    crossed. {"frames", "right", "accuracy"}, JSON-able (the calibration keeps it: the polarity
    Viterbi caps the model's certainty at that accuracy)."""
    pred, true = np.asarray(predicted, np.float64), np.asarray(labelled, np.float64)
    straight = np.linalg.norm(pred[:, 0] - true[:, 0], axis=-1) + np.linalg.norm(
        pred[:, 2] - true[:, 2], axis=-1
    )
    crossed = np.linalg.norm(pred[:, 0] - true[:, 2], axis=-1) + np.linalg.norm(
        pred[:, 2] - true[:, 0], axis=-1
    )
    ok = np.isfinite(straight) & np.isfinite(crossed)
    right = int((straight[ok] <= crossed[ok]).sum())
    return {"frames": int(ok.sum()), "right": right, "accuracy": accuracy(right, int(ok.sum()))}
