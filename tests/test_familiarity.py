"""A movie unlike the labelled frames is said to be so (issue #24: on a real video of another
rig the network's neck confidence fell from 0.92 to 0.51 and `uncertain` flagged 69 % of the
frames; the QC summary and summary.md now say why, once, for the movie), and per frame the
unfamiliar keypoint is judged against the movie's own frames (smooth.unfamiliar: movie)."""

from __future__ import annotations

import json
import re

import numpy as np
import pandas as pd
import pytest
from test_polarity_evidence import walking_rat

from direction_tagger.live.stream import CausalStream
from direction_tagger.movies.chunked import smooth_file
from direction_tagger.movies.familiarity import familiarity, familiarity_line
from direction_tagger.movies.postprocess import smooth_and_check
from direction_tagger.movies.tables import movie_table, write_table
from direction_tagger.report.summary import build_summary

CALIBRATION = {
    "tta": 0,
    "coefficients": {"2": [0.0, 1.0, 0.0], "3": [0.0, 1.0, 0.0]},
    "confidence": {k: {"p5": 0.8, "median": 0.92} for k in ("base", "neck", "head")},
}


def confidences(m: int, neck: float) -> np.ndarray:
    c = np.full((m, 3), 0.93)
    c[:, 1] = neck
    return c


def test_a_keypoint_the_network_is_far_less_sure_of_is_unfamiliar():
    result = familiarity(confidences(100, 0.51), CALIBRATION)
    assert result["unfamiliar"] == ["neck"]
    assert result["neck"]["movie_median"] == 0.51 and result["neck"]["validation_p5"] == 0.8
    line = familiarity_line("openfield", result)
    assert "openfield" in line and "neck 0.51 (validation 0.92)" in line
    assert familiarity(confidences(100, 0.85), CALIBRATION)["unfamiliar"] == []
    assert familiarity_line("x", familiarity(confidences(100, 0.85), CALIBRATION)) is None
    # a calibration from before this check recorded no confidence: nothing said
    assert familiarity(confidences(100, 0.51), {"coefficients": {}}) is None


def test_the_qc_summary_and_summary_md_say_it_the_same_in_chunks(tmp_path):
    truth = walking_rat(curl=())
    table = movie_table(truth, confidences(len(truth), 0.5), None, 30.0)
    strict = {"unfamiliar": "calibration"}
    qc = smooth_and_check(table, {}, strict, calibration=CALIBRATION).qc
    assert qc["familiarity"]["unfamiliar"] == ["neck"]
    # every frame uncertain for the neck (P 0.5), none for the others (0.93 x 0.93 = 0.86)
    assert qc["flagged_frames"]["uncertain"] == len(truth)
    assert qc["familiarity"]["uncertain_share_without_unfamiliar"] == 0.0
    table.to_csv(tmp_path / "raw.csv", index=False)
    chunked = smooth_file(
        tmp_path / "raw.csv", tmp_path / "out.csv", {}, strict, calibration=CALIBRATION, rows=64
    )
    assert chunked["familiarity"] == qc["familiarity"]
    assert chunked["flagged_frames"]["uncertain"] == len(truth)

    text = summary_text(tmp_path, qc)
    assert "**openfield** is unlike the labelled frames" in text and "neck 0.50" in text
    assert "With neck set aside, `uncertain` would flag 0.0% of its frames." in text


def summary_text(tmp_path, qc: dict) -> str:
    """summary.md of a run whose one movie, openfield, has the QC summary `qc`."""
    (tmp_path / "qc.json").write_text(json.dumps(qc))
    pd.DataFrame(
        {
            "step": [1],
            "seconds": [1.0],
            "images_per_s": [1.0],
            "train_loss": [1.0],
            "val_loss": [1.0],
            "val_median_px": [1.0],
            "lr": [1e-3],
        }
    ).to_csv(tmp_path / "log.csv", index=False)
    meta = {"architecture": "a", "budget": {"steps": 1, "batch_size": 1}, "steps_done": 1}
    text, _ = build_summary(
        "r", meta, str(tmp_path / "log.csv"), {}, {"openfield": str(tmp_path / "qc.json")}
    )
    return text


def neck_with_outliers(m: int, low: list[int]) -> np.ndarray:
    """An unfamiliar neck (confidence 0.1-0.3: below the smoother's trust, 0.3, on most
    frames) with a few frames far below the rest."""
    c = confidences(m, 0.0)
    c[:, 1] = 0.2 + 0.1 * np.sin(np.arange(m) * 0.7)
    c[low, 1] = 0.005
    return c


