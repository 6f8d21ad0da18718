"""Calibrated confidence, head/tail polarity over time, smoothing that never deletes a point,
and the QC that follows from them (evaluate/calibration.py, movies/polarity.py,
movies/postprocess.py)."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
from test_movie import rat_track

from direction_tagger.cli import main
from direction_tagger.evaluate.calibration import fit_calibration, p_within, reliability
from direction_tagger.movies.polarity import exchanged, fix_polarity, polarity_states
from direction_tagger.movies.postprocess import smooth_and_check
from direction_tagger.movies.tables import movie_table

SMOOTHING = {"method": "savgol", "window": 7, "min_confidence": 0.3, "max_gap": 5}
CHECKS = {"flag_risk": 0.2}


def simulated_points(n, seed):
    """Points whose error really depends on confidence and spread, as a model's do."""
    rng = np.random.default_rng(seed)
    confidence = rng.uniform(0.05, 0.98, (n, 3))
    spread = rng.gamma(2.0, 0.15, (n, 3))
    scale = 0.3 + 1.5 * (1 - confidence) + 0.8 * spread  # px, per coordinate
    errors = np.hypot(*rng.normal(0, 1, (2, n, 3))) * scale
    return errors, confidence, spread


def test_calibration_fitted_on_some_frames_holds_on_others():
    errors, confidence, spread = simulated_points(400, seed=0)
    calibration = fit_calibration(errors, confidence, spread, tta=2)
    assert calibration["tta"] == 2 and calibration["n_points"] == 1200
    json.dumps(calibration)  # stored as JSON
    # in-sample, the mean probability is the share within 2 px (the intercept is not penalised)
    p = p_within(calibration, confidence, spread, 2.0)
    assert p.mean() == pytest.approx(np.mean(errors <= 2), abs=0.01)
    # on fresh points every reliability bin lies within 0.1 of the diagonal
    errors, confidence, spread = simulated_points(2000, seed=1)
    for radius in (2.0, 3.0):
        diagram = reliability(p_within(calibration, confidence, spread, radius), errors <= radius)
        assert diagram["ece"] < 0.05
        for row in diagram["bins"]:
            if row["n"] >= 50:  # (a logistic curve only approximates this simulation)
                assert abs(row["mean_p"] - row["observed"]) < 0.15, row
    # confidence means something: sure points are likelier to be right
    sure = p_within(calibration, np.array([[0.95] * 3]), np.array([[0.1] * 3]))
    unsure = p_within(calibration, np.array([[0.1] * 3]), np.array([[1.5] * 3]))
    assert (sure > 0.8).all() and (unsure < 0.5).all()


def test_calibration_without_tta_uses_confidence_alone():
    errors, confidence, _ = simulated_points(300, seed=2)
    calibration = fit_calibration(errors, confidence, None, tta=0)
    p = p_within(calibration, confidence, np.full(confidence.shape, np.nan))
    assert p.mean() == pytest.approx(np.mean(errors <= 2), abs=0.01)
    assert np.corrcoef(p.ravel(), confidence.ravel())[0, 1] > 0.9


def test_an_isolated_swap_and_a_short_run_are_turned_back():
    truth = rat_track(80)
    raw = truth.copy()
    raw[20] = exchanged(truth[20:21])[0]
    raw[50:54] = exchanged(truth[50:54])
    p = np.full((80, 3), 0.9)
    fixed, states = fix_polarity(raw, p)
    assert np.flatnonzero(states).tolist() == [20, 50, 51, 52, 53]
    np.testing.assert_allclose(fixed, truth)


def test_a_real_turn_around_is_left_alone():
    # the animal turns on the spot by 180 degrees over 30 frames: every frame as predicted
    m = 60
    angle = np.radians(np.clip(np.arange(m) - 15, 0, 30) * 6.0)
    u = np.stack([np.cos(angle), -np.sin(angle)], axis=1)
    centre = np.array([24.5, 24.5])
    locs = np.stack([centre - 6 * u, centre + 6 * u, centre + 11 * u], axis=1)
    assert not polarity_states(locs, np.full((m, 3), 0.6)).any()


