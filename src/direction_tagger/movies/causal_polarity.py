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

from collections import deque

import numpy as np

from .causal_evidence import FULL_LOOKAHEAD as EVIDENCE_LOOKAHEAD
from .causal_evidence import CausalEvidence
from .polarity import MAX_MOVE_COST, Q_MAX, exchanged, polarity_costs

SIGMA_MOVES = 1000  # straight moves the running sigma looks back over (~33 s at 30 fps)
MEMORY = float(np.log(Q_MAX / (1 - Q_MAX)))  # the surest frame's exchange cost, ~6.9


class CausalPolarity:
    """The forward polarity filter; one `update` per frame, in order.

    `lag`: frames of look-ahead (a fixed-lag smoother). Frame t is decided when frame
    t + lag has come: the best path ending at t + lag, read back `lag` steps (the offline
    Viterbi's back pointers, kept for the last `lag` frames only). lag 0 is the forward
    filter; a lag as long as the movie is the offline path (same costs)."""

    def __init__(self, sigma_moves: int = SIGMA_MOVES, memory: float = MEMORY, lag: int = 0):
        self._moves = np.zeros(sigma_moves)  # a ring of the last straight moves (px)
        self.memory = float(memory)
        self.lag = int(lag)
        if self.lag < 0:
            raise ValueError(f"lag is 0 or more frames, got {lag}")
        self.reset()

    def reset(self) -> None:
        """A new stream: no frames seen."""
        self._count = 0  # moves seen
        self._totals: tuple[float, float] | None = None  # best path cost ending in state 0 / 1
        # per frame of the last `lag`: (best state before it on the path to 0, ... to 1)
        self._back: deque = deque(maxlen=max(1, self.lag))

    @property
    def sigma(self) -> float:
        n = min(self._count, len(self._moves))
        return max(1.0, float(np.median(self._moves[:n]))) if n else 1.0

    def update(
        self, exchange_cost: float, straight: float = 0.0, crossed: float = 0.0
    ) -> bool | None:
        """The state (True: exchange tail base and nose) of the frame `lag` frames back, from
        this frame's exchange cost and, after the first frame, the straight and crossed moves
        (px) from the previous frame (`polarity.polarity_costs`' terms for the two frames).
        None while fewer than lag + 1 frames have come."""
        if self._totals is None:
            cost = float(exchange_cost)
            self._totals = (max(0.0, -cost), max(0.0, cost))
        else:
            self._moves[self._count % len(self._moves)] = straight
            self._count += 1
            sigma = self.sigma
            # the offline move costs (polarity._pair_costs), capped alike
            same = min(0.5 * (straight / sigma) ** 2, MAX_MOVE_COST)
            cross = min(0.5 * (crossed / sigma) ** 2, MAX_MOVE_COST)
            total0, total1 = self._totals
            stay0, into0 = total0 + same, total1 + cross
            stay1, into1 = total1 + same, total0 + cross
            if self.lag:
                self._back.append((into0 < stay0, not (into1 < stay1)))
            best0, best1 = min(stay0, into0), min(stay1, into1) + float(exchange_cost)
            low = min(best0, best1)  # only the difference matters: keep the numbers small
            self._totals = (min(best0 - low, self.memory), min(best1 - low, self.memory))
        if self.lag and len(self._back) < self.lag:
            return None
        return self.pending()[0]

    def pending(self) -> list[bool]:
        """The states of the frames not decided yet (the last lag + 1, or all so far), on
        the best path ending at the newest frame, oldest first; [] before any frame."""
        if self._totals is None:
            return []
        total0, total1 = self._totals
        state = total1 < total0
        states = [state]
        for back0, back1 in reversed(self._back):
            state = back1 if state else back0
            states.append(state)
        return states[::-1]

    def undecided(self) -> list[bool]:
        """`pending` less the frame `update` has already returned: what is left to decide
        at the end of a stream, oldest first."""
        states = self.pending()
        return states[1:] if states and self._count >= self.lag else states


def split_lag(lag: int, evidence: bool) -> tuple[int, int]:
    """(evidence look-ahead, filter lag) of a total `lag` (frames): with the tracker's
    evidence, its windows are completed first (causal_evidence.FULL_LOOKAHEAD frames), the
    rest goes to the path; without, all to the path."""
    lookahead = min(lag, EVIDENCE_LOOKAHEAD) if evidence else 0
    return lookahead, lag - lookahead


