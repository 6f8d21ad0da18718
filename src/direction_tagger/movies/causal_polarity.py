"""Head/tail polarity decided frame by frame, as the frames come: the offline Viterbi
(polarity.py) run forward, for live use, optionally with a few frames of hindsight.

The evidence is the offline chain's, frame for frame: the cost of exchanging tail base and
nose on a frame (logit of the calibrated chance that the model's polarity is right, capped at
the model's polarity accuracy measured by `calibrate`), plus on tracked videos the tracker's
votes (tail root, direction of travel) weighed by their measured accuracies
(causal_evidence.py: the same votes, their weights counted on the frames so far), and the
moves between consecutive frames under the two states, costed (d / sigma)^2 / 2, at most
polarity.MAX_MOVE_COST. Offline, the best path through the whole movie is read back from its
end; live, frame t is decided when frame t + lag has come, as the best path ending there
passes through it (a fixed-lag smoother: the Viterbi's back pointers kept for `lag` frames).

With lag 0 a swap is undone as soon as the moves into it cost more than exchanging it, but a
run of unsure frames that the offline path turns around only when it sees how the run ends
(the model confident again, or the evidence) stays as predicted: what the lag buys. As the
move cost is capped, the two paths' costs never differ by more than the cap: the past holds
at most that much against the present (an earlier bound, the surest frame's exchange cost,
is no longer needed and measured worse).

sigma, offline the movie's median straight move, is here the median of the last
`SIGMA_MOVES` straight moves (at least 1 px; 1 px before any move): what is known so far.

With the tracker's evidence, a lag first completes its windows (the travel's, up to
EVIDENCE_LOOKAHEAD frames: `split_lag`), the rest goes to the path. Measured in
benchmarks/bench_live.py (README).
"""

from __future__ import annotations

import math
from collections import deque

import numpy as np

from .causal_evidence import CausalEvidence
from .evidence import TRAVEL_HALF_WINDOW
from .polarity import MAX_MOVE_COST, exchanged, polarity_costs

SIGMA_MOVES = 1000  # straight moves the running sigma looks back over (~33 s at 30 fps)
# frames of a lag that go to the evidence's windows before the path: the travel's complete
# (the tail root's steadiness check then sees 7 frames back and 3 ahead). Measured against 0,
# 1, 2, 5 and 7 on the synthetic arena and real videos (bench_live.py).
EVIDENCE_LOOKAHEAD = TRAVEL_HALF_WINDOW


class CausalPolarity:
    """The forward polarity filter; one `update` per frame, in order.

    `lag`: frames of look-ahead (a fixed-lag smoother). Frame t is decided when frame
    t + lag has come: the best path ending at t + lag, read back `lag` steps (the offline
    Viterbi's back pointers, kept for the last `lag` frames only). lag 0 is the forward
    filter; a lag as long as the movie is the offline path (same costs).

    `certainty` (after `update`): the posterior probability of the state returned, from the
    same costs read as negative log probabilities summed over all paths
    (polarity.polarity_certainty) given the frames so far: a forward pass, and a backward
    one over the last `lag` frames."""

    def __init__(self, sigma_moves: int = SIGMA_MOVES, lag: int = 0):
        self._moves = np.zeros(sigma_moves)  # a ring of the last straight moves (px)
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
        # the forward pass over all paths: (cost of state 0, of state 1) of the last lag + 1
        # frames, and (same, cross, exchange cost) into each of the last `lag`
        self._forward: deque = deque(maxlen=self.lag + 1)
        self._steps: deque = deque(maxlen=max(1, self.lag))
        self.certainty = 1.0

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
            self._forward.append(self._totals)
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
            self._totals = (best0 - low, best1 - low)
            f0, f1 = self._forward[-1]  # the forward pass: all paths, not only the best
            sum0 = _sum_costs(f0 + same, f1 + cross)
            sum1 = _sum_costs(f1 + same, f0 + cross) + float(exchange_cost)
            low = min(sum0, sum1)
            self._forward.append((sum0 - low, sum1 - low))
            if self.lag:
                self._steps.append((same, cross, float(exchange_cost)))
        if self.lag and len(self._back) < self.lag:
            return None
        state = self.pending()[0]
        p1 = self.exchange_probabilities()[0]
        self.certainty = p1 if state else 1.0 - p1
        return state

    def exchange_probabilities(self) -> list[float]:
        """P(state 1) of the frames `pending` gives, given the frames so far."""
        forward, steps = list(self._forward), list(self._steps)
        out = [0.0] * len(forward)
        b0 = b1 = 0.0  # backward costs from the newest frame
        for i in range(len(forward) - 1, -1, -1):
            c0, c1 = forward[i][0] + b0, forward[i][1] + b1
            out[i] = 1.0 / (1.0 + math.exp(max(-700.0, min(700.0, c1 - c0))))
            if i:
                same, cross, unary = steps[i - 1]
                b0, b1 = (
                    _sum_costs(same + b0, cross + unary + b1),
                    _sum_costs(cross + b0, same + unary + b1),
                )
        return out

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

    def undecided(self) -> list[tuple[bool, float]]:
        """`pending` less the frame `update` has already returned: what is left to decide
        at the end of a stream, oldest first, each (state, certainty)."""
        states = self.pending()
        p1 = self.exchange_probabilities()
        pairs = [(state, p if state else 1.0 - p) for state, p in zip(states, p1)]
        return pairs[1:] if pairs and self._count >= self.lag else pairs


