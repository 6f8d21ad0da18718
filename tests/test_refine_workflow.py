"""choose -> label -> merge -> fine-tune through the real workflow (issue #25), on the tiny
demo: `snakemake refine` writes the frames to label; a simulated labeller (the synthetic
movie's ground truth) saves their labels; `snakemake refine` with `refine.labels` fine-tunes
the run's model into results/demo_refined/, whose summary shows before / after."""

from __future__ import annotations

import json
import shutil

import numpy as np
import pytest

from conftest import TINY_DEMO, run_snakemake
from direction_tagger.io import load_labelled, load_movie
from direction_tagger.originals.split import load_split
from direction_tagger.refine.labelled_data import collected_data_text, read_manifest
from direction_tagger.train.model_file import load_model

pytestmark = pytest.mark.slow

FRAMES = 5


@pytest.fixture(scope="module")
def refined(tiny_run, tmp_path_factory):
    workdir = tmp_path_factory.mktemp("refine") / "work"
    shutil.copytree(tiny_run, workdir, symlinks=True)
    base_model = workdir / "results/demo/model.pt"
    before = base_model.stat().st_mtime_ns
    choose = {"refine": {"frames": FRAMES}}
    run_snakemake(workdir, "refine", configs=[TINY_DEMO, choose])
    folder = workdir / "results/demo/refine"
    manifest = read_manifest(folder)
    # the labeller: the truth of the chosen frames, one point not visible
    truth = load_movie(workdir / "tagged_dataset/synthetic/movie_demo_walk.npz").locs
    locs = truth[manifest["frame"].to_numpy()].astype(float)
    locs[-1, 2] = np.nan
    labels = workdir / "my labels" / "CollectedData_labeller.csv"
    labels.parent.mkdir()
    labels.write_text(collected_data_text(manifest.recording, manifest.image, locs, "labeller"))
    merge = {"refine": {"frames": FRAMES, "labels": str(labels), "steps": 10}}
    result = run_snakemake(workdir, "refine", configs=[TINY_DEMO, merge])
    return workdir, manifest, locs, before, result


def test_refine_writes_the_frames_and_the_page(refined):
    workdir, manifest, *_ = refined
    folder = workdir / "results/demo/refine"
    assert len(manifest) == FRAMES and set(manifest.recording) == {"demo_walk"}
    assert len(set(manifest.frame)) == FRAMES
    assert (folder / "label.html").is_file() and (folder / "config.yaml").is_file()
    csv = folder / "labeled-data/demo_walk/CollectedData_labeller.csv"
    assert csv.read_text().startswith("scorer,,,labeller")


def test_the_labels_join_the_training_part_and_the_model_is_fine_tuned(refined):
    workdir, manifest, locs, before, result = refined
    base, new = workdir / "results/demo", workdir / "results/demo_refined"
    assert (base / "model.pt").stat().st_mtime_ns == before  # the run's model kept as it was
    merged = load_labelled(new / "training_set.npz")
    original = load_labelled(workdir / "tagged_dataset/synthetic/train.npz")
    n = len(original.images)
    assert len(merged.images) == n + FRAMES - 1  # the frame with a point not visible: skipped
    np.testing.assert_array_equal(merged.images[:n], original.images)
    np.testing.assert_allclose(merged.locs[n:], locs[:-1], atol=1e-5)  # crops: their own px
    old_split, new_split = load_split(base / "split.json"), load_split(new / "split.json")
    np.testing.assert_array_equal(new_split["val"], old_split["val"])
    added = np.setdiff1d(new_split["train"], old_split["train"])
    np.testing.assert_array_equal(added, np.arange(n, n + FRAMES - 1))
    summary = json.loads((new / "refine_merge.json").read_text())
    assert summary["frames_added"] == FRAMES - 1 and summary["skipped"]["point not visible"] == 1

    _, meta = load_model(new / "model.pt")
    assert meta["fine_tuned_from"]["path"] == "results/demo/model.pt"
    assert meta["budget"]["steps"] == 10 and meta["n_train"] == len(new_split["train"])
    text = (new / "summary.md").read_text()
    assert "## Before / after refining (from run `demo`)" in text
    assert "| synthetic_test | nose |" in text and "| demo_walk |" in text
    assert (new / "eval/synthetic_test/metrics.json").is_file()


def test_a_second_refine_has_nothing_to_do(refined):
    workdir, *_ = refined
    labels = workdir / "my labels" / "CollectedData_labeller.csv"
    merge = {"refine": {"frames": FRAMES, "labels": str(labels), "steps": 10}}
    result = run_snakemake(workdir, "refine", "--dry-run", configs=[TINY_DEMO, merge])
    assert "Nothing to be done" in result.stdout + result.stderr
