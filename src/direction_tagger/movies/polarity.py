"""Head/tail polarity over time: which end is the nose, chosen for the whole movie at once.

A keypoint model sometimes puts the nose on the tail base and the other way round, on a frame
or a few. Each frame has two states: as predicted (0) or with tail base and nose exchanged (1;
the neck stays). The path through the movie with the least total cost is found by Viterbi:

- staying with what the model said is free; exchanging costs logit(q), q the probability that
  the model's polarity is right, from its calibrated P(within 2 px) of tail base and nose
  (q = 0.5 + 0.5 min(p_base, p_nose)): confident frames are hard to turn around;
- going from frame t-1 to frame t costs (d / sigma)^2 / 2, at most MAX_MOVE_COST, d the
  distance the tail base and the nose would have moved (summed) under the two frames' states,
  sigma the movie's typical such move (its median, at least 1 px): a swap for one frame is two
  jumps of a body length, a real turn is many small steps.

An isolated swap is undone; a run of swapped frames is undone when turning it around costs
less than the two jumps that bound it. Frames with a NaN keypoint keep their state free of
motion cost (they neither vote nor block).

Evidence beyond the model (evidence.py: on tracked videos the tail root and the direction of
travel) adds its log likelihood ratio to each frame's exchange cost, and the model's own
confidence is capped at the polarity accuracy measured on the labelled validation frames
(`network_accuracy`): a model that was right on 20 of 20 frames is not 99.9 % sure of a frame
on a rig it never saw. Where the evidence says "exchanged" for a whole run, the run's summed
exchange cost turns negative and the path turns it around, however smooth its motion.

`polarity_certainty` gives each frame the posterior probability of the chosen state (the same
costs read as negative log probabilities, summed over all paths by forward-backward).
"""

from __future__ import annotations

import math

import numpy as np

Q_MAX = 0.999  # even a sure model can be wrong: exchanging costs at most logit(0.999) ~ 6.9
# A move costs at most this (nats): the model can put a point anywhere once in a while (its
# error, not the animal's motion), so a step is Gaussian with a small chance (~e^-12) of
# anything. Without the cap a run the model gets wrong with gradual drifts at its ends (seen
# on a real video) costs hundreds of nats to turn around and no evidence can; with it, a run
# is turned when its summed exchange costs fall below two such moves: isolated swaps and
# runs of a few frames by motion alone, longer runs when the evidence says so. (Measured on
# the real video: caps of 20-60 left the run there; a sigma from the 90th percentile of the
# moves instead of the median turned it too, but no swap at all in a movie with outliers.)
MAX_MOVE_COST = 12.0


def exchanged(locs: np.ndarray) -> np.ndarray:
    """(M, 3, 2) keypoints with tail base and nose exchanged (the neck stays)."""
    return np.asarray(locs)[:, [2, 1, 0]]