def test_a_confident_model_is_believed_over_one_bad_transition():
    # one jump in the middle of a movie where every frame is sure: nothing is exchanged
    truth = rat_track(40)
    raw = truth.copy()
    raw[20:] = exchanged(truth[20:])  # from frame 20 on, the model calls the other end the nose
    states = polarity_states(raw, np.full((40, 3), 0.99))
    assert states.sum() in (0, 20)  # one consistent choice for the whole second half
    assert len(set(states[20:])) == 1 and len(set(states[:20])) == 1


def table_with_a_doubtful_stretch(m=60):
    truth = rat_track(m)
    rng = np.random.default_rng(3)
    raw = truth + rng.normal(0, 0.2, truth.shape)
    confidence = np.full((m, 3), 0.9)
    confidence[30:45, 2] = 0.02  # 15 frames of an unsure nose: too long to interpolate
    spread = np.full((m, 3), 0.2)
    spread[30:45, 2] = 3.0
    return movie_table(raw, confidence, spread, 30.0, truth_locs=truth), raw


def calibration_for_tests():
    errors, confidence, spread = simulated_points(600, seed=4)
    return fit_calibration(errors, confidence, spread, tta=2)


def test_smoothing_never_deletes_a_point_and_flags_what_it_could_not_smooth():
    table, raw = table_with_a_doubtful_stretch()
    result = smooth_and_check(table, SMOOTHING, CHECKS, calibration=calibration_for_tests())
    out = result.table
    locs = out[[f"head_{c}" for c in "xy"]].to_numpy()
    assert np.isfinite(out.filter(regex=r"^(base|neck|head)_[xy]$").to_numpy()).all()
    # the unsure stretch shows the raw prediction, marked per keypoint and flagged per frame
    np.testing.assert_allclose(locs[30:45], raw[30:45, 2], atol=1e-9)
    assert np.flatnonzero(out["head_kept_raw"]).tolist() == list(range(30, 45))
    assert not out["base_kept_raw"].any()
    assert out["qc_gap"][30:45].all() and not out["qc_gap"][:30].any()
    # those frames are uncertain too; the calibrated probability is in the table
    assert out["qc_uncertain"][30:45].all() and out["qc_uncertain"].mean() < 0.4
    assert (out["head_p_within_2px"][30:45] < 0.5).all()
    assert (out["head_p_within_2px"][:30] > 0.5).all()
    qc = result.qc
    assert qc["frames_left_missing"] == 0 and qc["points_kept_raw"] == 15
    expected = qc["expected_share_off_3px"]
    assert expected["flagged"] > expected["unflagged"]
    assert np.isfinite(result.locs).all()


def test_smooth_command_with_calibration_and_render_draws_every_point(tmp_path):
    from direction_tagger.io import save_movie
    from direction_tagger.movies.tables import write_table
    from direction_tagger.movies.video_io import read_video_frames

    table, raw = table_with_a_doubtful_stretch(40)
    rng = np.random.default_rng(5)
    save_movie(tmp_path / "movie.npz", rng.integers(90, 110, (40, 50, 50)).astype(np.uint8), 30.0)
    write_table(tmp_path / "raw.csv", table)
    (tmp_path / "cal.json").write_text(json.dumps(calibration_for_tests()))
    assert (
        main(
            [
                "smooth",
                "--predictions",
                str(tmp_path / "raw.csv"),
                "--out",
                str(tmp_path / "smooth.csv"),
                "--calibration",
                str(tmp_path / "cal.json"),
                "--dlc-csv",
                str(tmp_path / "dlc.csv"),
                "--qc-json",
                str(tmp_path / "qc.json"),
            ]
        )
        == 0
    )
    smooth = pd.read_csv(tmp_path / "smooth.csv")
    dlc = pd.read_csv(tmp_path / "dlc.csv", header=[0, 1, 2], index_col=0)
    # DLC likelihood is the calibrated probability
    np.testing.assert_allclose(
        dlc["direction-tagger"]["nose"]["likelihood"], smooth["head_p_within_2px"], atol=1e-5
    )
    qc = json.loads((tmp_path / "qc.json").read_text())
    assert qc["calibrated"] and qc["settings"]["calibration"].endswith("cal.json")

    video = tmp_path / "tagged.mp4"
    assert (
        main(
            [
                "render",
                "--movie",
                str(tmp_path / "movie.npz"),
                "--predictions",
                str(tmp_path / "smooth.csv"),
                "--out",
                str(video),
                "--scale",
                "8",
                "--quiet",
            ]
        )
        == 0
    )
    frames, _ = read_video_frames(video)
    assert len(frames) == 40

    def centre_colour(i, k):  # the pixel under a keypoint's centre
        x, y = smooth.loc[i, f"{k}_x"], smooth.loc[i, f"{k}_y"]
        return frames[i, int(round((y + 0.5) * 8 - 0.5)), int(round((x + 0.5) * 8 - 0.5))]

    def magenta(rgb):
        return rgb[0] > 180 and rgb[1] < 110 and rgb[2] > 120

    # a sure nose is a filled magenta disc; an unsure one is hollow: what lies under it shows
    assert magenta(centre_colour(10, "head").astype(int))
    assert not magenta(centre_colour(35, "head").astype(int))