class LivePolarity:
    """The live polarity of a stream: the model's exchange cost and moves (frame_scores),
    plus the tracker's evidence when given (causal_evidence.py), through the filter.
    `add` per frame -> the state of the frame `lag` frames back (None until then)."""

    def __init__(
        self,
        lag: int = 0,
        fps: float = 30.0,
        network_accuracy: float | None = None,
        tail_accuracy: float | None = None,
        evidence: bool = False,
    ):
        self.lag = int(lag)
        lookahead, filter_lag = split_lag(self.lag, evidence)
        self.network_accuracy = network_accuracy
        self.evidence = (
            CausalEvidence(fps, network_accuracy, tail_accuracy, lookahead) if evidence else None
        )
        self.filter = CausalPolarity(lag=filter_lag)
        self.reset()

    def reset(self) -> None:
        self.filter.reset()
        if self.evidence is not None:
            self.evidence.reset()
        self._waiting: deque = deque()  # (locs, p) of frames whose evidence is not judged
        self._previous = None  # the locs of the last frame the filter took

    def _enter(self, log_odds: float) -> bool | None:
        locs, p = self._waiting.popleft()
        cost, straight, crossed = frame_scores(self._previous, locs, p, self.network_accuracy)
        self._previous = locs
        return self.filter.update(cost + log_odds, straight, crossed)

    def add(self, locs, p_within, seen=None) -> bool | None:
        """locs (3, 2) the model's keypoints, p_within (3,) calibrated P(within 2 px),
        `seen` the tracker's causal_evidence.TrackedEvidence (with `evidence` only)."""
        self._waiting.append((np.asarray(locs, np.float64), np.asarray(p_within, np.float64)))
        if self.evidence is None:
            return self._enter(0.0)
        log_odds = self.evidence.add(locs, p_within, seen)
        return None if log_odds is None else self._enter(log_odds)

    def flush(self) -> list[bool]:
        """The states of the frames not decided yet, with what came before the end."""
        decided = []
        if self.evidence is not None:
            for log_odds in self.evidence.flush():
                if (state := self._enter(log_odds)) is not None:
                    decided.append(state)
        return decided + self.filter.undecided()


def frame_scores(
    previous_locs, locs, p_within, network_accuracy: float | None = None
) -> tuple[float, float, float]:
    """(exchange cost, straight move, crossed move) of a frame (3, 2) after `previous_locs`
    (3, 2), or None for the first frame; `p_within` (3,) its calibrated P(within 2 px);
    `network_accuracy` caps the model's certainty. The offline costs (polarity_costs) of the
    two frames, so both filters weigh the same evidence."""
    locs = np.asarray(locs, np.float64)
    if previous_locs is None:
        unary, _, _ = polarity_costs(
            locs[None], np.asarray(p_within)[None], network_accuracy=network_accuracy
        )
        return float(unary[0]), 0.0, 0.0
    pair = np.stack([np.asarray(previous_locs, np.float64), locs])
    p = np.stack([np.zeros(3), np.asarray(p_within, np.float64)])  # the first's is unused
    unary, straight, crossed = polarity_costs(pair, p, network_accuracy=network_accuracy)
    return float(unary[1]), float(straight[0]), float(crossed[0])


def causal_states(
    exchange_cost,
    straight,
    crossed,
    sigma_moves: int = SIGMA_MOVES,
    memory: float = MEMORY,
    lag: int = 0,
) -> np.ndarray:
    """(M,) bool: the live filter's states over a whole movie, from the offline costs
    (`polarity_costs`): what `live` would have decided with this `lag`, to compare with
    `viterbi_states` (the last `lag` frames decided at the movie's end, as `live` does)."""
    filt = CausalPolarity(sigma_moves, memory, lag)
    m = len(exchange_cost)
    states = []
    for t in range(m):
        if t == 0:
            state = filt.update(exchange_cost[0])
        else:
            state = filt.update(exchange_cost[t], straight[t - 1], crossed[t - 1])
        if state is not None:
            states.append(state)
    return np.array(states + filt.undecided(), bool)


def causal_polarity_states(
    locs,
    p_within,
    sigma_moves: int = SIGMA_MOVES,
    memory: float = MEMORY,
    lag: int = 0,
    evidence_log_odds=None,
    network_accuracy: float | None = None,
) -> np.ndarray:
    """(M,) bool: frames whose tail base and nose the live filter exchanges. The arguments
    after `lag` as for polarity.polarity_costs (`evidence_log_odds` must be causal too:
    causal_evidence.py)."""
    if len(locs) == 0:
        return np.zeros(0, bool)
    costs = polarity_costs(locs, p_within, evidence_log_odds, network_accuracy)
    return causal_states(*costs, sigma_moves, memory, lag)


def apply_states(locs, states) -> np.ndarray:
    """(M, 3, 2) keypoints with tail base and nose exchanged where `states`."""
    locs = np.asarray(locs, np.float64)
    return np.where(np.asarray(states, bool)[:, None, None], exchanged(locs), locs)


def live_polarity_states(
    locs,
    p_within,
    lag: int = 0,
    fps: float = 30.0,
    network_accuracy: float | None = None,
    tail_accuracy: float | None = None,
    seen=None,
) -> np.ndarray:
    """(M,) bool: what `live` decides for M frames, frame by frame through LivePolarity;
    `seen`: M causal_evidence.TrackedEvidence of a tracked video (None: no tracker)."""
    live = LivePolarity(lag, fps, network_accuracy, tail_accuracy, evidence=seen is not None)
    states = []
    for t in range(len(locs)):
        state = live.add(locs[t], p_within[t], None if seen is None else seen[t])
        if state is not None:
            states.append(state)
    return np.array(states + live.flush(), bool)
