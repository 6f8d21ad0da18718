"""The tail base from the tracker's tail root where the network is less likely right (issue
#24: on a real video of a new rig the network put the tail base half a body inside the animal
on a quarter of the frames, while the tracker saw the tail's root)."""

from __future__ import annotations

import numpy as np
import pandas as pd
from test_polarity_evidence import walking_rat

from direction_tagger.movies.chunked import smooth_file
from direction_tagger.movies.evidence import PolarityEvidence, evidence_from_track
from direction_tagger.movies.postprocess import smooth_and_check
from direction_tagger.movies.tables import movie_table
from direction_tagger.movies.tail_base import (
    MIN_FRAMES,
    base_from_root,
    fit_root_estimate,
    rump_offsets,
)

M = 400
LOST = slice(300, 400)  # the network loses the tail base on these frames
ROOT_OUT_PX = 2.5  # the tail's root lies this far behind the labelled tail base
# P(within R px) = the network's confidence: logit(P) = logit(confidence)
CALIBRATION = {"tta": 0, "coefficients": {"2": [0.0, 1.0, 0.0], "3": [0.0, 1.0, 0.0]}}


def material(seed: int = 0):
    """(truth, the network's answer, its confidence, tail roots) of a walking rat whose tail
    base the network puts mid-body, unsure, on the LOST frames."""
    rng = np.random.default_rng(seed)
    truth = walking_rat(curl=())
    axis = np.array([1.0, 0.0])  # the rat walks along +x: tail base -> neck
    roots = truth[:, 0] - ROOT_OUT_PX * axis + rng.normal(0, 0.4, (M, 2))
    raw = truth + rng.normal(0, 0.3, truth.shape)
    raw[LOST, 0] = (truth[LOST, 0] + truth[LOST, 1]) / 2  # mid-body
    confidence = np.full((M, 3), 0.999)  # surer than the root (its P is measured: ~0.997)
    confidence[LOST, 0] = 0.2
    return truth, raw, confidence, roots


def test_the_estimate_is_measured_where_the_network_is_sure_of_the_rump():
    truth, raw, confidence, roots = material()
    offsets = rump_offsets(raw, confidence, roots)
    assert np.isfinite(offsets[:300]).all() and np.isnan(offsets[LOST]).all()
    estimate = fit_root_estimate(offsets)
    assert abs(estimate.offset_px - ROOT_OUT_PX) < 0.2
    assert estimate.frames == 300
    assert 0.9 < estimate.p_within_2 <= estimate.p_within_3 < 1.0  # never certain
    # the network the other way round: the rump is where the root is, whichever end that is
    flipped = rump_offsets(raw[:, ::-1], confidence[:, ::-1], roots)
    np.testing.assert_allclose(flipped, offsets)
    assert fit_root_estimate(offsets[: MIN_FRAMES - 1]) is None


def test_the_tail_base_comes_from_the_root_only_where_that_is_likelier_right():
    truth, raw, confidence, roots = material()
    roots[320:330] = truth[320:330, 2]  # a cable at the nose: never taken for the tail base
    roots[340:345] = np.nan  # no tail seen
    raw[360:370, 0] = raw[360:370, 2] + 1.0  # the body collapsed on the head: no end to vote
    raw[370:375, 0] = raw[370:375, 2] + 1.0
    roots[370:375] = raw[370:375, 2] + 2.0  # ... and the root there too: nothing to go on
    estimate = fit_root_estimate(rump_offsets(raw, confidence, roots))
    locs, p2, p3, used = base_from_root(raw, confidence, confidence, roots, estimate)
    expected = np.zeros(M, bool)
    expected[LOST] = True
    expected[320:330] = expected[340:345] = expected[370:375] = False
    np.testing.assert_array_equal(used, expected)
    error = np.linalg.norm(locs[:, 0] - truth[:, 0], axis=-1)
    assert error[used].max() < 2.0  # was half a body (11 px) off
    np.testing.assert_array_equal(locs[~used], raw[~used])
    assert (p3[used, 0] == estimate.p_within_3).all() and (p2[used, 0] == estimate.p_within_2).all()
    np.testing.assert_array_equal(p3[~used], confidence[~used])
    # no estimate (no calibration, too few frames): nothing changes
    same, *_, none_used = base_from_root(raw, confidence, confidence, roots, None)
    assert not none_used.any() and (same == raw).all()


