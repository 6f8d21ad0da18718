"""Head/tail polarity over time: which end is the nose, chosen for the whole movie at once.

A keypoint model sometimes puts the nose on the tail base and the other way round, on a frame
or a few. Each frame has two states: as predicted (0) or with tail base and nose exchanged (1;
the neck stays). The path through the movie with the least total cost is found by Viterbi:

- staying with what the model said is free; exchanging costs logit(q), q the probability that
  the model's polarity is right, from its calibrated P(within 2 px) of tail base and nose
  (q = 0.5 + 0.5 min(p_base, p_nose)): confident frames are hard to turn around;
- going from frame t-1 to frame t costs (d / sigma)^2 / 2, d the distance the tail base and
  the nose would have moved (summed) under the two frames' states, sigma the movie's typical
  such move (its median, at least 1 px): a swap for one frame is two jumps of a body length,
  a real turn is many small steps.

An isolated swap is undone; a run of swapped frames is undone when turning it around costs
less than the two jumps that bound it. Frames with a NaN keypoint keep their state free of
motion cost (they neither vote nor block).
"""

from __future__ import annotations

import numpy as np

Q_MAX = 0.999  # even a sure model can be wrong: exchanging costs at most logit(0.999) ~ 6.9


def exchanged(locs: np.ndarray) -> np.ndarray:
    """(M, 3, 2) keypoints with tail base and nose exchanged (the neck stays)."""
    return np.asarray(locs)[:, [2, 1, 0]]


def _move(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Summed tail-base and nose displacement (px) from frames a to frames b, (M-1,)."""
    d = np.linalg.norm(b[:, [0, 2]] - a[:, [0, 2]], axis=-1).sum(axis=-1)
    return np.where(np.isfinite(d), d, 0.0)


def polarity_costs(locs, p_within) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """What the least-cost path needs of M frames, 24 bytes a frame: (exchange cost (M,),
    straight move (M-1,), crossed move (M-1,)), moves in px (_move). The costs of a long
    movie can be made a chunk at a time (each chunk with the previous chunk's last frame in
    front, its first exchange cost dropped) and concatenated."""
    locs = np.asarray(locs, dtype=np.float64)
    p = np.nan_to_num(np.asarray(p_within, dtype=np.float64), nan=0.0)
    q = np.clip(0.5 + 0.5 * np.minimum(p[:, 0], p[:, 2]), 0.5, Q_MAX)
    straight = _move(locs[:-1], locs[1:])
    crossed = _move(locs[:-1], exchanged(locs)[1:])  # = _move(swapped[:-1], locs[1:])
    return np.log(q / (1 - q)), straight, crossed


def viterbi_states(exchange_cost, straight, crossed) -> np.ndarray:
    """(M,) bool: the least-cost polarity path from `polarity_costs` (3 bytes a frame)."""
    m = len(exchange_cost)
    if m < 2:
        return np.zeros(m, bool)
    # pairwise: from frame t to t + 1, staying in a state or crossing to the other
    sigma = max(1.0, float(np.median(straight)) if len(straight) else 1.0)
    cost_same = (0.5 * (np.asarray(straight) / sigma) ** 2).tolist()
    cost_cross = (0.5 * (np.asarray(crossed) / sigma) ** 2).tolist()
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


def polarity_states(locs, p_within) -> np.ndarray:
    """(M,) bool: True where tail base and nose should be exchanged (least-cost path).

    locs: (M, 3, 2) raw predictions; p_within: (M, 3) calibrated P(error <= 2 px), or the
    model's confidence when there is no calibration."""
    if len(locs) < 2:
        return np.zeros(len(locs), bool)
    return viterbi_states(*polarity_costs(locs, p_within))


def fix_polarity(locs, p_within) -> tuple[np.ndarray, np.ndarray]:
    """(locs with the chosen polarity, (M,) bool frames that were exchanged)."""
    states = polarity_states(locs, p_within)
    locs = np.asarray(locs, dtype=np.float64)
    return np.where(states[:, None, None], exchanged(locs), locs), states
