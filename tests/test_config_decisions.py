"""What the workflow decides from its config (direction_tagger.config), without Snakemake."""

from __future__ import annotations

import copy

import pytest
import yaml

from conftest import REPO
from direction_tagger.config import (
    ConfigError,
    expand_movie_entry,
    merged,
    original_groups,
    refined_runs,
    run_configs,
    split_groups,
    tta_count,
)

SCHEMA = REPO / "config" / "schema.yaml"


@pytest.fixture
def demo():
    """config/demo.yaml with the schema's defaults filled in, as the Snakefile sees it."""
    from snakemake.utils import validate

    config = yaml.safe_load((REPO / "config" / "demo.yaml").read_text())
    validate(config, str(SCHEMA))
    return config


def test_merged_lays_overrides_over_nested_sections_without_touching_the_base():
    base = {"train": {"lr": 0.003, "steps": 100}, "split": {"seed": 0}}
    before = copy.deepcopy(base)
    out = merged(base, {"train": {"lr": 0.01}, "run": "x"})
    assert out == {"train": {"lr": 0.01, "steps": 100}, "split": {"seed": 0}, "run": "x"}
    assert base == before


def test_run_configs_one_run_or_one_per_sweep_entry(demo):
    assert list(run_configs(demo, SCHEMA)) == ["demo"]
    demo["runs"] = {"a": {"train": {"lr": 0.01}}, "b": {}}
    runs = run_configs(demo, SCHEMA)
    assert list(runs) == ["a", "b"]
    assert runs["a"]["train"]["lr"] == 0.01 and runs["b"]["train"]["lr"] == demo["train"]["lr"]
    assert runs["a"]["train"]["steps"] == demo["train"]["steps"]
    assert runs["a"]["runs"] == {}


def test_a_bad_override_or_run_name_names_itself(demo):
    demo["runs"] = {"fast": {"train": {"lr": "quick"}}}
    with pytest.raises(ConfigError, match=r"^runs\.fast: config error at train\.lr"):
        run_configs(demo, SCHEMA)
    demo["runs"] = {"../x": {}}
    with pytest.raises(ConfigError, match=r"run name '\.\./x'"):
        run_configs(demo, SCHEMA)


@pytest.mark.parametrize(
    "group_key, recover, augment, expected",
    [
        ("video", True, True, ("key", "video")),  # the user's choice wins
        (None, True, True, ("key", "groups")),  # our augmented set carries its groups
        (None, True, False, ("file", None)),  # the downloaded set: recover's copy groups
        (None, False, False, ("key", "frame")),  # independent frames
    ],
)
def test_split_groups(demo, group_key, recover, augment, expected):
    demo["originals"]["recover"] = recover
    demo["originals"]["augment"]["enabled"] = augment
    run = merged(demo, {"split": {"group_key": group_key}})
    assert split_groups(demo, run) == expected


@pytest.mark.parametrize(
    "recover, augment, expected",
    [
        (True, True, ("key", "original_index")),
        (True, False, ("file", None)),
        (False, False, ("key", "frame")),
    ],
)
def test_original_groups_for_the_learning_curve(demo, recover, augment, expected):
    demo["originals"]["recover"] = recover
    demo["originals"]["augment"]["enabled"] = augment
    assert original_groups(demo) == expected


def test_movie_entries_file_folder_glob_and_bad_names(tmp_path):
    folder = tmp_path / "day 1"
    folder.mkdir()
    for name in ("b.npz", "a rat.npz", "notes.txt"):
        (folder / name).write_bytes(b"")
    assert expand_movie_entry("walk", "x/walk.npz") == {"walk": "x/walk.npz"}
    assert expand_movie_entry("day1", str(folder)) == {
        "day1_a_rat": str(folder / "a rat.npz"),
        "day1_b": str(folder / "b.npz"),
    }
    assert list(expand_movie_entry("d", str(folder / "b*.npz"))) == ["d_b"]
    with pytest.raises(ConfigError, match="movies.my movie"):
        expand_movie_entry("my movie", "x.npz")


def test_tta_count():
    assert [tta_count(v) for v in (True, False, 0, 2, 8)] == [8, 0, 0, 2, 8]


def test_refine_labels_add_a_fine_tuned_run_per_run(demo):
    runs = run_configs(demo, SCHEMA)
    assert refined_runs(demo, runs) == {}  # no labels: only choose the frames
    demo["refine"] |= {"labels": "labels.csv", "steps": 300}
    refined = refined_runs(demo, runs)
    assert list(refined) == ["demo_refined"]
    new = refined["demo_refined"]
    assert new["refined_from"] == "demo" and new["train"]["steps"] == 300
    assert (
        new["train"]["lr"] == runs["demo"]["train"]["lr"] and runs["demo"]["train"]["steps"] == 1900
    )
    demo["refine"]["steps"] = None  # the train command takes a share of the run's budget
    assert refined_runs(demo, runs)["demo_refined"]["train"]["steps"] is None
    with pytest.raises(ConfigError, match="run name 'a_refined'"):
        refined_runs(demo, {"a": runs["demo"], "a_refined": runs["demo"]})


def test_the_flag_threshold_is_one_number_for_the_workflow_the_command_and_live_tagging(demo):
    """smooth.flag_risk's default is the one `qc_flags`, the `smooth` command and live tagging
    use, so a flag means the same on every path (it had been written out in six places)."""
    import inspect

    from direction_tagger.cli import build_parser
    from direction_tagger.live.stream import CausalStream
    from direction_tagger.movies.qc import DEFAULT_FLAG_RISK, qc_flags

    assert demo["smooth"]["flag_risk"] == DEFAULT_FLAG_RISK
    assert inspect.signature(qc_flags).parameters["flag_risk"].default == DEFAULT_FLAG_RISK
    assert inspect.signature(CausalStream).parameters["flag_risk"].default == DEFAULT_FLAG_RISK
    smooth = build_parser().parse_args(["smooth", "--predictions", "p.csv", "--out", "o.csv"])
    assert smooth.flag_risk == DEFAULT_FLAG_RISK
