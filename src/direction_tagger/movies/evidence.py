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
are measured, never assumed:

- on the movie itself, from how often each vote agrees with the model's polarity on the
  frames where the model is sure of both ends (calibrated P(within 2 px) of tail base and
  nose >= TRUSTED_P), the model being right there with the accuracy measured on the labelled
  validation frames (a_n, from `calibrate`): two independent votes agree with probability
  a_n a + (1 - a_n)(1 - a), so a = (agree - (1 - a_n)) / (2 a_n - 1). A cable taken for the
  tail, or an animal that backs up, disagrees with the model on most frames and gets no
  weight. (Counting every frame instead, a model wrong on a third of a video -- exactly
  when the evidence is needed -- made a right tail root look like a coin toss.);
- the tail root's is also capped by its accuracy on the labelled frames when the training set
  measured it (an imported DeepLabCut project keeps each frame's tail root:
  `tail_root_agreement`, in the label reference).

Positions are crop px (x, y), pixel centres at integers.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..io import FRAME_SIZE as CROP_PX

# No vote where the body is too short to say which end is which (crop px; bodies are ~25).
MIN_BODY_PX = 6.0
# A tail root votes when it is this much (x body length) nearer one end than the other. It
# need not lie at that end: where the model put the nose mid-body and the tail base on the
# head, the root is still nearer the "nose" (seen on a real video: such frames are swaps).
TAIL_MARGIN = 0.25
# Travel votes when the crop centre moves faster than this (body lengths per second) and
# along the body (|cos| of the angle between travel and body direction above TRAVEL_COS).
TRAVEL_MIN_SPEED = 1.0
TRAVEL_COS = 0.7
TRAVEL_HALF_WINDOW = 3  # frames each side of the central difference
# Accuracies are kept below this: no evidence is certain, and a certain vote would make one
# frame overrule every other consideration.
MAX_ACCURACY = 0.98
# The model's polarity accuracy where no calibration measured it.
DEFAULT_NETWORK_ACCURACY = 0.95
MIN_VOTES = 5  # an evidence that votes on fewer trusted frames of the movie gets no weight
TRUSTED_P = 0.5  # frames where the model is this sure of tail base and nose measure the votes
# A tail root further than ROOT_MAX_OFF body lengths from the median of the roots of the
# ROOT_WINDOW frames around it is dropped: on a real video the tracker took something at the
# head for the tail for 5 frames, between roots at the rump (the median follows a turning
# animal: its roots move steadily; a short excursion is outvoted).
ROOT_WINDOW = 15
ROOT_MAX_OFF = 0.3


def accuracy(agree: int, total: int) -> float:
    """Laplace-smoothed share of right votes, in [0.5, MAX_ACCURACY]."""
    return float(np.clip((agree + 1) / (total + 2), 0.5, MAX_ACCURACY))


def logit(a: float) -> float:
    return float(np.log(a / (1 - a)))


