"""End to end: the real workflow on a shrunk demo, in a temporary directory."""

import json

import numpy as np
import pandas as pd
import pytest

from conftest import SHRUNK_DEMO, run_snakemake
from direction_tagger.io import load_labelled, load_movie
from direction_tagger.movies.predict import Predictor
from direction_tagger.movies.render import read_video_frames
from direction_tagger.train.model_file import load_model

pytestmark = pytest.mark.slow


def test_demo_trains_a_model_that_loads_and_predicts(demo_run):
    model, meta = load_model(demo_run / "results/demo/model.pt")
    assert meta["architecture"] == "fast_heatmap_unet" and meta["keypoints"] == [
        "base",
        "neck",
        "head",
    ]
    test = load_labelled(demo_run / "tagged_dataset/synthetic/test.npz")
    pred = Predictor(model).predict(test.images[:50])
    assert pred.locs.shape == (50, 3, 2) and np.isfinite(pred.locs).all()
    assert ((pred.confidence >= 0) & (pred.confidence <= 1)).all()


def test_demo_metrics_are_finite_and_beat_the_training_mean(demo_run):
    metrics = json.loads((demo_run / "results/demo/eval/synthetic_test/metrics.json").read_text())
    assert metrics["n_frames"] == SHRUNK_DEMO["data"]["synthetic"]["test_frames"]
    for name in ("base", "neck", "head"):
        m = metrics["keypoints"][name]
        assert all(np.isfinite(v) for v in m.values())
        assert m["median"] < 0.7 * metrics["mean_baseline"]["median_px"][name]
    frames = pd.read_csv(demo_run / "results/demo/eval/synthetic_test/frames.csv")
    assert len(frames) == metrics["n_frames"]


def test_demo_video_has_every_frame_at_the_expected_size(demo_run):
    movie = load_movie(demo_run / "tagged_dataset/synthetic/movie_demo_walk.npz")
    frames, fps = read_video_frames(demo_run / "results/demo/movies/demo_walk/tagged.mp4")
    assert len(frames) == len(movie) == SHRUNK_DEMO["synthetic_movies"]["demo_walk"]["frames"]
    assert fps == pytest.approx(movie.fps)
    assert frames.shape[1] == 400 and frames.shape[2] >= 400 and frames.shape[3] == 3


def test_demo_movie_tables_and_summary(demo_run):
    movie_dir = demo_run / "results/demo/movies/demo_walk"
    tidy = pd.read_csv(movie_dir / "predictions.csv")
    assert len(tidy) == SHRUNK_DEMO["synthetic_movies"]["demo_walk"]["frames"]
    assert {"body_direction_deg", "head_direction_deg", "qc_any"} <= set(tidy.columns)
    dlc = pd.read_csv(movie_dir / "predictions_dlc.csv", header=[0, 1, 2], index_col=0)
    assert dlc.shape == (len(tidy), 9)
    truth = json.loads((movie_dir / "ground_truth_metrics.json").read_text())
    assert truth["ground_truth"] is True and np.isfinite(truth["all_keypoints"]["median"])
    summary = (demo_run / "results/demo/summary.md").read_text()
    assert "synthetic_test" in summary and "demo_walk" in summary


def test_demo_movie_is_calibrated_complete_and_polarity_checked(demo_run):
    movie_dir = demo_run / "results/demo/movies/demo_walk"
    tidy = pd.read_csv(movie_dir / "predictions.csv")
    # every point is drawn: the smoother never leaves a gap
    assert np.isfinite(tidy.filter(regex=r"^(base|neck|head)_[xy]$").to_numpy()).all()
    p = tidy[["base_p_within_2px", "neck_p_within_2px", "head_p_within_2px"]].to_numpy()
    assert ((p >= 0) & (p <= 1)).all()
    qc = json.loads((movie_dir / "qc.json").read_text())
    assert qc["calibrated"] and qc["frames_left_missing"] == 0
    assert qc["polarity"]["exchanged_frames"] == int(tidy["polarity_exchanged"].sum())
    assert set(qc["flagged_share"]) >= {"jump", "uncertain", "geometry", "swap", "gap", "any"}
    expected = qc["expected_share_off_3px"]
    assert 0 <= expected["all"] <= 1
    # the movie chain used the calibration made with its TTA (predict.tta = 2 by default)
    calibration = json.loads((demo_run / "results/demo/calibration/tta2.json").read_text())
    assert calibration["tta"] == 2 and calibration["subset"] == "val"
    # the evaluation on frames the calibration never saw, with its reliability diagram
    metrics = json.loads((demo_run / "results/demo/eval/synthetic_test/metrics.json").read_text())
    diagram = metrics["calibration"]["2"]["reliability"]
    assert diagram["n_points"] == 3 * metrics["n_frames"] and diagram["ece"] < 0.2
    png = demo_run / "results/demo/eval/synthetic_test/reliability.png"
    assert png.read_bytes()[:4] == b"\x89PNG"


def test_second_run_has_nothing_to_do(demo_run):
    result = run_snakemake(demo_run, "--dry-run", configs=[SHRUNK_DEMO])
    assert "Nothing to be done" in result.stdout + result.stderr


def test_report_builds_with_figures_and_video(demo_run):
    run_snakemake(demo_run, "--report", "report.html", configs=[SHRUNK_DEMO])
    html = (demo_run / "report.html").read_text(errors="replace")
    for name in (
        "tagged.mp4",
        "training_curves.png",
        "worst_frames.png",
        "qc_timeline.png",
        "reliability.png",
        "summary.md",
    ):
        assert name in html, name
