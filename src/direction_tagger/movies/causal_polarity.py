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

`CausalPolarity.update` takes one frame's scores, so new evidence (another term in the
exchange cost, or in the moves) only has to be added where the scores are made.
"""

from __future__ import annotations

import numpy as np

from .polarity import exchanged, polarity_costs

SIGMA_MOVES = 1000  # straight moves the running sigma looks back over (~33 s at 30 fps)


class CausalPolarity:
    """The forward polarity filter; one `update` per frame, in order."""

    def __init__(self, sigma_moves: int = SIGMA_MOVES):
        self._moves = np.zeros(sigma_moves)  # a ring of the last straight moves (px)
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
            self._totals = (0.0, float(exchange_cost))
        else:
            self._moves[self._count % len(self._moves)] = straight
            self._count += 1
            sigma = self.sigma
            same, cross = 0.5 * (straight / sigma) ** 2, 0.5 * (crossed / sigma) ** 2
            total0, total1 = self._totals
            best0 = min(total0 + same, total1 + cross)
            best1 = min(total1 + same, total0 + cross) + float(exchange_cost)
            low = min(best0, best1)  # only the difference matters: keep the numbers small
            self._totals = (best0 - low, best1 - low)
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


def causal_states(exchange_cost, straight, crossed, sigma_moves: int = SIGMA_MOVES) -> np.ndarray:
    """(M,) bool: the live filter's states over a whole movie, from the offline costs
    (`polarity_costs`): what `live` would have decided, to compare with `viterbi_states`."""
    filt = CausalPolarity(sigma_moves)
    m = len(exchange_cost)
    states = np.zeros(m, bool)
    for t in range(m):
        if t == 0:
            states[t] = filt.update(exchange_cost[0])
        else:
            states[t] = filt.update(exchange_cost[t], straight[t - 1], crossed[t - 1])
    return states


def causal_polarity_states(locs, p_within, sigma_moves: int = SIGMA_MOVES) -> np.ndarray:
    """(M,) bool: frames whose tail base and nose the live filter exchanges."""
    if len(locs) == 0:
        return np.zeros(0, bool)
    return causal_states(*polarity_costs(locs, p_within), sigma_moves=sigma_moves)


def apply_states(locs, states) -> np.ndarray:
    """(M, 3, 2) keypoints with tail base and nose exchanged where `states`."""
    locs = np.asarray(locs, np.float64)
    return np.where(np.asarray(states, bool)[:, None, None], exchanged(locs), locs)