@dataclass
class PolarityEvidence:
    """Per-frame evidence of a movie (M frames)."""

    tail_root: np.ndarray  # (M, 2) crop px, NaN where no tail was seen
    travel: np.ndarray  # (M, 2) direction of travel (unit vector, crop axes), NaN when slow
    tail_accuracy: float | None = None  # measured on labelled frames, caps the movie's
    # (M, 3, 2) crop px, the model's keypoint order: where a keypoint off the animal goes
    # (videos/silhouette.py), NaN where it is on it; None: no background to tell
    onto_animal: np.ndarray | None = None

    def __len__(self) -> int:
        return len(self.tail_root)

    def rows(self, start: int, stop: int) -> PolarityEvidence:
        onto = None if self.onto_animal is None else self.onto_animal[start:stop]
        return PolarityEvidence(
            self.tail_root[start:stop], self.travel[start:stop], self.tail_accuracy, onto
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
        keep = usable & (to_base + TAIL_MARGIN * body < to_nose)
        swap = usable & (to_nose + TAIL_MARGIN * body < to_base)
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


def trusted_frames(p_within) -> np.ndarray:
    """(M,) bool: the frames whose calibrated P(within 2 px) (M, 3) of tail base and nose are
    both at least TRUSTED_P, where the model's polarity is as good as on validation."""
    p = np.nan_to_num(np.asarray(p_within, np.float64), nan=0.0)
    return np.minimum(p[:, 0], p[:, 2]) >= TRUSTED_P


def movie_accuracy(votes: np.ndarray, network_accuracy: float | None, trusted=None) -> float:
    """A vote's accuracy on a movie from its agreement with the model's polarity (votes +1)
    on the `trusted` frames (all when None) where it votes (module docstring). 0.5 (no
    weight) with fewer than MIN_VOTES votes."""
    votes = np.asarray(votes)
    if trusted is not None:
        votes = votes[np.asarray(trusted, bool)]
    return accuracy_from_votes(int((votes == 1).sum()), int((votes != 0).sum()), network_accuracy)


def accuracy_from_votes(keep: int, votes: int, network_accuracy: float | None) -> float:
    """movie_accuracy from counts: `keep` of `votes` votes agree with the model (the live
    filter keeps the counts as frames come: causal_evidence.py)."""
    a_n = DEFAULT_NETWORK_ACCURACY if network_accuracy is None else network_accuracy
    if votes < MIN_VOTES or a_n <= 0.5:
        return 0.5
    agree = (keep + 1) / (votes + 2)
    return float(np.clip((agree - (1 - a_n)) / (2 * a_n - 1), 0.5, MAX_ACCURACY))


def vote_weights(
    tail, travel, network_accuracy, tail_cap=None, trusted=None
) -> tuple[float, float]:
    """(tail weight, travel weight), nats: logit of each vote's measured accuracy."""
    a_tail = movie_accuracy(tail, network_accuracy, trusted)
    if tail_cap is not None:
        a_tail = min(a_tail, max(0.5, tail_cap))
    return logit(a_tail), logit(movie_accuracy(travel, network_accuracy, trusted))


def weighted_votes(tail, travel, weights) -> np.ndarray:
    """(M,) nats added to each frame's exchange cost."""
    return weights[0] * np.asarray(tail) + weights[1] * np.asarray(travel)


def exchange_log_odds(
    locs, evidence: PolarityEvidence, network_accuracy=None, trusted=None
) -> np.ndarray:
    """(M,) what the evidence adds to the cost of exchanging each frame (nats): each vote
    times the log likelihood ratio of its accuracy measured on these frames (`trusted`:
    `trusted_frames`, or all). Negative: the evidence says the model has tail base and nose
    the wrong way round."""
    tail = tail_votes(locs, evidence.tail_root)
    travel = travel_votes(locs, evidence.travel)
    weights = vote_weights(tail, travel, network_accuracy, evidence.tail_accuracy, trusted)
    return weighted_votes(tail, travel, weights)


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


def steady_roots(root, body_px: float) -> np.ndarray:
    """(M, 2) tail roots, NaN where a root strays from its neighbours' (ROOT_WINDOW)."""
    import warnings

    root = np.asarray(root, np.float64)
    if not np.isfinite(body_px) or not len(root):
        return root
    half = ROOT_WINDOW // 2
    padded = np.pad(root, ((half, half), (0, 0)), constant_values=np.nan)
    median = np.empty_like(root)
    for start in range(0, len(root), 65_536):  # bounded memory on hours of video
        stop = min(start + 65_536, len(root))
        windows = np.lib.stride_tricks.sliding_window_view(
            padded[start : stop + 2 * half], ROOT_WINDOW, axis=0
        )
        with warnings.catch_warnings():  # a window without any root: NaN, the root kept
            warnings.simplefilter("ignore", RuntimeWarning)
            median[start:stop] = np.nanmedian(windows, axis=-1)
    with np.errstate(invalid="ignore"):
        off = np.linalg.norm(root - median, axis=-1) > ROOT_MAX_OFF * body_px
    return np.where(off[:, None], np.nan, root)


def evidence_from_track(track, fps: float, tail_accuracy: float | None = None) -> PolarityEvidence:
    """The evidence of a tracked video from its track table (videos/track.py): tail roots in
    crop px (`steady_roots`), travel of the crop centre. A table without tail roots gives no
    tail votes."""
    m = len(track)
    length = track["body_length_px"].to_numpy(np.float64)
    body = float(np.nanmedian(length)) if np.isfinite(length).any() else np.nan
    if "tail_root_x_crop" in track.columns:
        root = track[["tail_root_x_crop", "tail_root_y_crop"]].to_numpy(np.float64)
        with np.errstate(invalid="ignore", divide="ignore"):
            crop_body = np.nanmedian(length * CROP_PX / track["crop_side"].to_numpy(np.float64))
        root = steady_roots(root, float(crop_body))
    else:
        root = np.full((m, 2), np.nan)
    travel = travel_directions(track[["crop_x", "crop_y"]].to_numpy(np.float64), body, fps)
    return PolarityEvidence(root, travel, tail_accuracy)


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
