"""Every command usable with just its inputs (issue #28): outputs default to files beside the
input, named after it; the workflow still passes every path."""

from __future__ import annotations

import argparse
import json
import shutil

import numpy as np
import pandas as pd
import pytest
from videos_material import write_dlc_project

from direction_tagger import cli
from direction_tagger.commands import COMMAND_STAGE
from direction_tagger.data.synth.arena import write_arena_video
from direction_tagger.io import load_labelled, load_movie
from direction_tagger.originals.split import load_split
from direction_tagger.train.model_file import load_model


def ok(*argv) -> None:
    assert cli.main([str(a) for a in argv]) == 0, argv


@pytest.fixture(scope="module")
def chain(tmp_path_factory):
    """The movie chain typed as a user would: each command given only what it reads."""
    d = tmp_path_factory.mktemp("defaults")
    ok("synth", "labelled", "--n", 40, "--out", d / "rats.npz")
    ok("synth", "movie", "--frames", 12, "--out", d / "walk.npz")
    ok("verify", "--data", d / "rats.npz")
    ok("split", "--data", d / "rats.npz", "--group-key", "frame")
    options = json.dumps({"steps": 2, "batch_size": 8, "arch_kwargs": {"width": 8}})
    ok("train", "--data", d / "rats.npz", "--options", options)  # the split beside the data
    ok("predict", "--model", d / "rats_model.pt", "--movie", d / "walk.npz")
    ok("smooth", "--predictions", d / "walk_predictions_raw.csv")
    ok("render", "--movie", d / "walk.npz", "--predictions", d / "walk_predictions.csv", "--quiet")
    ok("movie-figures", "--predictions", d / "walk_predictions.csv")
    return d


def test_the_movie_chain_writes_beside_its_inputs(chain):
    d = chain
    assert json.loads((d / "rats_verify.json").read_text())["n_frames"] == 40
    assert (d / "rats_montage.png").stat().st_size and (d / "rats_plots").is_dir()
    assert set(json.loads((d / "rats_split.json").read_text())["indices"]) >= {"train", "val"}
    assert (d / "rats_model.pt").exists() and (d / "rats_training_log.csv").exists()
    split = load_split(d / "rats_split.json")
    meta = load_model(d / "rats_model.pt")[1]  # trained on the split found beside the data
    assert (meta["n_train"], meta["n_val"]) == (len(split["train"]), len(split["val"]))
    raw = pd.read_csv(d / "walk_predictions_raw.csv")
    smoothed = pd.read_csv(d / "walk_predictions.csv")  # X_raw.csv -> X.csv
    assert len(raw) == len(smoothed) == len(load_movie(d / "walk.npz"))
    assert (d / "walk_tagged.mp4").stat().st_size > 0
    assert list((d / "walk_predictions_figures").glob("*.png"))


def test_evaluation_commands_need_only_their_inputs(chain):
    d = chain
    model = ["--model", d / "rats_model.pt"]
    ok("evaluate", *model, "--data", d / "rats.npz")
    assert json.loads((d / "rats_metrics.json").read_text())["n_frames"] == 40
    ok("calibrate", *model, "--data", d / "rats.npz")  # the split beside the data
    calibration = json.loads((d / "rats_model_calibration.json").read_text())
    assert "coefficients" in calibration
    assert calibration["split"] == str(d / "rats_split.json")
    ok("qc-reference", "--labelled", d / "rats.npz")
    assert (d / "rats_reference.json").exists()


