"""Every command usable with just its inputs (issue #28): outputs default to files beside the
input, named after it; the workflow still passes every path."""

from __future__ import annotations

import json

import pandas as pd
import pytest
from videos_material import write_dlc_project

from direction_tagger import cli
from direction_tagger.data.synth.arena import write_arena_video
from direction_tagger.io import load_labelled, load_movie


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
    ok("train", "--data", d / "rats.npz", "--split", d / "rats_split.json", "--options", options)
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
    ok("calibrate", *model, "--data", d / "rats.npz", "--split", d / "rats_split.json")
    assert "coefficients" in json.loads((d / "rats_model_calibration.json").read_text())
    ok("qc-reference", "--labelled", d / "rats.npz")
    assert (d / "rats_reference.json").exists()


def test_a_video_and_a_dlc_project_need_only_their_inputs(chain, tmp_path):
    write_arena_video(tmp_path / "arena.mp4", 20, seed=2, width=320, height=240, tether=False)
    ok("track", "--video", tmp_path / "arena.mp4", "--quiet")
    movie = tmp_path / "arena_movie.npz"
    assert len(load_movie(movie)) == 20 and (tmp_path / "arena_track_qc.json").exists()
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
