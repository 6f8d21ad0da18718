"""Where training starts (train.init): the workflow's own pretrained model, made once per
architecture and reused by every run; random weights; or a model file -- recorded in the
model's metadata and summary, and refused in one line when it cannot fit."""

from __future__ import annotations

import numpy as np
import pytest
import torch
import yaml
from test_models import blob_set

from conftest import REPO, run_snakemake
from direction_tagger import cli
from direction_tagger.config import ConfigError, pretrained_model, run_configs, start_model
from direction_tagger.io import KEYPOINTS, save_labelled, sha256_file
from direction_tagger.report.summary import build_summary
from direction_tagger.train.budget import training_budget
from direction_tagger.train.config import TrainConfig
from direction_tagger.train.loop import train
from direction_tagger.train.model_file import load_model, save_model

SCHEMA = REPO / "config" / "schema.yaml"
TINY = {"steps": 6, "eval_every": 3, "batch_size": 16, "device": "cpu", "patience": None}
NARROW = {"arch_kwargs": {"width": 8, "mid": 8}}
PRETRAINED = pretrained_model("fast_heatmap_unet")

# A demo shrunk to the training steps: three runs of one sweep, two fine-tuning the pretrained
# model (made with a few steps on a few rendered frames), one from scratch.
WORKFLOW = {
    "data": {"synthetic": {"train_frames": 200, "test_frames": 50}},
    "train": {"steps": 6, "eval_every": 3, "patience": None},
    "pretrain": {"frames": 200, "val_frames": 40, "steps": 4, "batch_size": 16},
    "runs": {
        "ft_a": {"train": {"init": "pretrained"}},
        "ft_b": {"train": {"init": "pretrained", "seed": 1}},
        "scratch": {"train": {"init": "scratch"}},
    },
}


# --- the budget ---------------------------------------------------------------------------


def test_fine_tuning_budget_scales_with_the_labels_and_stays_under_half_of_scratch():
    scratch, tuned = TrainConfig(), TrainConfig(init="pretrained")
    assert training_budget(scratch, 40).steps == scratch.min_steps
    steps = {n: training_budget(tuned, n).steps for n in (10, 20, 40, 80, 160, 400)}
    assert steps[10] == tuned.finetune_min_steps  # the floor
    assert list(steps.values()) == sorted(steps.values())  # more labels, more steps
    assert max(steps.values()) <= scratch.min_steps // 2  # at most half of today's budget
    assert "fine-tuning" in training_budget(tuned, 80).reason
    # a large set still gets its passes, started from a model or not
    assert training_budget(tuned, 100_000).steps == training_budget(scratch, 100_000).steps


# --- the library and the command ----------------------------------------------------------


@pytest.fixture(scope="module")
def blobs():
    images, locs = blob_set(60)
    return images[:48], locs[:48], images[48:], locs[48:]


@pytest.fixture(scope="module")
def start(blobs, tmp_path_factory):
    """A narrow model trained from scratch: the start model of the tests below."""
    path = tmp_path_factory.mktemp("start") / "model.pt"
    meta = train(*blobs, TrainConfig(**TINY | NARROW), path, path.with_suffix(".csv"))
    assert meta["init"] == {"choice": "scratch", "kind": "scratch"}
    return path