def test_a_video_and_a_dlc_project_need_only_their_inputs(chain, tmp_path):
    write_arena_video(tmp_path / "arena.mp4", 20, seed=2, width=320, height=240, tether=False)
    ok("track", "--video", tmp_path / "arena.mp4", "--quiet")
    movie = tmp_path / "arena_movie.npz"
    assert len(load_movie(movie)) == 20 and (tmp_path / "arena_track_qc.json").exists()
    ok("recentre", "--video", tmp_path / "arena.mp4", "--model", chain / "rats_model.pt", "--quiet")
    assert len(load_movie(tmp_path / "arena_movie_recentred.npz")) == 20  # track's files found
    recentred = pd.read_csv(tmp_path / "arena_movie_recentred_track.csv")
    assert len(recentred) == 20 and "tracker_crop_x" in recentred.columns
    ok("predict", "--model", chain / "rats_model.pt", "--movie", movie)
    ok("smooth", "--predictions", tmp_path / "arena_movie_predictions_raw.csv")
    predictions = tmp_path / "arena_movie_predictions.csv"
    ok("to-video", "--predictions", predictions, "--track", tmp_path / "arena_track.csv")
    video_table = tmp_path / "arena_movie_predictions_video.csv"
    assert "head_x_video" in pd.read_csv(video_table).columns
    ok("render-video", "--video", tmp_path / "arena.mp4", "--predictions", video_table, "--quiet")
    assert (tmp_path / "arena_tagged.mp4").stat().st_size > 0
    write_dlc_project(tmp_path / "Proj", recordings=1, frames=6)
    ok("import-dlc", tmp_path / "Proj", "--quiet")
    assert len(load_labelled(tmp_path / "Proj_labelled.npz")) > 0


def test_a_default_output_that_is_the_input_is_refused(tmp_path, capsys):
    """A movie named `x_raw.csv`'s smoothed name is its own input only if the rule broke;
    a predictions file already named `poses.nwb`-style stays safe the same way."""
    raw = tmp_path / "weird.csv"
    raw.write_text("not used\n")
    target = tmp_path / "weird_smoothed.csv"
    target.symlink_to(raw)  # the default output would write through the link into the input
    capsys.readouterr()
    assert cli.main(["smooth", "--predictions", str(raw)]) == 2
    assert "is also an input" in capsys.readouterr().err
    assert raw.read_text() == "not used\n"


def test_json_for_scripts_names_what_was_written_and_nothing_else(chain, capsys):
    capsys.readouterr()
    assert cli.main(["qc-reference", "--labelled", str(chain / "rats.npz"), "--json"]) == 0
    out, err = capsys.readouterr()
    said = json.loads(out)  # stdout is one JSON object; the human line went to stderr
    assert said == {
        "command": "qc-reference",
        "status": 0,
        "written": [str(chain / "rats_reference.json")],
    }
    assert "geometry reference" in err


def fails(capsys, *argv) -> str:
    """The one error line of a command that must refuse (exit status 2)."""
    capsys.readouterr()
    assert cli.main([str(a) for a in argv]) == 2, argv
    lines = capsys.readouterr().err.strip().splitlines()
    assert len(lines) == 1 and ": error: " in lines[0], lines
    return lines[0]


def test_an_input_that_cannot_be_found_is_named(chain, tmp_path, capsys):
    shutil.copy(chain / "rats.npz", tmp_path / "other.npz")  # no other_split.json beside it
    model = ["--model", chain / "rats_model.pt"]
    line = fails(capsys, "calibrate", *model, "--data", tmp_path / "other.npz")
    assert "other_split.json: not found" in line and "--split" in line
    assert "other_split.json" in fails(capsys, "train", "--data", tmp_path / "other.npz")
    line = fails(capsys, "recentre", "--video", tmp_path / "none.mp4", *model)
    assert "none_track.csv: not found" in line and "track --video" in line
    line = fails(capsys, "summary", "--run", tmp_path / "empty")
    assert "no such run folder" in line
    (tmp_path / "empty").mkdir()
    assert "model.pt: not found" in fails(capsys, "summary", "--run", tmp_path / "empty")
    labels = tmp_path / "CollectedData_me.csv"
    labels.write_text("scorer\n")
    assert "in no refine folder" in fails(capsys, "refine-merge", "--labels", labels)
    assert not list(tmp_path.glob("*refined*"))  # nothing written


@pytest.fixture(scope="module")
def augmented(tmp_path_factory):
    """Six labelled originals and their x64 copies, each command given only --data."""
    d = tmp_path_factory.mktemp("originals")
    ok("synth", "labelled", "--n", 6, "--out", d / "orig.npz")
    ok("augment", "--data", d / "orig.npz")  # seed 0
    ok("augment", "--data", d / "orig.npz", "--seed", 0, "--out", d / "seed0.npz")
    ok("recover", "--data", d / "orig_augmented.npz")
    return d


