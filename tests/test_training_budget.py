"""Training length in optimiser steps: a budget that suits 20 frames and 100,000 alike, the
same model on an idle or a busy machine, and a wall-time cap that only ever stops training."""

from __future__ import annotations

import multiprocessing
import os

import numpy as np
import pytest
import torch
from test_models import blob_set

from conftest import TINY_DEMO, run_snakemake
from direction_tagger.report.summary import build_summary
from direction_tagger.train.budget import BatchStream, training_budget
from direction_tagger.train.config import TrainConfig
from direction_tagger.train.loop import train
from direction_tagger.train.model_file import load_model

TINY = {
    "steps": 12,
    "eval_every": 4,
    "batch_size": 16,
    "arch_kwargs": {"width": 8},
    "device": "cpu",
    "patience": None,
}


# --- the budget -------------------------------------------------------------------------


def test_a_small_labelled_set_gets_the_floor_and_a_large_one_passes():
    cfg = TrainConfig(batch_size=64, min_steps=2000, passes=30)
    small = training_budget(cfg, 80)
    assert small.steps == 2000 and "floor" in small.reason
    assert small.as_dict(64, 80)["passes"] == pytest.approx(1600)  # online augmentation multiplies
    large = training_budget(cfg, 100_000)
    assert large.steps == int(np.ceil(30 * 100_000 / 64))
    assert large.eval_every == int(np.ceil(large.steps / 20))


def test_an_explicit_budget_is_taken_as_given():
    budget = training_budget(TrainConfig(steps=500, eval_every=1000), 80)
    assert (budget.steps, budget.eval_every) == (500, 500)  # never validate past the end
    assert "train.steps = 500" in budget.reason


def test_the_old_epochs_option_is_refused_with_a_hint():
    with pytest.raises(ValueError, match="epochs.*now steps"):
        TrainConfig.from_dict({"epochs": 30})


@pytest.mark.parametrize("n, batch", [(20, 64), (100, 32), (7, 7)])
def test_batches_visit_every_frame_equally_often_even_when_larger_than_the_set(n, batch):
    stream = BatchStream(n, batch, seed=5)
    steps = n * 3  # 3 * batch passes over the set, exactly
    seen = np.concatenate([stream.indices(s) for s in range(steps)])
    assert all(len(stream.indices(s)) == batch for s in range(steps))
    assert np.bincount(seen, minlength=n).tolist() == [3 * batch] * n
    again = BatchStream(n, batch, seed=5)  # a pure function of (seed, step): resumable anywhere
    assert np.array_equal(again.indices(steps - 1), stream.indices(steps - 1))
    assert not np.array_equal(BatchStream(n, batch, seed=6).indices(0), stream.indices(0))


# --- training ---------------------------------------------------------------------------


@pytest.fixture(scope="module")
def blobs():
    images, locs = blob_set(96)
    return images[:80], locs[:80], images[80:], locs[80:]


def test_the_same_config_gives_the_same_model_bit_for_bit(blobs, tmp_path):
    metas = []
    for name in ("a", "b"):
        metas.append(
            train(
                *blobs,
                TrainConfig(**TINY),
                tmp_path / f"{name}.pt",
                tmp_path / f"{name}.csv",
                checkpoint_path=tmp_path / f"{name}.ckpt",
            )
        )
    a = torch.load(tmp_path / "a.pt", weights_only=True)["state_dict"]
    b = torch.load(tmp_path / "b.pt", weights_only=True)["state_dict"]
    assert all(torch.equal(a[k], b[k]) for k in a)
    assert metas[0]["steps_done"] == metas[0]["budget"]["steps"] == 12
    assert metas[0]["stopped_by"] == "budget"