def test_fine_tuning_from_a_path_starts_from_its_weights_and_records_them(blobs, start, tmp_path):
    # learning rate ~0: the fine-tuned weights are the start's (batch norm statistics move)
    cfg = TrainConfig(**TINY | NARROW | {"init": str(start), "lr": 1e-12})
    meta = train(*blobs, cfg, tmp_path / "m.pt", tmp_path / "log.csv")
    assert meta["init"]["kind"] == "file" and meta["init"]["path"] == str(start)
    assert meta["init"]["sha256"] == sha256_file(start)
    tuned, _ = load_model(tmp_path / "m.pt")
    first, _ = load_model(start)
    for name, weights in first.state_dict().items():
        if "running" not in name and "num_batches" not in name:
            torch.testing.assert_close(tuned.state_dict()[name], weights, atol=1e-6, rtol=0)
    # `start_model` (what the workflow passes for "pretrained") names the file instead
    cfg = TrainConfig(**TINY | NARROW | {"init": "pretrained"})
    meta = train(*blobs, cfg, tmp_path / "p.pt", tmp_path / "p.csv", start_model=start)
    assert meta["init"]["kind"] == "pretrained" and meta["init"]["sha256"] == sha256_file(start)
    text, data = build_summary("p", meta, tmp_path / "p.csv", metrics={}, movies={})
    assert f"Start: fine-tuned from the pretrained model `{start}`" in text
    assert f"sha256 `{sha256_file(start)}` (train.init = pretrained)" in text
    assert data["init"]["sha256"] == sha256_file(start)
    scratch_meta = load_model(start)[1]
    assert (
        "Start: from scratch (random weights"
        in build_summary("s", scratch_meta, start.with_suffix(".csv"), metrics={}, movies={})[0]
    )


def test_a_fresh_head_keeps_the_start_models_features_and_draws_its_output_layer_anew(
    blobs, start, tmp_path
):
    # learning rate ~0: what training starts from is what it ends with (but batch norm stats)
    cfg = TrainConfig(**TINY | NARROW | {"init": str(start), "lr": 1e-12, "fresh_head": True})
    meta = train(*blobs, cfg, tmp_path / "m.pt", tmp_path / "log.csv")
    assert meta["init"]["fresh_head"] is True and meta["init"]["sha256"] == sha256_file(start)
    tuned, _ = load_model(tmp_path / "m.pt")
    first, _ = load_model(start)
    moved = set()
    for name, weights in first.state_dict().items():
        if "running" in name or "num_batches" in name:
            continue
        if not torch.allclose(tuned.state_dict()[name], weights, atol=1e-6, rtol=0):
            moved.add(name)
    assert moved == {"out.weight", "out.bias"}
    text, _ = build_summary("m", meta, tmp_path / "log.csv", metrics={}, movies={})
    assert "its output layer started afresh (train.fresh_head)" in text
    # the same seed draws the same fresh layer: the run stays reproducible
    again = train(*blobs, cfg, tmp_path / "n.pt", tmp_path / "n.csv")
    assert again["val_median_px"] == meta["val_median_px"]
    torch.testing.assert_close(load_model(tmp_path / "n.pt")[0].out.weight, tuned.out.weight)
    # refine fine-tunes the run's own model, whose output layer already knows its labels
    state = {"state": first.state_dict(), "sha256": "x", "path": str(start)}
    refined = train(*blobs, cfg, tmp_path / "r.pt", tmp_path / "r.csv", fine_tune=state)
    assert "fresh_head" not in refined["init"]
    torch.testing.assert_close(
        load_model(tmp_path / "r.pt")[0].out.weight, first.out.weight, atol=1e-6, rtol=0
    )


@pytest.fixture()
def labelled(blobs, tmp_path):
    path = tmp_path / "set.npz"
    images, locs, v_images, v_locs = blobs
    save_labelled(path, np.concatenate([images, v_images]), np.concatenate([locs, v_locs]))
    return path


def train_command(labelled, start, options: dict, capsys) -> tuple[int, str]:
    import json

    code = cli.main(
        [
            "train",
            "--data",
            str(labelled),
            "--val-data",
            str(labelled),
            "--out",
            str(labelled.with_name("m.pt")),
            "--options",
            json.dumps(TINY | options),
        ]
        + (["--start-model", str(start)] if start else [])
    )
    return code, capsys.readouterr().err.strip()


def test_a_missing_start_model_is_one_line(labelled, capsys):
    code, err = train_command(labelled, None, {"init": "nowhere/model.pt"}, capsys)
    assert code == 2 and len(err.splitlines()) == 1
    assert "train.init: no model file at nowhere/model.pt" in err
    code, err = train_command(labelled, None, {"init": "pretrained"}, capsys)
    assert code == 2 and len(err.splitlines()) == 1 and "--start-model" in err