def _move(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Summed tail-base and nose displacement (px) from frames a to frames b, (M-1,)."""
    d = np.linalg.norm(b[:, [0, 2]] - a[:, [0, 2]], axis=-1).sum(axis=-1)
    return np.where(np.isfinite(d), d, 0.0)


def polarity_costs(
    locs, p_within, evidence_log_odds=None, network_accuracy: float | None = None
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """What the least-cost path needs of M frames, 24 bytes a frame: (exchange cost (M,),
    straight move (M-1,), crossed move (M-1,)), moves in px (_move). The costs of a long
    movie can be made a chunk at a time (each chunk with the previous chunk's last frame in
    front, its first exchange cost dropped) and concatenated.

    evidence_log_odds: (M,) nats added to the exchange cost (evidence.exchange_log_odds);
    network_accuracy: the model's measured polarity accuracy, capping its q."""
    locs = np.asarray(locs, dtype=np.float64)
    p = np.nan_to_num(np.asarray(p_within, dtype=np.float64), nan=0.0)
    q_max = Q_MAX if network_accuracy is None else min(Q_MAX, max(0.5, network_accuracy))
    q = np.clip(0.5 + 0.5 * np.minimum(p[:, 0], p[:, 2]), 0.5, q_max)
    unary = np.log(q / (1 - q))
    if evidence_log_odds is not None:
        unary = unary + np.asarray(evidence_log_odds, np.float64)
    straight = _move(locs[:-1], locs[1:])
    crossed = _move(locs[:-1], exchanged(locs)[1:])  # = _move(swapped[:-1], locs[1:])
    return unary, straight, crossed


def _pair_costs(straight, crossed) -> tuple[list, list]:
    """From frame t to t + 1, staying in a state or crossing to the other (nats)."""
    sigma = max(1.0, float(np.median(straight)) if len(straight) else 1.0)
    cost_same = np.minimum(0.5 * (np.asarray(straight) / sigma) ** 2, MAX_MOVE_COST).tolist()
    cost_cross = np.minimum(0.5 * (np.asarray(crossed) / sigma) ** 2, MAX_MOVE_COST).tolist()
    return cost_same, cost_cross


def viterbi_states(exchange_cost, straight, crossed) -> np.ndarray:
    """(M,) bool: the least-cost polarity path from `polarity_costs` (3 bytes a frame)."""
    m = len(exchange_cost)
    if m < 2:
        return np.zeros(m, bool)
    cost_same, cost_cross = _pair_costs(straight, crossed)
    unary = np.asarray(exchange_cost, np.float64).tolist()  # state 1's cost; state 0's is 0

    # Viterbi over two states in plain floats (the same IEEE arithmetic as numpy's, ~5x
    # faster per frame); back0/back1[t] = best previous state for state 0/1 at frame t
    back0, back1 = bytearray(m), bytearray(m)
    total0, total1 = 0.0, unary[0]
    for t in range(1, m):
        same, cross = cost_same[t - 1], cost_cross[t - 1]
        stay0, from1to0 = total0 + same, total1 + cross
        stay1, from0to1 = total1 + same, total0 + cross
        back0[t] = from1to0 < stay0
        back1[t] = not (from0to1 < stay1)
        total0, total1 = min(stay0, from1to0) + 0.0, min(stay1, from0to1) + unary[t]
    states = np.zeros(m, bool)
    state = total1 < total0
    states[-1] = state
    for t in range(m - 1, 0, -1):
        state = (back1 if state else back0)[t]
        states[t - 1] = state
    return states


def _logaddexp(a: float, b: float) -> float:
    """-log(exp(-a) + exp(-b)) for costs a, b (nats)."""
    lo, hi = (a, b) if a < b else (b, a)
    return lo - math.log1p(math.exp(lo - hi))


def polarity_certainty(exchange_cost, straight, crossed, states) -> np.ndarray:
    """(M,) posterior probability of each frame's chosen state (`states`, bool) given all
    frames: the costs read as negative log probabilities, forward-backward over both states.
    0.5 = a coin toss, 1 = no doubt. Plain floats, as in viterbi_states."""
    m = len(exchange_cost)
    if m < 2:
        return np.ones(m)
    cost_same, cost_cross = _pair_costs(straight, crossed)
    unary = np.asarray(exchange_cost, np.float64).tolist()
    f0, f1 = [0.0] * m, [0.0] * m  # forward costs of each state at frame t (incl. its unary)
    f1[0] = unary[0]
    for t in range(1, m):
        same, cross = cost_same[t - 1], cost_cross[t - 1]
        f0[t] = _logaddexp(f0[t - 1] + same, f1[t - 1] + cross)
        f1[t] = _logaddexp(f1[t - 1] + same, f0[t - 1] + cross) + unary[t]
    b0, b1 = 0.0, 0.0  # backward costs from frame t on (excluding t's unary)
    p1 = np.empty(m)
    for t in range(m - 1, -1, -1):
        c0, c1 = f0[t] + b0, f1[t] + b1
        p1[t] = 1.0 / (1.0 + math.exp(max(-700.0, min(700.0, c1 - c0))))
        if t:
            same, cross = cost_same[t - 1], cost_cross[t - 1]
            b0, b1 = (
                _logaddexp(same + b0, cross + unary[t] + b1),
                _logaddexp(cross + b0, same + unary[t] + b1),
            )
    states = np.asarray(states, bool)
    return np.where(states, p1, 1.0 - p1)


def polarity_states(locs, p_within, evidence_log_odds=None, network_accuracy=None) -> np.ndarray:
    """(M,) bool: True where tail base and nose should be exchanged (least-cost path).

    locs: (M, 3, 2) raw predictions; p_within: (M, 3) calibrated P(error <= 2 px), or the
    model's confidence when there is no calibration; the rest as in polarity_costs."""
    if len(locs) < 2:
        return np.zeros(len(locs), bool)
    return viterbi_states(*polarity_costs(locs, p_within, evidence_log_odds, network_accuracy))


def choose_polarity(
    locs, p_within, evidence_log_odds=None, network_accuracy=None
) -> tuple[np.ndarray, np.ndarray]:
    """((M,) bool exchanged, (M,) certainty of that choice): polarity_states and
    polarity_certainty on the same costs."""
    if len(locs) < 2:
        return np.zeros(len(locs), bool), np.ones(len(locs))
    costs = polarity_costs(locs, p_within, evidence_log_odds, network_accuracy)
    states = viterbi_states(*costs)
    return states, polarity_certainty(*costs, states)


def fix_polarity(locs, p_within, **options) -> tuple[np.ndarray, np.ndarray]:
    """(locs with the chosen polarity, (M,) bool frames that were exchanged); `options` as
    in polarity_states."""
    states = polarity_states(locs, p_within, **options)
    locs = np.asarray(locs, dtype=np.float64)
    return np.where(states[:, None, None], exchanged(locs), locs), states
