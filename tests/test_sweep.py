"""Sweeps: runs listed as overrides of a base config, each its own jobs, one comparison."""

import pandas as pd
import pytest

from conftest import run_snakemake
from direction_tagger.train.model_file import load_model

pytestmark = pytest.mark.slow

TINY = {
    "data": {"synthetic": {"train_frames": 400, "test_frames": 100}},
    "train": {"steps": 20, "eval_every": 5, "batch_size": 16, "arch_kwargs": {"width": 8}},
    "evaluate": {"tta": False},
    "predict": {"tta": False},
    "render": {"panel": False, "scale": 4},
    "synthetic_movies": {"demo_walk": {"frames": 20, "seed": 7, "fps": 30}},
    "runs": {
        "unet_s0": {"train": {"seed": 0}},
        "unet_s1": {"train": {"seed": 1}},
        "seedcnn_s0": {"train": {"architecture": "seed_cnn", "seed": 0}},
        "seedcnn_s1": {"train": {"architecture": "seed_cnn", "seed": 1}},
    },
}


def test_two_seeds_by_two_models_make_four_runs_and_one_comparison(tmp_path):
    run_snakemake(tmp_path, configs=[TINY])
    for run in TINY["runs"]:
        _, meta = load_model(tmp_path / f"results/{run}/model.pt")
        assert meta["architecture"] == TINY["runs"][run]["train"].get(
            "architecture", "fast_heatmap_unet"
        )
        assert meta["config"]["seed"] == TINY["runs"][run]["train"]["seed"]
        assert (tmp_path / f"results/{run}/movies/demo_walk/tagged.mp4").stat().st_size > 0
    runs = pd.read_csv(tmp_path / "results/sweep/runs.csv")
    assert sorted(runs.run) == sorted(TINY["runs"])
    variants = pd.read_csv(tmp_path / "results/sweep/variants.csv")
    assert len(variants) == 2 and (variants.n_runs == 2).all()
    assert variants.head_median_px_sd.notna().all()  # sd over the two seeds
    assert (tmp_path / "results/sweep/comparison.png").stat().st_size > 10_000


def test_a_typo_in_a_run_override_is_an_error_naming_it(tmp_path):
    bad = TINY | {"runs": {"r1": {"train": {"epoch": 3}}}}
    result = run_snakemake(tmp_path, "--dry-run", configs=[bad], check=False)
    assert result.returncode != 0
    assert "epoch" in result.stderr + result.stdout