def test_calibrate_then_evaluate_reports_reliability(tmp_path):
    from direction_tagger.data import synth
    from direction_tagger.io import save_labelled
    from direction_tagger.originals.split import save_split
    from direction_tagger.train.config import TrainConfig
    from direction_tagger.train.loop import train

    images, locs = synth.make_labelled_set(160, seed=0)
    save_labelled(tmp_path / "data.npz", images, locs)
    split = {"train": np.arange(100), "val": np.arange(100, 130), "test": np.arange(130, 160)}
    save_split(tmp_path / "split.json", split, "test split")
    cfg = TrainConfig.from_dict({"steps": 30, "batch_size": 16, "arch_kwargs": {"width": 8}})
    train(
        images[:100],
        locs[:100],
        images[100:130],
        locs[100:130],
        cfg,
        tmp_path / "model.pt",
        tmp_path / "log.csv",
    )
    common = [
        "--model",
        str(tmp_path / "model.pt"),
        "--data",
        str(tmp_path / "data.npz"),
        "--split",
        str(tmp_path / "split.json"),
        "--device",
        "cpu",
    ]
    assert (
        main(
            [
                "calibrate",
                *common,
                "--tta",
                "2",
                "--out",
                str(tmp_path / "cal.json"),
                "--reliability",
                str(tmp_path / "val.png"),
            ]
        )
        == 0
    )
    calibration = json.loads((tmp_path / "cal.json").read_text())
    assert calibration["n_frames"] == 30 and calibration["subset"] == "val"
    # what a familiar movie shows: the network's confidence on these frames, per keypoint
    for k in ("base", "neck", "head"):
        assert (
            0 <= calibration["confidence"][k]["p5"] <= calibration["confidence"][k]["median"] <= 1
        )
    assert (tmp_path / "val.png").read_bytes()[:4] == b"\x89PNG"

    out = ["--metrics", str(tmp_path / "m.json"), "--frames", str(tmp_path / "f.csv")]
    # a calibration made for another TTA is refused in one line
    assert (
        main(["evaluate", *common, *out, "--tta", "8", "--calibration", str(tmp_path / "cal.json")])
        == 2
    )
    assert not (tmp_path / "m.json").exists()
    assert (
        main(
            [
                "evaluate",
                *common,
                *out,
                "--tta",
                "2",
                "--calibration",
                str(tmp_path / "cal.json"),
                "--reliability",
                str(tmp_path / "rel.png"),
            ]
        )
        == 0
    )
    metrics = json.loads((tmp_path / "m.json").read_text())
    diagram = metrics["calibration"]["2"]["reliability"]
    assert diagram["n_points"] == 90 and sum(b["n"] for b in diagram["bins"]) == 90
    frames = pd.read_csv(tmp_path / "f.csv")
    assert ((frames["head_p_within_2px"] >= 0) & (frames["head_p_within_2px"] <= 1)).all()
    assert (tmp_path / "rel.png").read_bytes()[:4] == b"\x89PNG"


def test_a_clean_validation_set_does_not_make_the_calibration_certain():
    # 20 frames, every point within 2 px: the probability stays high but below 1
    rng = np.random.default_rng(6)
    errors = rng.uniform(0.1, 1.5, (20, 3))
    calibration = fit_calibration(errors, rng.uniform(0.6, 0.95, (20, 3)), None, tta=0)
    p = p_within(calibration, np.full((5, 3), 0.8), None, 3.0)
    assert (p > 0.9).all() and (p < 0.995).all()


