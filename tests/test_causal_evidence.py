"""The tracker's polarity evidence frame by frame (movies/causal_evidence.py): with 7 frames
of look-ahead a frame gets the offline votes (evidence.py), the weights counted as frames
come end where the offline ones are, and nothing reads a frame after the look-ahead."""

from __future__ import annotations

import numpy as np
import pandas as pd

from direction_tagger.movies.causal_evidence import (
    FULL_LOOKAHEAD,
    CausalEvidence,
    evidence_rows,
)
from direction_tagger.movies.evidence import (
    steady_roots,
    tail_votes,
    travel_directions,
    travel_votes,
    trusted_frames,
    vote_weights,
)

FPS = 30.0
SIDE = 100.0  # crop side, video px: 2 video px per crop px
BODY = 50.0  # video px (25 crop px)


def track_and_locs(m: int = 240, seed: int = 0):
    """A track table of a rat that walks, stops and turns back, its tail roots noisy with
    a few strays and misses, and the model's keypoints (crop px) with a run swapped."""
    rng = np.random.default_rng(seed)
    speed = np.where((np.arange(m) // 40) % 3 == 2, 0.0, 3.0)  # px a frame; some stops
    heading = np.where(np.arange(m) < m // 2, 0.0, np.pi)  # turns back half way
    step = speed[:, None] * np.stack([np.cos(heading), np.sin(heading)], axis=1)
    centre = 300 + np.cumsum(step, axis=0)
    axis = np.stack([np.cos(heading), np.sin(heading)], axis=1)  # tail -> nose
    crop = np.full((m, 2), 24.5)
    locs = np.stack([crop - 12 * axis, crop + 2 * axis, crop + 12 * axis], axis=1)
    locs = locs + rng.normal(0, 0.5, locs.shape)
    locs[100:115] = locs[100:115, [2, 1, 0]]  # the model has them the wrong way round
    root = crop - 13 * axis + rng.normal(0, 0.7, (m, 2))
    root[rng.random(m) < 0.1] = np.nan  # no tail seen
    strays = rng.choice(m, 8, replace=False)
    root[strays] = crop[strays] + 12 * axis[strays]  # the head taken for the tail
    table = pd.DataFrame(
        {
            "crop_x": centre[:, 0],
            "crop_y": centre[:, 1],
            "crop_side": SIDE,
            "body_length_px": BODY + rng.normal(0, 1e-3, m),
            "tail_root_x_crop": root[:, 0],
            "tail_root_y_crop": root[:, 1],
        }
    )
    p2 = np.clip(rng.uniform(0.3, 1.0, (m, 3)), 0, 1)
    return table, locs, p2


def judge_all(table, locs, p2, lookahead):
    """(log odds (M,), votes (M, 2), final weights) of CausalEvidence over the movie."""
    evidence = CausalEvidence(FPS, 0.9, None, lookahead)
    out, votes = [], []
    for t, seen in enumerate(evidence_rows(table)):
        value = evidence.add(locs[t], p2[t], seen)
        if value is not None:
            out.append(value)
            votes.append(evidence.votes)
    for value in evidence.flush():
        out.append(value)
        votes.append(evidence.votes)
    return np.array(out), np.array(votes), evidence.weights


def test_with_full_lookahead_a_frame_gets_the_offline_votes_and_weights():
    table, locs, p2 = track_and_locs()
    m = len(table)
    log_odds, votes, weights = judge_all(table, locs, p2, FULL_LOOKAHEAD)
    assert len(log_odds) == m
    root = steady_roots(table[["tail_root_x_crop", "tail_root_y_crop"]].to_numpy(), BODY / 2)
    travel = travel_directions(table[["crop_x", "crop_y"]].to_numpy(), BODY, FPS)
    offline_tail, offline_travel = tail_votes(locs, root), travel_votes(locs, travel)
    inside = slice(FULL_LOOKAHEAD, m - FULL_LOOKAHEAD)  # the end's windows are cut short
    np.testing.assert_array_equal(votes[inside, 0], offline_tail[inside])
    np.testing.assert_array_equal(votes[inside, 1], offline_travel[inside])
    # the votes do say something here: strays dropped, the swapped run voted against
    assert (offline_tail[100:115] == -1).mean() > 0.7 and (offline_travel == 1).sum() > 50
    # the weights, counted as the frames came, end where the offline ones are measured
    offline = vote_weights(votes[:, 0], votes[:, 1], 0.9, None, trusted_frames(p2))
    np.testing.assert_allclose(weights, offline)
    assert min(weights) > 1.0


def test_nothing_is_read_after_the_lookahead():
    table, locs, p2 = track_and_locs()
    changed = table.copy()
    changed.loc[150:, ["crop_x", "tail_root_x_crop"]] += 40.0  # a different future
    for lookahead in (0, 3, FULL_LOOKAHEAD):
        before, _, _ = judge_all(table, locs, p2, lookahead)
        after, _, _ = judge_all(changed, locs, p2, lookahead)
        decided = 150 - lookahead  # frames judged before frame 150 came
        np.testing.assert_array_equal(before[:decided], after[:decided])
        assert (before[decided:] != after[decided:]).any()
