"""Polarity evidence beyond the model (issue #24): the tail root and the direction of travel
as votes, their measured weights, the Viterbi turning a whole run around, the certainty
column, and the tail root found by the tracker on synthetic arena frames."""

from __future__ import annotations

import itertools
import json

import numpy as np
import pandas as pd
import pytest
from videos_material import arena_frames, write_dlc_project

from direction_tagger.cli import main
from direction_tagger.io import load_labelled
from direction_tagger.movies.chunked import smooth_file
from direction_tagger.movies.evidence import (
    PolarityEvidence,
    exchange_log_odds,
    model_polarity_agreement,
    movie_accuracy,
    tail_root_agreement,
    tail_votes,
    travel_directions,
    travel_votes,
)
from direction_tagger.movies.polarity import (
    MAX_MOVE_COST,
    choose_polarity,
    exchanged,
    polarity_certainty,
    viterbi_states,
)
from direction_tagger.movies.postprocess import smooth_and_check
from direction_tagger.movies.tables import movie_table
from direction_tagger.videos.dlc import import_project
from direction_tagger.videos.finder import build_background, find_animal

M = 400  # the swapped run is a small share of the movie, as on real videos
RUN = slice(50, 65)  # 15 frames the model has the wrong way round throughout


def walking_rat(m: int = M, curl=(49.5, 64.5)) -> np.ndarray:
    """(m, 3, 2) crop px of a rat walking right along y = 24.5 whose body curls up (tail base
    and nose nearly together) for a few frames around each frame in `curl`: where a model
    swaps ends without a jump."""
    t = np.arange(m, dtype=float)
    length = np.full(m, 22.0)
    for c in curl:
        length -= 21.5 * np.exp(-0.5 * ((t - c) / 1.5) ** 2)
    centre = np.stack([14.0 + 0.15 * t, np.full(m, 24.5)], axis=1)
    axis = np.array([1.0, 0.0])
    base = centre - 0.5 * length[:, None] * axis
    nose = centre + 0.5 * length[:, None] * axis
    neck = centre + 0.2 * length[:, None] * axis
    return np.stack([base, neck, nose], axis=1)


def swapped_run(truth: np.ndarray) -> np.ndarray:
    raw = truth.copy()
    raw[RUN] = exchanged(truth[RUN])
    return raw


def test_votes_follow_the_tail_root_and_the_travel():
    locs = np.array([[[10.0, 24.5], [20.0, 24.5], [30.0, 24.5]]] * 4)
    roots = np.array([[9.0, 25.0], [31.0, 24.0], [20.0, 24.5], [np.nan, np.nan]])
    # at the tail base: keep; at the nose: exchange; mid-body or unseen: no vote
    assert tail_votes(locs, roots).tolist() == [1, -1, 0, 0]
    travel = np.array([[1.0, 0.0], [-1.0, 0.0], [0.0, 1.0], [np.nan, np.nan]])
    assert travel_votes(locs, travel).tolist() == [1, -1, 0, 0]


def test_a_vote_is_weighed_by_how_often_it_agrees_with_a_measured_model():
    # model right on 95 %: a vote agreeing 90 % of the time is right (0.9 - 0.05) / 0.9
    votes = np.array([1] * 900 + [-1] * 100)
    assert movie_accuracy(votes, 0.95) == pytest.approx((901 / 1002 - 0.05) / 0.9)
    # a cable taken for the tail disagrees on most frames: no weight, never a negative one
    assert movie_accuracy(np.array([-1] * 90 + [1] * 10), 0.95) == 0.5
    assert movie_accuracy(np.array([1] * 4), 0.95) == 0.5  # too few votes to measure
    # measured on the frames where the model is sure of both ends only
    trusted = np.array([True] * 900 + [False] * 100)
    assert movie_accuracy(votes, 0.95, trusted) == 0.98  # the 100 against are not counted
    # on labelled frames: right when the root lies at the labelled tail base
    labels = np.array([[[10.0, 24.5], [20.0, 24.5], [30.0, 24.5]]] * 3)
    roots = np.array([[10.0, 24.0], [11.0, 25.0], [30.0, 24.5]])
    assert tail_root_agreement(labels, roots) == {"frames": 3, "right": 2, "accuracy": 0.6}
    predicted = labels.copy()
    predicted[0] = exchanged(labels[:1])[0]
    assert model_polarity_agreement(predicted, labels)["right"] == 2


