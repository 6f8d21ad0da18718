"""A bad config or a missing file stops the workflow at once, with one line naming it."""

import pytest

from conftest import run_snakemake


@pytest.mark.parametrize(
    "override, expected",
    [
        (
            {"train": {"epoch": 3}},
            "config error at train: Additional properties are not allowed ('epoch'",
        ),
        (
            {"trian": {"steps": 3}},
            "config error at top level: Additional properties are not allowed ('trian'",
        ),
        (
            {"train": {"steps": "three"}},
            "config error at train.steps: 'three' is not of type 'integer', 'null'",
        ),
        ({"train": {"steps": 0}}, "config error at train.steps: 0 is less than the minimum of 1"),
        ({"train": {"epochs": 30}}, "training length is now train.steps (or automatic)"),
        (
            {"runs": {"r1": {"train": {"lr": -1}}}},
            "runs.r1: config error at train.lr: -1 is less than or equal",
        ),
    ],
)
def test_bad_config_is_one_line_naming_the_key(tmp_path, override, expected):
    result = run_snakemake(tmp_path, "--dry-run", configs=[override], check=False)
    assert result.returncode != 0
    output = result.stdout + result.stderr
    assert expected in output, output[-2000:]
    # before any job is planned: no DAG was built, so nothing is listed to run
    assert "Job stats" not in output


def test_missing_data_file_is_named(tmp_path):
    override = {"data": {"source": "file", "file": "no/such/frames.npz"}}
    result = run_snakemake(tmp_path, "--dry-run", configs=[override], check=False)
    assert result.returncode != 0
    assert "no/such/frames.npz" in result.stdout + result.stderr


def test_demo_config_is_valid_and_plans_the_whole_chain(tmp_path):
    result = run_snakemake(tmp_path, "--dry-run", check=True)
    for rule in (
        "synth_labelled",
        "verify",
        "split",
        "train",
        "evaluate",
        "predict_movie",
        "smooth_movie",
        "render_movie",
        "summary",
    ):
        assert rule in result.stdout


def test_a_movie_folder_fans_out_into_one_chain_per_movie(tmp_path):
    import numpy as np

    from direction_tagger.io import save_movie

    (tmp_path / "sessions").mkdir()
    for name in ("day1", "day 2"):
        save_movie(tmp_path / "sessions" / f"{name}.npz", np.zeros((3, 50, 50), np.uint8))
    override = {"movies": {"lab": "sessions"}, "synthetic_movies": {}}
    result = run_snakemake(tmp_path, "--dry-run", configs=[override])
    for movie in ("lab_day1", "lab_day_2"):
        assert f"results/demo/movies/{movie}/tagged.mp4" in result.stdout
