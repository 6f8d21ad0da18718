"""When do steps re-run? Real Snakemake runs in a temporary directory: one tiny demo run, then
dry runs after each change, reading what Snakemake would re-run (and why) from its job table.

Every rule gets only the config values it depends on, as `params:`; Snakemake's `params`
rerun trigger then re-runs exactly that rule and what lies downstream of it.
"""

from __future__ import annotations

import os
import re

import numpy as np
import pytest

from conftest import TINY_DEMO, run_snakemake

pytestmark = pytest.mark.slow

# Smaller than SHRUNK_DEMO: here only the decisions matter, not the model.
TINY = TINY_DEMO
MOVIE_AFTER_PREDICTION = {"smooth_movie", "render_movie", "movie_figures", "summary"}
TRAINING_AND_AFTER = {"train", "calibrate", "evaluate", "predict_movie"} | MOVIE_AFTER_PREDICTION


def planned(workdir, *args, change: dict | None = None) -> dict[str, list[str]]:
    """rule -> the reasons of its jobs, for every job a dry run would run (`all` left out)."""
    result = run_snakemake(
        workdir, "--dry-run", *args, configs=[TINY] + ([change] if change else [])
    )
    out = result.stdout + result.stderr
    if "Nothing to be done" in out:
        return {}
    jobs: dict[str, list[str]] = {}
    # a group job (a movie's chain) lists its rules indented under "group job ..."
    for _, rule, reason in re.findall(
        r"^( *)(?:local)?rule (\w+):\n(?:\1    .*\n)*?\1    reason: (.*)$", out, re.M
    ):
        if rule != "all":
            jobs.setdefault(rule, []).append(reason)
    assert jobs, f"no jobs found in the dry run:\n{out[-3000:]}"
    return jobs


def test_a_second_run_has_nothing_to_do(tiny_run):
    assert planned(tiny_run) == {}


def test_a_training_value_reruns_training_and_what_follows(tiny_run):
    jobs = planned(tiny_run, change={"train": TINY["train"] | {"lr": 0.001}})
    assert set(jobs) == TRAINING_AND_AFTER  # not synth / verify / split / label reference
    assert all(len(reasons) == 1 for reasons in jobs.values())
    assert jobs["train"][0].startswith("Params have changed")


def test_a_render_option_reruns_only_rendering(tiny_run):
    jobs = planned(tiny_run, change={"render": {"trail": 3}})
    assert set(jobs) == {"render_movie"}  # the summary does not read the video
    assert jobs["render_movie"][0].startswith("Params have changed")


def test_a_smoothing_option_reruns_the_movie_chain_after_prediction(tiny_run):
    jobs = planned(tiny_run, change={"smooth": {"window": 5}})
    assert set(jobs) == MOVIE_AFTER_PREDICTION  # QC numbers feed the summary


def test_a_synthetic_data_value_reruns_that_set_and_everything_trained_on_it(tiny_run):
    change = {"data": {"synthetic": TINY["data"]["synthetic"] | {"train_frames": 320}}}
    jobs = planned(tiny_run, change=change)
    assert (
        set(jobs) == {"synth_labelled", "verify", "split", "label_reference"} | TRAINING_AND_AFTER
    )
    # only the training part is synthesized and verified again, not the test set or the movie
    assert len(jobs["synth_labelled"]) == len(jobs["verify"]) == 1


def test_config_values_no_rule_reads_rerun_nothing(tiny_run):
    change = {
        # the published data is not used by the synthetic demo
        "data": {"published": {"url": "https://example.org/mirror.zip", "sha256": "0" * 64}},
        # re-augmentation is switched off
        "originals": {"augment": {"enabled": False, "seed": 5, "rot90": False}},
        "evaluate": {"tta": False, "sets": {}},  # unchanged values, spelled out
    }
    assert planned(tiny_run, change=change) == {}


def test_a_changed_input_reruns_only_its_consumers(tiny_run):
    movie = tiny_run / "tagged_dataset/synthetic/movie_demo_walk.npz"
    original, stat = movie.read_bytes(), os.stat(movie)
    later = os.stat(tiny_run / "results/demo/summary.md").st_mtime + 10
    try:
        # Touched, same content: files under --max-checksum-file-size (1 MB) are compared by
        # checksum, so nothing re-runs (a larger file re-runs its consumers on mtime alone).
        os.utime(movie, (later, later))
        assert planned(tiny_run) == {}
        # Changed content: the movie's own chain re-runs, training does not.
        with np.load(movie, allow_pickle=False) as npz:
            arrays = dict(npz)
        arrays["images"][0, 0, 0] ^= 1
        with open(movie, "wb") as f:
            np.savez(f, **arrays)
        os.utime(movie, (later, later))
        jobs = planned(tiny_run)
        assert set(jobs) == {"predict_movie", "render_movie"} | MOVIE_AFTER_PREDICTION
        assert jobs["predict_movie"][0].startswith("Updated input files")
    finally:
        movie.write_bytes(original)
        os.utime(movie, ns=(stat.st_atime_ns, stat.st_mtime_ns))


def test_library_code_is_not_tracked_forcerun_reruns_a_step_and_what_follows(tiny_run):
    # Snakemake's `code` trigger covers a rule's own shell command, not the installed
    # direction_tagger package: after upgrading it, force the steps it changed.
    assert set(planned(tiny_run, "--forcerun", "train")) == TRAINING_AND_AFTER