def test_correct_tail_evidence_turns_a_whole_swapped_run_around():
    truth = walking_rat()
    raw = swapped_run(truth)
    p = np.full((M, 3), 0.97)  # the model is as sure of the swapped frames as of the others
    # without evidence the run stays: its ends are curled bodies, where exchanging is cheap
    # (on a body curled to a point either polarity will do)
    states, _ = choose_polarity(raw, p, network_accuracy=0.97)
    assert not states[RUN][1:-1].any()
    # the tail root seen at the true tail base on (nearly) every frame
    evidence = PolarityEvidence(truth[:, 0] + 0.5, np.full((M, 2), np.nan))
    odds = exchange_log_odds(raw, evidence, network_accuracy=0.97)
    # no vote on the curled ends (too short to tell), 'exchange' in between
    assert (odds[RUN] <= 0).all() and (odds[RUN][1:-1] < 0).all() and (odds[:45] > 0).all()
    states, certainty = choose_polarity(raw, p, odds, network_accuracy=0.97)
    expected = np.zeros(M, bool)
    expected[RUN] = True
    np.testing.assert_array_equal(states[RUN][1:-1], True)  # the curled ends: either will do
    assert not states[:45].any() and not states[70:].any()
    # sure of the run's inside and of the frames away from it; not of a body curled to a point
    assert (certainty[RUN][2:-2] > 0.95).all() and certainty[:45].min() > 0.99


def test_isolated_wrong_evidence_does_not_turn_frames_around():
    truth = walking_rat(curl=())
    roots = truth[:, 0].copy()
    wrong = np.arange(5, M, 11)  # every 11th frame the tail root is seen at the nose
    roots[wrong] = truth[wrong, 2]
    travel = np.tile([1.0, 0.0], (M, 1))
    travel[wrong] *= -1  # and the travel points backwards on the same frames
    evidence = PolarityEvidence(roots, travel)
    p = np.full((M, 3), 0.9)
    odds = exchange_log_odds(truth, evidence, network_accuracy=0.97)
    assert (odds[wrong] < 0).all()
    states, certainty = choose_polarity(truth, p, odds, network_accuracy=0.97)
    assert not states.any()
    assert certainty.min() > 0.99


def test_certainty_is_the_posterior_of_the_chosen_state_over_all_paths():
    """Forward-backward against every path of a short movie, costs as -log probabilities."""
    rng = np.random.default_rng(4)
    m = 7
    unary = rng.normal(0.0, 2.0, m)
    straight, crossed = rng.uniform(0, 3, m - 1), rng.uniform(0, 6, m - 1)  # some capped
    sigma = max(1.0, np.median(straight))
    same = np.minimum(0.5 * (straight / sigma) ** 2, MAX_MOVE_COST)
    cross = np.minimum(0.5 * (crossed / sigma) ** 2, MAX_MOVE_COST)
    paths = np.array(list(itertools.product([0, 1], repeat=m)))
    cost = (paths * unary).sum(axis=1) + np.where(paths[:, 1:] == paths[:, :-1], same, cross).sum(
        axis=1
    )
    weight = np.exp(-(cost - cost.min()))
    p1 = (weight[:, None] * paths).sum(axis=0) / weight.sum()
    states = viterbi_states(unary, straight, crossed)
    np.testing.assert_array_equal(states, paths[np.argmin(cost)].astype(bool))
    certainty = polarity_certainty(unary, straight, crossed, states)
    np.testing.assert_allclose(certainty, np.where(states, p1, 1 - p1), rtol=1e-9)


def test_travel_is_read_only_when_the_animal_moves_fast():
    fps, body = 30.0, 50.0
    slow = np.stack([np.arange(40) * 0.5, np.zeros(40)], axis=1)  # 15 px/s: 0.3 bodies/s
    fast = np.stack([np.zeros(40), np.arange(40) * -5.0], axis=1)  # 150 px/s up the image
    assert np.isnan(travel_directions(slow, body, fps)).all()
    directions = travel_directions(fast, body, fps)
    np.testing.assert_allclose(directions[3:-3], np.tile([0.0, -1.0], (34, 1)))
    assert np.isnan(directions[:3]).all() and np.isnan(directions[-3:]).all()


def _table(raw: np.ndarray) -> pd.DataFrame:
    return movie_table(raw, np.full((len(raw), 3), 0.97), None, 30.0)


