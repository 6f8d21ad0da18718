"""The short forms on a run folder the workflow made (issue #28): `summary --run results/RUN`
finds what the workflow's summary rule passes, and writes the same summary; `compare` takes
run folders' summaries by their paths alone."""

from __future__ import annotations

import json
import shutil

import pandas as pd
import pytest

from direction_tagger import cli

pytestmark = pytest.mark.slow


def test_summary_of_a_run_folder_is_the_workflows(tiny_run, tmp_path, monkeypatch):
    made = tiny_run / "results" / "demo"
    run = tmp_path / "results" / "demo"
    shutil.copytree(made, run, symlinks=True)
    (run / "summary.md").unlink()
    (run / "summary.json").unlink()
    assert cli.main(["summary", "--run", str(run)]) == 0
    mine, workflows = (json.loads((d / "summary.json").read_text()) for d in (run, made))
    assert mine["evaluation"] and mine["movies"]  # found in eval/ and movies/
    assert mine == workflows
    assert (run / "summary.md").read_text() == (made / "summary.md").read_text()
    shutil.copytree(run, tmp_path / "results" / "again")
    monkeypatch.chdir(tmp_path)
    argv = ["compare", "--summaries", "results/demo/summary.json", "results/again/summary.json"]
    assert cli.main(argv) == 0
    assert pd.read_csv("comparison_runs.csv")["run"].tolist() == ["demo", "again"]
