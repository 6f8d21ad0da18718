"""Resumable training: SIGKILL `direction-tagger train` mid-way, run it again, and it continues
from its last checkpoint; on CPU the result equals an uninterrupted run's bit for bit."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pandas as pd
import pytest
import torch

from direction_tagger.data.synth import make_labelled_set
from direction_tagger.io import save_labelled

STEPS, EVAL_EVERY = 60, 15
# Small enough for seconds per checkpoint on 2 CPU cores, large enough that the kill lands
# mid-run. One thread: the comparison is about resuming, not multi-thread reductions.
OPTIONS = {
    "steps": STEPS,
    "eval_every": EVAL_EVERY,
    "batch_size": 32,
    "device": "cpu",
    "threads": 1,
    "seed": 3,
    "arch_kwargs": {"width": 8},
    "patience": None,
}
TRAIN_FRAMES, VAL_FRAMES = 480, 64

pytestmark = pytest.mark.slow  # three short trainings, ~30 s


@pytest.fixture(scope="module")
def labelled(tmp_path_factory):
    folder = tmp_path_factory.mktemp("resume_data")
    for name, n, seed in (("train", TRAIN_FRAMES, 11), ("val", VAL_FRAMES, 12)):
        images, locs = make_labelled_set(n, seed)
        save_labelled(folder / f"{name}.npz", images, locs)
    return folder


def train_command(data: Path, out: Path, options: dict = OPTIONS) -> list[str]:
    return [
        sys.executable,
        "-c",
        "import sys; from direction_tagger.cli import main; sys.exit(main())",
        "train",
        "--data",
        str(data / "train.npz"),
        "--val-data",
        str(data / "val.npz"),
        "--out",
        str(out / "model.pt"),
        "--log",
        str(out / "training_log.csv"),
        "--checkpoint",
        str(out / "checkpoint.pt"),
        "--options",
        json.dumps(options),
    ]


def run_train(data: Path, out: Path, options: dict = OPTIONS) -> subprocess.CompletedProcess:
    out.mkdir(exist_ok=True)
    result = subprocess.run(
        train_command(data, out, options),
        capture_output=True,
        text=True,
        timeout=600,
        env=dict(os.environ, PYTHONUNBUFFERED="1"),
    )
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    return result


def completed_steps(checkpoint: Path) -> int:
    """Steps the checkpoint holds (0 while there is none); it is replaced atomically."""
    if not checkpoint.exists():
        return 0
    return torch.load(checkpoint, map_location="cpu", weights_only=True)["step"]


def kill_after_first_checkpoint(data: Path, out: Path) -> int:
    """Start training, SIGKILL it as soon as it has written a checkpoint; return its step."""
    out.mkdir(exist_ok=True)
    proc = subprocess.Popen(
        train_command(data, out), stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True
    )
    try:
        deadline = time.monotonic() + 300
        while completed_steps(out / "checkpoint.pt") < 1:
            assert proc.poll() is None, (
                f"training ended before its first checkpoint:\n{proc.stdout.read()}"
            )
            assert time.monotonic() < deadline, "no checkpoint after 300 s"
            time.sleep(0.05)
        proc.send_signal(signal.SIGKILL)
    finally:
        if proc.poll() is None:
            proc.kill()
        proc.wait()
    assert proc.returncode == -signal.SIGKILL
    return completed_steps(out / "checkpoint.pt")


def state_dicts_equal(a: dict, b: dict) -> list[str]:
    """Names of the tensors that differ (dtype, shape or any bit)."""
    assert a.keys() == b.keys()
    return [k for k in a if not (a[k].dtype == b[k].dtype and torch.equal(a[k], b[k]))]


def test_killed_training_resumes_at_its_last_checkpoint_and_matches_an_uninterrupted_run(
    labelled, tmp_path
):
    killed = tmp_path / "killed"
    done = kill_after_first_checkpoint(labelled, killed)
    assert EVAL_EVERY <= done < STEPS, f"the kill landed after {done} of {STEPS} steps; not mid-way"
    assert not (killed / "model.pt").exists()

    resumed = run_train(labelled, killed)
    assert f"resuming from {killed / 'checkpoint.pt'} at step {done} of {STEPS}" in resumed.stdout
    log = pd.read_csv(killed / "training_log.csv")
    # every validation exactly once
    assert log["step"].tolist() == list(range(EVAL_EVERY, STEPS + 1, EVAL_EVERY))

    straight = tmp_path / "straight"
    assert "resuming" not in run_train(labelled, straight).stdout

    # The saved model (best validation), and the last weights and optimiser state.
    model_a = torch.load(killed / "model.pt", weights_only=True)
    model_b = torch.load(straight / "model.pt", weights_only=True)
    assert model_a["metadata"]["best_step"] == model_b["metadata"]["best_step"]
    assert state_dicts_equal(model_a["state_dict"], model_b["state_dict"]) == []
    ckpt_a = torch.load(killed / "checkpoint.pt", weights_only=True)
    ckpt_b = torch.load(straight / "checkpoint.pt", weights_only=True)
    assert ckpt_a["step"] == ckpt_b["step"] == STEPS
    assert state_dicts_equal(ckpt_a["model"], ckpt_b["model"]) == []
    for state_a, state_b in zip(
        ckpt_a["optimiser"]["state"].values(), ckpt_b["optimiser"]["state"].values()
    ):
        assert state_dicts_equal(state_a, state_b) == []
    # Same losses at every validation: the resumed run saw the same batches and augmentations.
    log_b = pd.read_csv(straight / "training_log.csv")
    assert log[["train_loss", "val_loss", "lr"]].equals(log_b[["train_loss", "val_loss", "lr"]])


def test_a_checkpoint_of_another_configuration_is_ignored(labelled, tmp_path):
    out = tmp_path / "other"
    kill_after_first_checkpoint(labelled, out)
    result = run_train(labelled, out, OPTIONS | {"seed": OPTIONS["seed"] + 1})
    assert "belongs to another configuration" in result.stdout
    assert pd.read_csv(out / "training_log.csv")["step"].tolist() == list(
        range(EVAL_EVERY, STEPS + 1, EVAL_EVERY)
    )