def test_views_move_labels_with_the_pixels():
    from direction_tagger.evaluate.views import (
        all_views,
        calibration_views,
        labelled_views,
        views_per_frame,
    )

    # one bright pixel under each keypoint; every view must still have it under its label
    locs = np.array([[[10.0, 30.0], [25.0, 20.0], [38.0, 12.0]], [[5.0, 5.0], [20, 40], [44, 9]]])
    images = np.zeros((2, 50, 50), np.uint8)
    for f in range(2):
        for x, y in locs[f].astype(int):
            images[f, y, x] = 255
    views = all_views()
    assert len(views) == 72 and len({tuple(v) for v in views}) == 72
    assert tuple(views[0]) == (0, 0, 0, 0)  # the frame itself first
    images_v, locs_v, frame = labelled_views(images, locs, 72)
    assert images_v.shape == (144, 50, 50) and list(frame[:3]) == [0, 0, 0]
    np.testing.assert_array_equal(images_v[0], images[0])
    for img, pts in zip(images_v, locs_v):
        xs, ys = np.rint(pts).astype(int).T
        assert (img[ys, xs] == 255).all()
    assert views_per_frame(8) == 72 and views_per_frame(400) == 5 and views_per_frame(5000) == 1
    # a calibration views its validation frames only while they are few
    assert calibration_views(8) == 72 and calibration_views(150) == 14
    assert calibration_views(200) == 1


def test_a_few_clean_frames_with_views_give_a_measured_not_constant_calibration():
    # 8 validation frames, every point within 2 px: alone they fit a constant. Views (harder,
    # and varied) show how the error grows with spread and falling confidence.
    rng = np.random.default_rng(7)
    frames = (
        rng.uniform(0.1, 1.2, (8, 3)),
        rng.uniform(0.8, 0.95, (8, 3)),
        rng.gamma(2, 0.1, (8, 3)),
    )
    alone = fit_calibration(*frames, tta=2)
    # views of these frames and of training frames, all with errors that follow the features
    views = [simulated_points(8 * 72, seed=8), simulated_points(2000, seed=10)]
    viewed = fit_calibration(*frames, tta=2, views=views, n_views=72)
    assert viewed["n_frames"] == 8 and viewed["n_views"] == 72
    errors, confidence, spread = simulated_points(2000, seed=9)
    p_alone = p_within(alone, confidence, spread)
    p_viewed = p_within(viewed, confidence, spread)
    assert np.ptp(p_alone) < 0.1  # what issue #24 saw: one value for every point
    assert np.ptp(p_viewed) > 0.5  # sure points near 1, unsure ones far below
    sure = p_within(viewed, np.array([[0.95] * 3]), np.array([[0.1] * 3]))
    unsure = p_within(viewed, np.array([[0.1] * 3]), np.array([[1.5] * 3]))
    assert (sure > 0.9).all() and (unsure < 0.5).all()
    # the level is the frames': all within 2 px, so their mean probability is high
    assert p_within(viewed, *frames[1:]).mean() > 0.9


def test_views_without_a_miss_at_3px_borrow_the_2px_slopes():
    # A good model on 17 frames of one recording: no view is ever 3 px off, so P(within 3 px)
    # cannot learn its slopes from them; it takes those of 2 px and keeps its own level.
    rng = np.random.default_rng(11)
    frames = (
        rng.uniform(0.1, 1.2, (8, 3)),
        rng.uniform(0.8, 0.95, (8, 3)),
        rng.gamma(2, 0.1, (8, 3)),
    )
    errors, confidence, spread = simulated_points(1200, seed=12)
    frames[0][0, 0] = 2.5  # one point within 3 px but not within 2
    views = [(np.minimum(errors, 2.9), confidence, spread)]
    calibration = fit_calibration(*frames, tta=2, views=views, n_views=72)
    assert calibration["slopes_from_radius_px"] == {"2": 2.0, "3": 2.0}
    w2, w3 = calibration["coefficients"]["2"], calibration["coefficients"]["3"]
    assert w3[1:] == w2[1:] and w3[0] > w2[0]  # same slopes, a higher level
    p3 = p_within(calibration, confidence, spread, 3.0)
    assert np.ptp(p3) > 0.3  # not one value for every point
