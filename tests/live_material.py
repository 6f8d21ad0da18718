"""Material for the live tests (test_api.py, test_live.py), made here: a run folder with a
tiny model (2 training steps: its answers are poor, which does not matter, the tests compare
paths, not accuracy), a movie and the `predict` command's tables of it."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd

from direction_tagger import cli
from direction_tagger.data.synth import make_labelled_set
from direction_tagger.io import KEYPOINTS, save_labelled

TRAIN_OPTIONS = {"steps": 2, "batch_size": 8, "arch_kwargs": {"width": 8}, "device": "cpu"}
TOLERANCE_PX = 1e-4


def run_cli(argv: list[str]) -> None:
    assert cli.main([str(a) for a in argv]) == 0, argv


def table_locs(path) -> np.ndarray:
    table = pd.read_csv(path)
    return np.stack([table[[f"{k}_x", f"{k}_y"]].to_numpy() for k in KEYPOINTS], axis=1)


def make_run(d: Path) -> Path:
    """A run folder as the workflow lays it out: model.pt, calibration/tta2.json,
    label_reference.json; beside it a movie and the `predict` command's table of it."""
    images, locs = make_labelled_set(60, 0)
    save_labelled(d / "labelled.npz", images, locs)
    folder = d / "results" / "r"
    (folder / "calibration").mkdir(parents=True)
    run_cli(["synth", "movie", "--frames", 40, "--seed", 3, "--out", d / "movie.npz"])
    run_cli(["split", "--data", d / "labelled.npz", "--group-key", "frame", "--out", d / "s.json"])
    model = folder / "model.pt"
    train = ["--data", d / "labelled.npz", "--split", d / "s.json", "--out", model]
    run_cli(["train", *train, "--log", d / "log.csv", "--options", json.dumps(TRAIN_OPTIONS)])
    for tta in (0, 2):
        run_cli(
            ["predict", "--model", model, "--movie", d / "movie.npz", "--tta", tta]
            + ["--precision", "fp32", "--out", d / f"raw_tta{tta}.csv"]
        )
    data = ["--data", d / "labelled.npz", "--split", d / "s.json", "--tta", 2]
    run_cli(["calibrate", "--model", model, *data, "--out", folder / "calibration" / "tta2.json"])
    reference = ["--labelled", d / "labelled.npz", "--out", folder / "label_reference.json"]
    run_cli(["qc-reference", *reference])
    return folder