def test_the_wall_time_cap_stops_training_and_says_so_and_a_raised_cap_resumes(
    blobs, tmp_path, capsys
):
    # A cap already spent after the first step: stops there whatever the machine's load.
    capped = TrainConfig(**TINY | {"max_minutes": 1e-9})
    meta = train(*blobs, capped, tmp_path / "m.pt", tmp_path / "log.csv")
    assert meta["stopped_by"] == "max_minutes" and meta["steps_done"] == 1
    assert meta["budget"]["steps"] == 12  # the cap did not shape the schedule
    assert "safety cap train.max_minutes" in capsys.readouterr().out
    text, _ = build_summary("r", meta, str(tmp_path / "log.csv"), {}, {})
    assert "Warning:** training hit its safety cap" in text and "after 1 of 12 steps" in text

    # Lifting the cap resumes from the checkpoint (the cap is not part of its fingerprint)
    # and ends where an uncapped run ends.
    meta = train(*blobs, TrainConfig(**TINY), tmp_path / "m.pt", tmp_path / "log.csv")
    assert "resuming from" in capsys.readouterr().out
    assert meta["stopped_by"] == "budget" and meta["steps_done"] == 12
    train(*blobs, TrainConfig(**TINY), tmp_path / "ref.pt", tmp_path / "ref.csv")
    a = torch.load(tmp_path / "m.pt", weights_only=True)["state_dict"]
    b = torch.load(tmp_path / "ref.pt", weights_only=True)["state_dict"]
    assert all(torch.equal(a[k], b[k]) for k in a)


@pytest.mark.parametrize("content", [b"", b"not a checkpoint", b"PK\x03\x04truncated"])
def test_a_damaged_checkpoint_is_set_aside_and_training_starts_over(
    blobs, tmp_path, capsys, content
):
    ckpt = tmp_path / "m.ckpt"
    ckpt.write_bytes(content)
    meta = train(
        *blobs, TrainConfig(**TINY), tmp_path / "m.pt", tmp_path / "log.csv", checkpoint_path=ckpt
    )
    assert meta["steps_done"] == 12
    assert "damaged checkpoint" in capsys.readouterr().out
    assert (tmp_path / "m.ckpt.damaged").read_bytes() == content  # kept, for a look
    load_model(tmp_path / "m.pt")


def test_training_without_validation_frames_is_one_clear_error(blobs, tmp_path):
    from direction_tagger.io import DataError

    images, locs, _, _ = blobs
    with pytest.raises(DataError, match="0 validation frames"):
        train(
            images,
            locs,
            images[:0],
            locs[:0],
            TrainConfig(**TINY),
            tmp_path / "m.pt",
            tmp_path / "log.csv",
        )
    assert not (tmp_path / "m.pt").exists()


# --- the workflow: an idle and a busy machine give the same results ---------------------


def _spin():  # keeps one core busy until killed
    while True:
        pass


@pytest.mark.slow
def test_a_demo_run_on_a_busy_machine_gives_identical_metrics(tiny_run, tmp_path):
    """The shared tiny demo ran on whatever load there was; run it again while other
    processes keep every core busy: metrics and weights must be the same, bit for bit."""
    spinners = [
        multiprocessing.Process(target=_spin, daemon=True) for _ in range(os.cpu_count() or 2)
    ]
    for p in spinners:
        p.start()
    try:
        run_snakemake(tmp_path, configs=[TINY_DEMO])
    finally:
        for p in spinners:
            p.kill()
            p.join()
    for path in (
        "results/demo/eval/synthetic_test/metrics.json",
        "results/demo/movies/demo_walk/ground_truth_metrics.json",
    ):
        assert (tmp_path / path).read_bytes() == (tiny_run / path).read_bytes(), path
    a = torch.load(tmp_path / "results/demo/model.pt", weights_only=True)
    b = torch.load(tiny_run / "results/demo/model.pt", weights_only=True)
    assert all(torch.equal(a["state_dict"][k], b["state_dict"][k]) for k in a["state_dict"])
    assert a["metadata"]["budget"] == b["metadata"]["budget"]
    summary = (tmp_path / "results/demo/summary.md").read_text()
    assert f"{TINY_DEMO['train']['steps']} of {TINY_DEMO['train']['steps']} steps" in summary
    assert "Budget: train.steps" in summary