def test_augment_and_recover_need_only_the_data(augmented):
    d = augmented
    copies, same = np.load(d / "orig_augmented.npz"), np.load(d / "seed0.npz")
    assert len(copies["images"]) == 6 * 64
    np.testing.assert_array_equal(copies["images"], same["images"])  # the seed defaults to 0
    originals = load_labelled(d / "orig_augmented_originals.npz")
    assert len(originals) == 6
    groups = np.load(d / "orig_augmented_groups.npz")["groups"]
    assert len(groups) == 6 * 64 and len(np.unique(groups)) == 6
    report = json.loads((d / "orig_augmented_recover_report.json").read_text())
    assert report  # the report beside the data


def test_a_learning_curve_needs_a_split_a_count_and_the_evaluations(
    chain, augmented, tmp_path, monkeypatch
):
    d = augmented
    ok("split", "--data", d / "orig_augmented.npz")  # groups: the copies' original
    split = d / "orig_augmented_split.json"
    ok("subsample-split", "--split", split, "--count", 1)  # the data: the one the split records
    subset = d / "orig_augmented_split_n1_seed0.json"
    info = json.loads(subset.read_text())
    assert info["data"] == str(d / "orig_augmented.npz") and info["seed"] == 0
    originals = np.load(d / "orig_augmented.npz")["original_index"]
    assert info["n_originals"] == 1 and len(np.unique(originals[info["indices"]["train"]])) == 1
    ok("evaluate", "--model", chain / "rats_model.pt", "--data", d / "orig.npz")
    monkeypatch.chdir(tmp_path)  # many inputs, one curve: written here
    ok("learning-curve", "--splits", subset, "--metrics", d / "orig_metrics.json")
    table = pd.read_csv(tmp_path / "learning_curve.csv")
    assert table["count"].tolist() == [1] and table["seed"].tolist() == [0]
    assert (tmp_path / "learning_curve.png").stat().st_size > 0
    assert (tmp_path / "learning_curve.md").read_text().count("|") > 3


def test_tag_movies_summary_and_compare_need_one_or_two_arguments(chain, tmp_path, monkeypatch):
    d = chain
    shutil.copy(d / "walk.npz", tmp_path / "walk.npz")
    ok("tag-movies", "--model", d / "rats_model.pt", "--movies", tmp_path / "walk.npz")
    tagged = tmp_path / "walk_tagged"  # beside the movie
    assert len(pd.read_csv(tagged / "predictions.csv")) == 12
    assert "n_frames" in json.loads((tagged / "qc.json").read_text())
    # a run folder laid out as the workflow writes one
    run = tmp_path / "results" / "mine"
    (run / "eval" / "test").mkdir(parents=True)
    (run / "movies" / "walk").mkdir(parents=True)
    shutil.copy(d / "rats_model.pt", run / "model.pt")
    shutil.copy(d / "rats_training_log.csv", run / "training_log.csv")
    shutil.copy(d / "rats_split.json", run / "split.json")
    ok(
        "evaluate",
        "--model",
        run / "model.pt",
        "--data",
        d / "rats.npz",
        "--metrics",
        run / "eval" / "test" / "metrics.json",
        "--frames",
        tmp_path / "frames.csv",
    )
    shutil.copy(tagged / "qc.json", run / "movies" / "walk" / "qc.json")
    ok("summary", "--run", run)
    summary = json.loads((run / "summary.json").read_text())
    assert summary["run"] == "mine" and list(summary["evaluation"]) == ["test"]
    assert list(summary["movies"]) == ["walk"]
    assert "direction-tagger run `mine`" in (run / "summary.md").read_text()
    shutil.copytree(run, tmp_path / "results" / "again")
    monkeypatch.chdir(tmp_path)  # several runs, one comparison: written here
    ok("compare", "--summaries", run / "summary.json", "results/again/summary.json")
    runs = pd.read_csv(tmp_path / "comparison_runs.csv")
    assert runs["run"].tolist() == ["mine", "again"]  # named after their folders
    assert len(pd.read_csv(tmp_path / "comparison_variants.csv")) == 1
    assert (tmp_path / "comparison.png").stat().st_size > 0


