"""The live (forward-only) head/tail polarity filter: the offline Viterbi's evidence, decided
frame by frame (movies/causal_polarity.py)."""

from __future__ import annotations

import numpy as np
import pytest

from direction_tagger.movies.causal_polarity import (
    CausalPolarity,
    causal_polarity_states,
    causal_states,
    frame_scores,
    live_polarity,
)
from direction_tagger.movies.polarity import polarity_certainty, polarity_costs, polarity_states


def walk(m: int = 60, heading_deg=None) -> np.ndarray:
    """(m, 3, 2) a rat walking 1 px a frame: tail base 10 px behind the neck, nose 8 ahead."""
    heading = np.radians(np.zeros(m) if heading_deg is None else heading_deg)
    unit = np.stack([np.cos(heading), -np.sin(heading)], axis=1)
    neck = 20 + np.cumsum(unit, axis=0) * 0.2
    return np.stack([neck - 10 * unit, neck, neck + 8 * unit], axis=1)


def test_a_one_frame_swap_is_undone_on_that_frame_live():
    locs = walk()
    locs[20] = locs[20, [2, 1, 0]]  # the model swapped nose and tail base on frame 20
    p = np.full((60, 3), 0.9)
    p[20] = 0.3
    live = causal_polarity_states(locs, p)
    np.testing.assert_array_equal(np.flatnonzero(live), [20])
    np.testing.assert_array_equal(live, polarity_states(locs, p))  # what offline decides


def test_a_real_turn_is_never_exchanged():
    locs = walk(90, heading_deg=np.linspace(0, 270, 90))  # a slow U-turn and more
    p = np.full((90, 3), 0.9)
    assert not causal_polarity_states(locs, p).any()


def test_a_confident_wrong_start_is_turned_only_when_the_evidence_says_so():
    """The first frames swapped but unsure, the rest confident and right: offline turns the
    start around (it sees the jump coming). Live cannot know before the jump: the frames
    before it stay as predicted, and on the jump's frame the cheaper story is still that
    this frame is the odd one (one exchange against ten); one frame later it agrees."""
    locs = walk()
    locs[:10] = locs[:10, [2, 1, 0]]
    p = np.full((60, 3), 0.95)
    p[:10] = 0.2
    offline = polarity_states(locs, p)
    live = causal_polarity_states(locs, p)
    assert offline[:10].all() and not offline[10:].any()
    assert not live[:10].any() and live[10] and not live[11:].any()


def test_one_update_per_frame_is_the_whole_movie_filter():
    rng = np.random.default_rng(0)
    locs = walk(80) + rng.normal(0, 0.5, (80, 3, 2))
    swapped = rng.random(80) < 0.1
    locs[swapped] = locs[swapped][:, [2, 1, 0]]
    p = rng.uniform(0.2, 1.0, (80, 3))
    filt = CausalPolarity()
    one_by_one = [
        filt.update(*frame_scores(locs[t - 1] if t else None, locs[t], p[t])) for t in range(80)
    ]
    np.testing.assert_array_equal(one_by_one, causal_states(*polarity_costs(locs, p)))
    np.testing.assert_array_equal(one_by_one, causal_polarity_states(locs, p))


def test_sigma_is_the_median_of_the_moves_so_far_at_least_1_px():
    filt = CausalPolarity(sigma_moves=3)
    assert filt.sigma == 1.0
    filt.update(0.0)
    for move in (4.0, 6.0, 5.0, 0.5, 0.5):
        filt.update(0.0, move, move)
    assert filt.sigma == 1.0  # median of the last 3 moves (5, 0.5, 0.5) is 0.5: at least 1 px
    filt.update(0.0, 8.0, 8.0)
    filt.update(0.0, 9.0, 9.0)
    assert filt.sigma == 8.0


def test_the_past_is_held_against_the_present_only_so_far():
    """The model turns its answer around for good (a long, confident run): the jump into
    the run costs at most polarity.MAX_MOVE_COST (12 nats), as offline, so the filter
    follows the model once the run's exchange costs (2.9 a frame) outweigh it: 4 frames.
    (Uncapped, the jump of 36 px would cost ~650: hundreds of frames.)"""
    locs = walk(80)
    locs[20:] = locs[20:, [2, 1, 0]]
    p = np.full((80, 3), 0.9)
    live = causal_polarity_states(locs, p)
    np.testing.assert_array_equal(np.flatnonzero(live), [20, 21, 22, 23])


def test_a_lag_lets_the_filter_see_a_run_end():
    """The wrong start of the test above, decided 15 frames late: the jump at frame 10 and
    the confident frames after it are seen before frames 0-9 are decided, so they are
    turned around as offline."""
    locs = walk()
    locs[:10] = locs[:10, [2, 1, 0]]
    p = np.full((60, 3), 0.95)
    p[:10] = 0.2
    offline = polarity_states(locs, p)
    np.testing.assert_array_equal(causal_polarity_states(locs, p, lag=15), offline)
    # too short a lag for the run: the first frames are decided before the jump comes
    assert not causal_polarity_states(locs, p, lag=5)[:5].any()


def test_with_a_lag_each_frame_is_decided_once_lag_frames_late():
    rng = np.random.default_rng(2)
    locs = walk(30) + rng.normal(0, 0.5, (30, 3, 2))
    p = rng.uniform(0.2, 1.0, (30, 3))
    for lag in (0, 1, 4, 29, 40):
        filt = CausalPolarity(lag=lag)
        decided = [
            filt.update(*frame_scores(locs[t - 1] if t else None, locs[t], p[t])) for t in range(30)
        ]
        assert all(s is None for s in decided[:lag]) and None not in decided[lag:]
        states = [s for s in decided if s is not None] + [s for s, _ in filt.undecided()]
        assert len(states) == 30
        np.testing.assert_array_equal(states, causal_polarity_states(locs, p, lag=lag))


def test_a_lag_over_the_whole_movie_gives_the_offline_certainty():
    """Certainty is the posterior of the chosen state over all paths (forward-backward):
    with the whole movie in the lag, the offline polarity_certainty, frame for frame (moves
    of under 1 px, and few swaps: both sigmas are 1 px). A run of 8 swapped frames whose
    exchange costs (~2.9 each) about match the two jumps that bound it (12 nats each) is in
    doubt."""
    rng = np.random.default_rng(3)
    locs = walk(40)
    swapped = [8, *range(20, 28)]
    locs[swapped] = locs[swapped][:, [2, 1, 0]]
    p = rng.uniform(0.88, 0.92, (40, 3))
    costs = polarity_costs(locs, p)
    offline = polarity_states(locs, p)
    states, certainty = live_polarity(locs, p, lag=40)
    np.testing.assert_array_equal(states, offline)
    np.testing.assert_allclose(certainty, polarity_certainty(*costs, offline), atol=1e-9)
    assert certainty.min() < 0.9  # some frames are in doubt
    # with no lag, each frame's certainty given the frames up to it: the last frame's is
    # the whole movie's, the others differ
    _, forward = live_polarity(locs, p, lag=0)
    assert forward[-1] == pytest.approx(polarity_certainty(*costs, states)[-1])
    assert np.abs(forward - certainty).max() > 0.1