def test_the_cleaned_table_turns_the_run_and_says_how_sure_it_is(tmp_path):
    truth = walking_rat()
    raw = swapped_run(truth)
    evidence = PolarityEvidence(truth[:, 0] + 0.5, np.full((M, 2), np.nan))
    # no calibration: the model's confidence as is, its polarity accuracy the default
    out = smooth_and_check(_table(raw), {}, {}, evidence=evidence)
    table = out.table
    np.testing.assert_array_equal(table["polarity_exchanged"].to_numpy()[RUN][1:-1], True)
    assert not table["polarity_exchanged"].to_numpy()[:45].any()
    # a posterior (below 0.5 only where the best path and the frame's own odds disagree: on
    # the curled ends)
    assert table["polarity_certainty"].between(0.0, 1.0).all()
    assert (table["polarity_certainty"].to_numpy()[RUN][2:-2] > 0.99).all()
    # tail base where the tail base is (smoothing moves the curling frames a little)
    np.testing.assert_allclose(table["base_x"], truth[:, 0, 0], atol=2.0)
    # the chunked path (the one the workflow runs) gives the same table
    raw_csv = tmp_path / "raw.csv"
    _table(raw).to_csv(raw_csv, index=False)
    smooth_file(raw_csv, tmp_path / "out.csv", {}, {}, evidence=evidence, rows=40)
    chunked = pd.read_csv(tmp_path / "out.csv")
    np.testing.assert_array_equal(
        chunked["polarity_exchanged"].to_numpy(), table["polarity_exchanged"].to_numpy()
    )
    np.testing.assert_allclose(
        chunked["polarity_certainty"], table["polarity_certainty"], atol=1e-6
    )


def test_chunks_weigh_the_evidence_on_the_frames_the_whole_movie_trusts(tmp_path):
    """Evidence weights are measured on the frames where the model is sure of both ends: the
    chunked pass must count the same frames as the whole-movie one."""
    truth = walking_rat()
    raw = swapped_run(truth)
    confidence = np.full((M, 3), 0.97)
    confidence[200:, [0, 2]] = 0.2  # the model unsure of both ends on half of the movie
    roots = truth[:, 0] + 0.5
    roots[200:] = truth[200:, 2]  # where it is unsure, the root (a cable) points the other way
    evidence = PolarityEvidence(roots, np.full((M, 2), np.nan))
    table = movie_table(raw, confidence, None, 30.0)
    whole = smooth_and_check(table, {}, {}, evidence=evidence).table
    table.to_csv(tmp_path / "raw.csv", index=False)
    smooth_file(tmp_path / "raw.csv", tmp_path / "out.csv", {}, {}, evidence=evidence, rows=64)
    chunked = pd.read_csv(tmp_path / "out.csv")
    np.testing.assert_array_equal(
        chunked["polarity_exchanged"].to_numpy(), whole["polarity_exchanged"].to_numpy()
    )
    np.testing.assert_allclose(
        chunked["polarity_certainty"], whole["polarity_certainty"], atol=1e-6
    )
    # measured on the trusted half, the tail root is right: the run is turned around
    assert whole["polarity_exchanged"].to_numpy()[RUN][1:-1].all()


def test_the_tracker_finds_the_tail_root_at_the_tail_base():
    """Synthetic arena frames (a pale tail, no cable) with the tail base known."""
    frames, truth = arena_frames(40, seed=3, tether=False)
    bg = build_background(frames[::3])
    body = np.median(np.linalg.norm(truth[:, 2] - truth[:, 0], axis=-1))
    found, near_base, to_base = 0, 0, []
    for frame, t in zip(frames, truth):
        det = find_animal(frame, bg, length=body)
        if not np.isfinite(det.tail_x):
            continue
        found += 1
        root = np.array([det.tail_x, det.tail_y])
        d_base, d_nose = np.linalg.norm(root - t[0]), np.linalg.norm(root - t[2])
        near_base += d_base < d_nose
        to_base.append(d_base)
    assert found >= 0.55 * len(frames)  # a pale tail on a dim frame may not be seen
    assert near_base >= 0.9 * found  # at the rump, not the head
    assert np.median(to_base) < 0.15 * body


def test_an_imported_dlc_project_measures_how_well_the_tail_root_tells_the_rump(tmp_path):
    """The labelled frames keep the tracker's tail root; the label reference says how often it
    lies at the labelled tail base (the cap on the tail vote's weight)."""
    write_dlc_project(tmp_path / "project", recordings=2, frames=12)
    import_project(tmp_path / "project", tmp_path / "labelled.npz", progress=False)
    labelled = load_labelled(tmp_path / "labelled.npz")
    assert labelled.extra["tail_root"].shape == (len(labelled), 2)
    assert (
        main(
            [
                "qc-reference",
                "--labelled",
                str(tmp_path / "labelled.npz"),
                "--out",
                str(tmp_path / "ref.json"),
            ]
        )
        == 0
    )
    measured = json.loads((tmp_path / "ref.json").read_text())["tail_root"]
    assert measured["frames"] >= 0.8 * len(labelled)
    assert measured["right"] >= 0.9 * measured["frames"]