def test_a_start_model_of_another_architecture_or_keypoints_is_one_line(
    labelled, start, tmp_path, capsys
):
    # the start is a narrow fast_heatmap_unet; this run trains the default widths
    code, err = train_command(labelled, start, {"init": "pretrained"}, capsys)
    assert code == 2 and len(err.splitlines()) == 1
    assert f"train.init: {start} is a fast_heatmap_unet {{'width': 8, 'mid': 8}}" in err
    assert "this run trains a fast_heatmap_unet (base/neck/head) model" in err
    code, err = train_command(
        labelled, start, {"init": "pretrained", "architecture": "seed_cnn"}, capsys
    )
    assert code == 2 and len(err.splitlines()) == 1 and "this run trains a seed_cnn" in err
    # other keypoints: the same weights, other names
    bundle = torch.load(start, weights_only=True)
    other = tmp_path / "other.pt"
    save_model(other, bundle["state_dict"], bundle["metadata"] | {"keypoints": ["a", "b", "c"]})
    code, err = train_command(labelled, None, NARROW | {"init": str(other)}, capsys)
    assert code == 2 and len(err.splitlines()) == 1 and "(a/b/c) model" in err
    assert f"({'/'.join(KEYPOINTS)}) model" in err
    # not a model at all
    junk = tmp_path / "junk.pt"
    junk.write_bytes(b"not a model")
    code, err = train_command(labelled, None, NARROW | {"init": str(junk)}, capsys)
    assert code == 2 and len(err.splitlines()) == 1 and "not a direction-tagger model" in err


# --- the config ---------------------------------------------------------------------------


def test_the_config_names_the_start_model_and_refuses_what_cannot_work(tmp_path):
    base = {"architecture": "seed_cnn", "arch_kwargs": {}}
    assert start_model(base | {"init": "scratch"}) is None
    assert start_model(base | {"init": "pretrained"}) == "results/pretrained/seed_cnn/model.pt"
    given = tmp_path / "m.pt"
    given.write_bytes(b"")
    assert start_model(base | {"init": str(given)}) == str(given)
    with pytest.raises(ConfigError, match=r"^train.init: no model file at 'x.pt' \(expected"):
        start_model(base | {"init": "x.pt"})
    with pytest.raises(ConfigError, match="drop arch_kwargs or set train.init: scratch"):
        start_model(base | {"init": "pretrained", "arch_kwargs": {"width": 8}})


def test_a_run_named_pretrained_is_refused():
    from snakemake.utils import validate

    config = yaml.safe_load((REPO / "config" / "demo.yaml").read_text())
    validate(config, str(SCHEMA))
    assert config["train"]["init"] == "scratch"  # the demo's frames are the renderer's own
    with pytest.raises(ConfigError, match="results/pretrained/ holds the pretrained"):
        run_configs(config | {"runs": {"pretrained": {}}}, SCHEMA)
    # a missing file in a sweep names the run
    with pytest.raises(ConfigError, match=r"^runs\.b: train\.init: no model file at 'b\.pt'"):
        run_configs(config | {"runs": {"a": {}, "b": {"train": {"init": "b.pt"}}}}, SCHEMA)


# --- the workflow -------------------------------------------------------------------------


def jobs_of(result) -> list[str]:
    """The rules Snakemake ran (or would run, in a dry run)."""
    text = result.stdout + result.stderr
    return [
        line.split()[-1].rstrip(":")
        for line in text.splitlines()
        if line.startswith(("rule ", "localrule "))
    ]