def test_the_cleaned_table_carries_it_the_same_in_chunks(tmp_path):
    truth, raw, confidence, roots = material()
    evidence = PolarityEvidence(roots, np.full((M, 2), np.nan))
    table = movie_table(raw, confidence, None, 30.0)
    whole = smooth_and_check(table, {}, {}, calibration=CALIBRATION, evidence=evidence)
    out = whole.table
    np.testing.assert_array_equal(out["base_from_tail_root"].to_numpy(), np.arange(M) >= 300)
    base = out[["base_x", "base_y"]].to_numpy()
    assert np.linalg.norm(base[LOST] - truth[LOST, 0], axis=-1).max() < 2.0
    assert (out["base_x_raw"].to_numpy() == table["base_x"].to_numpy()).all()  # the model's
    summary = whole.qc["tail_base_from_root"]
    assert summary["frames_from_root"] == 100 and summary["measured_on_frames"] == 300
    # the uncertain flag reads the estimate's P, not the network's 0.2
    assert not out["qc_uncertain"].to_numpy()[LOST].any()

    table.to_csv(tmp_path / "raw.csv", index=False)
    qc = smooth_file(
        tmp_path / "raw.csv",
        tmp_path / "out.csv",
        {},
        {},
        calibration=CALIBRATION,
        evidence=evidence,
        rows=64,
    )
    chunked = pd.read_csv(tmp_path / "out.csv")
    np.testing.assert_array_equal(chunked["base_from_tail_root"], out["base_from_tail_root"])
    np.testing.assert_allclose(chunked[["base_x", "base_y"]], base, atol=1e-3)
    assert qc["tail_base_from_root"] == summary

    # smoothing the cleaned table again gives the same table (it starts from the *_raw)
    again = smooth_and_check(out, {}, {}, calibration=CALIBRATION, evidence=evidence).table
    pd.testing.assert_frame_equal(again, out)


def test_without_calibration_or_evidence_the_network_answer_stays():
    truth, raw, confidence, roots = material()
    evidence = PolarityEvidence(roots, np.full((M, 2), np.nan))
    table = movie_table(raw, confidence, None, 30.0)
    plain = smooth_and_check(table, {}, {}, evidence=evidence)
    assert not plain.table["base_from_tail_root"].any()
    assert "tail_base_from_root" not in plain.qc
    assert "base_from_tail_root" not in smooth_and_check(table, {}, {}).table


def test_a_tail_root_that_strays_from_its_neighbours_for_a_few_frames_is_dropped():
    """On a real video the tracker took something at the head for the tail on 5 frames
    between roots at the rump; the polarity pass followed it there (5 frames swapped)."""
    m = 120
    angle = np.radians(np.linspace(0, 360, m))  # a full turn in 4 s: roots move steadily
    roots = 24.5 + 11.0 * np.stack([np.cos(angle), np.sin(angle)], axis=1)
    roots[60:65] = 24.5 - (roots[60:65] - 24.5)  # 5 frames: the opposite end
    roots[90] = np.nan  # no tail seen
    track = pd.DataFrame(
        {
            "crop_x": np.full(m, 300.0),
            "crop_y": np.full(m, 200.0),
            "crop_side": np.full(m, 200.0),
            "body_length_px": np.full(m, 100.0),  # 25 crop px
            "tail_root_x_crop": roots[:, 0],
            "tail_root_y_crop": roots[:, 1],
        }
    )
    kept = evidence_from_track(track, 30.0).tail_root
    dropped = np.isfinite(roots).all(axis=1) & ~np.isfinite(kept).all(axis=1)
    np.testing.assert_array_equal(np.flatnonzero(dropped), np.arange(60, 65))
    np.testing.assert_array_equal(kept[~dropped], roots[~dropped])