def _sum_costs(a: float, b: float) -> float:
    """-log(exp(-a) + exp(-b)): two paths' costs (nats) summed as probabilities."""
    low, high = (a, b) if a < b else (b, a)
    return low - math.log1p(math.exp(low - high))


def split_lag(lag: int, evidence: bool) -> tuple[int, int]:
    """(evidence look-ahead, filter lag) of a total `lag` (frames): with the tracker's
    evidence, its windows are completed first (EVIDENCE_LOOKAHEAD frames), the rest goes to
    the path; without, all to the path."""
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

    def _enter(self, log_odds: float) -> tuple[bool, float] | None:
        locs, p = self._waiting.popleft()
        cost, straight, crossed = frame_scores(self._previous, locs, p, self.network_accuracy)
        self._previous = locs
        state = self.filter.update(cost + log_odds, straight, crossed)
        return None if state is None else (state, self.filter.certainty)

    def add(self, locs, p_within, seen=None) -> tuple[bool, float] | None:
        """(state, its certainty) of the frame `lag` back, or None, after this frame: locs
        (3, 2) the model's keypoints, p_within (3,) calibrated P(within 2 px), `seen` the
        tracker's causal_evidence.TrackedEvidence (with `evidence` only)."""
        self._waiting.append((np.asarray(locs, np.float64), np.asarray(p_within, np.float64)))
        if self.evidence is None:
            return self._enter(0.0)
        log_odds = self.evidence.add(locs, p_within, seen)
        return None if log_odds is None else self._enter(log_odds)

    def flush(self) -> list[tuple[bool, float]]:
        """(state, certainty) of the frames not decided yet, with what came before the end."""
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
    lag: int = 0,
) -> np.ndarray:
    """(M,) bool: the live filter's states over a whole movie, from the offline costs
    (`polarity_costs`): what `live` would have decided with this `lag`, to compare with
    `viterbi_states` (the last `lag` frames decided at the movie's end, as `live` does)."""
    filt = CausalPolarity(sigma_moves, lag)
    m = len(exchange_cost)
    states = []
    for t in range(m):
        if t == 0:
            state = filt.update(exchange_cost[0])
        else:
            state = filt.update(exchange_cost[t], straight[t - 1], crossed[t - 1])
        if state is not None:
            states.append(state)
    return np.array(states + [state for state, _ in filt.undecided()], bool)


def causal_polarity_states(
    locs,
    p_within,
    sigma_moves: int = SIGMA_MOVES,
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
    return causal_states(*costs, sigma_moves, lag)


def apply_states(locs, states) -> np.ndarray:
    """(M, 3, 2) keypoints with tail base and nose exchanged where `states`."""
    locs = np.asarray(locs, np.float64)
    return np.where(np.asarray(states, bool)[:, None, None], exchanged(locs), locs)


def live_polarity(
    locs,
    p_within,
    lag: int = 0,
    fps: float = 30.0,
    network_accuracy: float | None = None,
    tail_accuracy: float | None = None,
    seen=None,
) -> tuple[np.ndarray, np.ndarray]:
    """((M,) bool exchanged, (M,) certainty): what `live` decides for M frames, frame by
    frame through LivePolarity; `seen`: M causal_evidence.TrackedEvidence of a tracked video
    (None: no tracker)."""
    live = LivePolarity(lag, fps, network_accuracy, tail_accuracy, evidence=seen is not None)
    decided = []
    for t in range(len(locs)):
        answer = live.add(locs[t], p_within[t], None if seen is None else seen[t])
        if answer is not None:
            decided.append(answer)
    decided += live.flush()
    states = np.array([state for state, _ in decided], bool)
    return states, np.array([certainty for _, certainty in decided], np.float64)


def live_polarity_states(*args, **options) -> np.ndarray:
    """(M,) bool: `live_polarity`'s states."""
    return live_polarity(*args, **options)[0]