def test_an_unfamiliar_keypoint_is_flagged_where_the_movie_itself_doubts_it(tmp_path):
    truth = walking_rat(curl=())
    low = [50, 51, 52, 300]
    table = movie_table(truth, neck_with_outliers(len(truth), low), None, 30.0)
    smoothed = smooth_and_check(table, {}, {}, calibration=CALIBRATION)
    qc = smoothed.qc
    assert qc["familiarity"]["unfamiliar"] == ["neck"]
    assert qc["familiarity"]["judged"] == "movie"
    assert 0.005 < qc["familiarity"]["neck"]["movie_fence"] < 0.1
    assert qc["familiarity"]["neck"]["below_fence_share"] == len(low) / len(truth)
    assert np.flatnonzero(smoothed.table["qc_uncertain"]).tolist() == low
    # the smoother trusts it likewise: the outliers are interpolated over, no gap is left
    assert not smoothed.table["neck_kept_raw"].any() and qc["flagged_frames"]["gap"] == 0
    # the calibration's doubt stays in the table: the neck is still unlikely within 2 px
    assert (smoothed.table["neck_p_within_2px"] < 0.31).all()
    # judged by the calibration, every frame is uncertain and the neck is left raw in gaps
    strict = smooth_and_check(table, {}, {"unfamiliar": "calibration"}, calibration=CALIBRATION)
    assert strict.qc["flagged_frames"]["uncertain"] == len(truth)
    assert strict.qc["flagged_frames"]["gap"] > len(truth) / 2
    # the same frames flagged, the same table to the byte, a chunk at a time
    table.to_csv(tmp_path / "raw.csv", index=False)
    chunked = smooth_file(
        tmp_path / "raw.csv", tmp_path / "out.csv", {}, {}, calibration=CALIBRATION, rows=64
    )
    assert chunked["familiarity"] == qc["familiarity"]
    write_table(tmp_path / "memory.csv", smoothed.table)
    assert (tmp_path / "out.csv").read_bytes() == (tmp_path / "memory.csv").read_bytes()
    assert json.dumps(chunked, sort_keys=True) == json.dumps(qc, sort_keys=True)
    # a keypoint the movie knows is judged by the calibration as before
    known = movie_table(truth, confidences(len(truth), 0.9), None, 30.0)
    assert (
        "judged" not in smooth_and_check(known, {}, {}, calibration=CALIBRATION).qc["familiarity"]
    )
    # every keypoint unfamiliar (no animal, perhaps): the movie is not trusted to judge itself
    lost = neck_with_outliers(len(truth), low)
    lost[:, [0, 2]] = lost[:, [1]]
    nothing = smooth_and_check(
        movie_table(truth, lost, None, 30.0), {}, {}, calibration=CALIBRATION
    )
    assert nothing.qc["familiarity"]["judged"] == "calibration"
    assert nothing.qc["flagged_frames"]["uncertain"] == len(truth)
    assert "uncertain_share_without_unfamiliar" not in nothing.qc["familiarity"]
    assert "set aside" not in familiarity_line("x", nothing.qc["familiarity"])
    # the chance of a keypoint > 3 px off is the calibration's over the keypoints it judges
    expected = qc["expected_share_off_3px"]
    assert expected["without"] == ["neck"]
    assert expected["unflagged"] == pytest.approx(1 - 0.93 * 0.93)
    assert "% (neck aside) |" in summary_text(tmp_path, qc)
    line = familiarity_line("openfield", qc["familiarity"])
    assert (
        "judges it against this movie's own frames" in line
        and "1.0% of frames (smooth.unfamiliar)" in line
    )
    # no other share of frames: counted before polarity and the tail bases from the tracker's
    # root, the other keypoints' share read as twice the flagged share on a real video
    assert re.findall(r"[0-9.]+%", line) == ["1.0%"]


def test_the_share_without_the_unfamiliar_keypoint_counts_the_others_risk():
    p3 = np.full((4, 3), 0.99)
    p3[:, 1] = 0.3  # the unfamiliar neck
    p3[0, 2] = 0.7  # one frame's nose doubtful by itself
    result = familiarity(confidences(4, 0.51), CALIBRATION, p3, flag_risk=0.2)
    assert result["uncertain_share_without_unfamiliar"] == 0.25
    # nothing unfamiliar: nothing to set aside
    assert "uncertain_share_without_unfamiliar" not in familiarity(
        confidences(4, 0.9), CALIBRATION, p3
    )


def test_a_live_stream_judges_an_unfamiliar_keypoint_against_the_frames_so_far():
    truth = walking_rat(curl=())
    low = [200, 201, 350]
    confidence = neck_with_outliers(len(truth), low)
    calibrations = {"movie": [], "calibration": []}
    for judge, flagged in calibrations.items():
        stream = CausalStream(CALIBRATION, polarity=False, unfamiliar=judge)
        for locs, c in zip(truth, confidence):
            result = stream.add(locs, c, np.full(3, np.nan))
            flagged.append(result.flags["uncertain"])
            # the table's P keeps the calibration's doubt either way
            assert result.p_within_3px[1] == pytest.approx(c[1])
    movie, strict = np.array(calibrations["movie"]), np.array(calibrations["calibration"])
    assert strict.all()
    # the first 149 frames are judged by the calibration (too few to know the stream), then
    # only the stream's own outliers
    assert movie[:149].all() and np.flatnonzero(movie[149:]).tolist() == [i - 149 for i in low]
    assert stream.familiarity.result is None  # "calibration": never measured
    with pytest.raises(ValueError, match="unfamiliar is 'sometimes'"):
        CausalStream(CALIBRATION, unfamiliar="sometimes")
