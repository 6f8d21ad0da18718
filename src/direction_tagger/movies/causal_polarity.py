"""Head/tail polarity decided frame by frame, as the frames come: the forward half of the
offline Viterbi (polarity.py), for live use.

The evidence is the offline one, frame for frame (`polarity.polarity_costs`): the cost of
exchanging tail base and nose on a frame (logit of the calibrated chance that the model's
polarity is right) and the moves between consecutive frames under the two states, costed
(d / sigma)^2 / 2. Offline, the best path through the whole movie is found and read back from
its end; live, each frame takes the state whose best path *ending there* costs less (the
forward pass of the same Viterbi, with no look-back). So a swap is undone as soon as the moves
into it cost more than exchanging it, but a run that the offline path would turn around only
later (when it sees the run end) stays as predicted until the evidence says otherwise.

sigma, offline the movie's median straight move, is here the median of the last
`SIGMA_MOVES` straight moves (at least 1 px; 1 px before any move): what is known so far.

One departure, because the filter cannot look back: how much the past may hold against the
present is bounded. The two paths' costs may differ by at most `memory` (default: the cost
of exchanging the surest frame, logit(Q_MAX) ~ 6.9). Without the bound, one ambiguous moment
with large moves (the quadratic move costs reach hundreds while a frame's exchange cost is
at most 6.9) kept the filter in the wrong state for 48 frames of unsure predictions on a
synthetic arena video (5.3 % of its frames against the offline answer with TTA 2, 15.8 %
without TTA); bounded, 1.4 % and 0.9 % (benchmarks/bench_live.py). The price: a run of
confidently swapped predictions is followed after a frame or two, where the offline path,
seeing the run end, may turn it around whole.

`CausalPolarity.update` takes one frame's scores, so new evidence (another term in the
exchange cost, or in the moves) only has to be added where the scores are made.
"""

from __future__ import annotations

import numpy as np

from .polarity import Q_MAX, exchanged, polarity_costs

SIGMA_MOVES = 1000  # straight moves the running sigma looks back over (~33 s at 30 fps)
MEMORY = float(np.log(Q_MAX / (1 - Q_MAX)))  # the surest frame's exchange cost, ~6.9


class CausalPolarity:
    """The forward polarity filter; one `update` per frame, in order."""

    def __init__(self, sigma_moves: int = SIGMA_MOVES, memory: float = MEMORY):
        self._moves = np.zeros(sigma_moves)  # a ring of the last straight moves (px)
        self.memory = float(memory)
        self.reset()

    def reset(self) -> None:
        """A new stream: no frames seen."""
        self._count = 0  # moves seen
        self._totals: tuple[float, float] | None = None  # best path cost ending in state 0 / 1

    @property
    def sigma(self) -> float:
        n = min(self._count, len(self._moves))
        return max(1.0, float(np.median(self._moves[:n]))) if n else 1.0

    def update(self, exchange_cost: float, straight: float = 0.0, crossed: float = 0.0) -> bool:
        """This frame's state (True: exchange tail base and nose) from its exchange cost and,
        after the first frame, the straight and crossed moves (px) from the previous frame
        (`polarity.polarity_costs`' terms for the two frames)."""
        if self._totals is None:
            cost = float(exchange_cost)
            self._totals = (max(0.0, -cost), max(0.0, cost))
        else:
            self._moves[self._count % len(self._moves)] = straight
            self._count += 1
            sigma = self.sigma
            same, cross = 0.5 * (straight / sigma) ** 2, 0.5 * (crossed / sigma) ** 2
            total0, total1 = self._totals
            best0 = min(total0 + same, total1 + cross)
            best1 = min(total1 + same, total0 + cross) + float(exchange_cost)
            low = min(best0, best1)  # only the difference matters: keep the numbers small
            self._totals = (min(best0 - low, self.memory), min(best1 - low, self.memory))
        total0, total1 = self._totals
        return total1 < total0


def frame_scores(previous_locs, locs, p_within) -> tuple[float, float, float]:
    """(exchange cost, straight move, crossed move) of a frame (3, 2) after `previous_locs`
    (3, 2), or None for the first frame; `p_within` (3,) its calibrated P(within 2 px). The
    offline costs (polarity_costs) of the two frames, so both filters weigh the same evidence."""
    locs = np.asarray(locs, np.float64)
    if previous_locs is None:
        unary, _, _ = polarity_costs(locs[None], np.asarray(p_within)[None])
        return float(unary[0]), 0.0, 0.0
    pair = np.stack([np.asarray(previous_locs, np.float64), locs])
    p = np.stack([np.zeros(3), np.asarray(p_within, np.float64)])  # the first's is unused
    unary, straight, crossed = polarity_costs(pair, p)
    return float(unary[1]), float(straight[0]), float(crossed[0])


def causal_states(
    exchange_cost, straight, crossed, sigma_moves: int = SIGMA_MOVES, memory: float = MEMORY
) -> np.ndarray:
    """(M,) bool: the live filter's states over a whole movie, from the offline costs
    (`polarity_costs`): what `live` would have decided, to compare with `viterbi_states`."""
    filt = CausalPolarity(sigma_moves, memory)
    m = len(exchange_cost)
    states = np.zeros(m, bool)
    for t in range(m):
        if t == 0:
            states[t] = filt.update(exchange_cost[0])
        else:
            states[t] = filt.update(exchange_cost[t], straight[t - 1], crossed[t - 1])
    return states


def causal_polarity_states(
    locs, p_within, sigma_moves: int = SIGMA_MOVES, memory: float = MEMORY
) -> np.ndarray:
    """(M,) bool: frames whose tail base and nose the live filter exchanges."""
    if len(locs) == 0:
        return np.zeros(0, bool)
    return causal_states(*polarity_costs(locs, p_within), sigma_moves, memory)


def apply_states(locs, states) -> np.ndarray:
    """(M, 3, 2) keypoints with tail base and nose exchanged where `states`."""
    locs = np.asarray(locs, np.float64)
    return np.where(np.asarray(states, bool)[:, None, None], exchanged(locs), locs)