@pytest.fixture(scope="module")
def sweep(tmp_path_factory):
    """ft_a trained first (the pretrained model made on the way), then ft_b and scratch."""
    workdir = tmp_path_factory.mktemp("pretrained")
    first = run_snakemake(workdir, "results/ft_a/model.pt", configs=[WORKFLOW])
    made = (workdir / PRETRAINED).stat().st_mtime_ns
    second = run_snakemake(
        workdir, "results/ft_b/model.pt", "results/scratch/model.pt", configs=[WORKFLOW]
    )
    return workdir, jobs_of(first), jobs_of(second), made


def test_the_pretrained_model_is_made_once_and_every_run_fine_tunes_it(sweep):
    workdir, first, second, made = sweep
    assert first.count("pretrain") == 1 and "train" in first
    assert "pretrain" not in second and second.count("train") == 2  # reused, not re-made
    assert (workdir / PRETRAINED).stat().st_mtime_ns == made
    pretrained_sha = sha256_file(workdir / PRETRAINED)
    _, pre_meta = load_model(workdir / PRETRAINED)
    assert pre_meta["pretraining"]["settings"]["steps"] == 4 and pre_meta["steps_done"] == 4
    for run in ("ft_a", "ft_b"):
        _, meta = load_model(workdir / f"results/{run}/model.pt")
        assert meta["init"]["choice"] == "pretrained" and meta["init"]["kind"] == "pretrained"
        assert meta["init"]["path"] == PRETRAINED and meta["init"]["sha256"] == pretrained_sha
    _, meta = load_model(workdir / "results/scratch/model.pt")
    assert meta["init"] == {"choice": "scratch", "kind": "scratch"}  # as before: random weights
    assert "fine-tuning" not in meta["budget"]["reason"]


def test_editing_a_run_re_trains_it_but_never_re_makes_the_pretrained_model(sweep):
    workdir = sweep[0]
    edited = WORKFLOW | {
        "runs": WORKFLOW["runs"] | {"ft_a": {"train": {"init": "pretrained", "lr": 0.001}}}
    }
    dry = run_snakemake(
        workdir, "-n", "results/ft_a/model.pt", "results/ft_b/model.pt", configs=[edited]
    )
    assert jobs_of(dry) == ["train"]  # ft_a only
    # its own settings re-make it, and every run that fine-tunes it follows
    remade = WORKFLOW | {"pretrain": WORKFLOW["pretrain"] | {"steps": 5}}
    targets = [f"results/{run}/model.pt" for run in WORKFLOW["runs"]]
    dry = run_snakemake(workdir, "-n", *targets, configs=[remade])
    assert sorted(jobs_of(dry)) == ["pretrain", "train", "train"]


def test_a_run_fine_tunes_a_model_file_and_a_missing_one_stops_the_plan(sweep):
    workdir = sweep[0]
    start = workdir / "results/ft_a/model.pt"  # e.g. a model of an earlier run
    from_file = WORKFLOW | {"runs": {"from_file": {"train": {"init": str(start)}}}}
    dry = run_snakemake(workdir, "-n", "results/from_file/model.pt", configs=[from_file])
    assert sorted(jobs_of(dry)) == ["split", "train"]  # no pretraining: the file is the start
    assert f"input: {start}, " in dry.stdout
    missing = WORKFLOW | {"runs": {"lost": {"train": {"init": "lost/model.pt"}}}}
    result = run_snakemake(workdir, "-n", configs=[missing], check=False)
    assert result.returncode != 0
    assert (
        "runs.lost: train.init: no model file at 'lost/model.pt'" in result.stdout + result.stderr
    )


def test_the_pretrain_command_defaults_to_what_the_workflow_makes():
    """`direction-tagger pretrain` with no options must make the workflow's start model: its
    defaults are the config schema's (they had drifted: 12,000 steps against 20,000)."""
    import dataclasses

    from direction_tagger.train.pretrain import PretrainConfig

    schema = yaml.safe_load((REPO / "config/schema.yaml").read_text())
    section = schema["properties"]["pretrain"]["properties"]
    defaults = {f.name: f.default for f in dataclasses.fields(PretrainConfig)}
    for name, spec in section.items():
        assert defaults[name] == spec["default"], name