def test_refine_merge_needs_only_the_labels(chain, tmp_path, monkeypatch):
    """refine records the labelled set and its split; refine-merge finds the folder the
    labels are in, and through it the data and split."""
    d = tmp_path / "lab"
    d.mkdir()
    for name in ("rats.npz", "rats_split.json", "walk.npz", "walk_predictions.csv"):
        shutil.copy(chain / name, d / name)
    monkeypatch.chdir(d)
    ok("refine", "--movie", "walk", "walk_predictions.csv", "walk.npz", "--labelled", "rats.npz")
    record = json.loads((d / "refine" / "refine.json").read_text())
    assert record == {"labelled": str(d / "rats.npz"), "split": str(d / "rats_split.json")}
    labels = d / "refine" / "labeled-data" / "walk" / "CollectedData_labeller.csv"
    monkeypatch.chdir(tmp_path)  # from elsewhere: the record holds absolute paths
    ok("refine-merge", "--labels", labels)
    merged = load_labelled(d / "rats_refined.npz")
    added = len(merged) - 40
    assert added > 0
    np.testing.assert_array_equal(merged.images[:40], load_labelled(d / "rats.npz").images)
    parts = load_split(d / "rats_refined_split.json")
    assert set(range(40, 40 + added)) <= set(parts["train"].tolist())
    assert parts["test"].tolist() == load_split(d / "rats_split.json")["test"].tolist()
    # and fine-tuned on it: rats_refined_split.json is the split train finds beside the data
    options = json.dumps({"steps": 2, "batch_size": 8, "arch_kwargs": {"width": 8}})
    fine_tune = ["--fine-tune", d / "rats_model.pt", "--options", options]
    shutil.copy(chain / "rats_model.pt", d / "rats_model.pt")
    ok("train", "--data", d / "rats_refined.npz", *fine_tune)
    meta = load_model(d / "rats_refined_model.pt")[1]
    assert meta["n_train"] == len(parts["train"]) and meta["n_val"] == len(parts["val"])


def required_arguments(parser: argparse.ArgumentParser) -> dict[str, list[str]]:
    """{command: its required arguments}, a command with kinds (synth) once per kind."""
    found = {}
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for name, sub in action.choices.items():
                nested = required_arguments(sub)
                found |= {f"{name} {k}".strip(): v for k, v in nested.items()}
    if not any(isinstance(a, argparse._SubParsersAction) for a in parser._actions):
        found[""] = [
            a.option_strings[0] if a.option_strings else a.dest
            for a in parser._actions
            if a.required
        ]
    return found


# Commands whose common use truly needs a third required argument, and why. None today.
THIRD_ARGUMENT_NEEDED: dict[str, str] = {}


def test_no_command_needs_more_than_two_arguments():
    """Issue #28's target, kept: every command runs with at most 2 required arguments."""
    required = required_arguments(cli.build_parser())
    assert {c.split()[0] for c in required} == set(COMMAND_STAGE)  # every command walked
    over = {c: r for c, r in required.items() if len(r) > 2 and c not in THIRD_ARGUMENT_NEEDED}
    assert not over, f"commands needing more than 2 arguments: {over}"
    assert required["recover"] == ["--data"] and required["summary"] == ["--run"]


def test_a_found_input_is_an_input_and_a_default_output_never_one(augmented, tmp_path, capsys):
    """What a command found is checked as what it was given: never written over."""
    d = augmented
    split = d / "orig_augmented_split.json"
    if not split.exists():
        ok("split", "--data", d / "orig_augmented.npz")
    data = d / "orig_augmented.npz"
    before = data.read_bytes()
    line = fails(capsys, "subsample-split", "--split", split, "--count", 1, "--out", data)
    assert "is also an input" in line and data.read_bytes() == before  # the split's data
    shutil.copy(d / "orig.npz", tmp_path / "x.npz")
    (tmp_path / "x_augmented.npz").symlink_to(tmp_path / "x.npz")  # augment's default output
    assert "is also an input" in fails(capsys, "augment", "--data", tmp_path / "x.npz")
