"""The rules' scripts run the library of the checkout they sit in, never an installed copy, and
hand paths to the commands untouched (no shell in between)."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import numpy as np

from conftest import REPO, run_snakemake

TINY_SYNTH = {"data": {"synthetic": {"train_frames": 12, "test_frames": 10, "seed": 3}}}


def copy_checkout(dest: Path) -> Path:
    files = subprocess.run(
        ["git", "ls-files", "-co", "--exclude-standard"],
        cwd=REPO,
        capture_output=True,
        text=True,
        check=True,
    ).stdout.split()
    for name in files:
        if (REPO / name).is_file():
            (dest / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(REPO / name, dest / name)
    return dest


def test_a_second_checkout_runs_its_own_library(tmp_path):
    other = copy_checkout(tmp_path / "other checkout")  # a space, too
    version = other / "src/direction_tagger/__init__.py"
    version.write_text(version.read_text().replace('__version__ = "', '__version__ = "other-'))
    work = tmp_path / "work"
    work.mkdir()
    target = "tagged_dataset/synthetic/test.npz"
    run_snakemake(work, target, configs=[TINY_SYNTH], snakefile=other / "Snakefile")
    log = (work / "logs/data/synth_test.log").read_text().splitlines()[0]
    assert log.startswith("direction-tagger other-") and str(other / "src") in log, log
    with np.load(work / target, allow_pickle=False) as npz:
        assert npz["images"].shape == (10, 50, 50)


def test_paths_with_spaces_reach_the_commands_whole(tmp_path):
    from direction_tagger import io
    from direction_tagger.data import synth

    labelled = tmp_path / "my lab's data" / "rat 1.npz"
    labelled.parent.mkdir()
    io.save_labelled(labelled, *synth.make_labelled_set(12, seed=0))
    work = tmp_path / "work"
    work.mkdir()
    summary = "results/data/verify/rat1/summary.json"
    run_snakemake(work, summary, configs=[{"evaluate": {"sets": {"rat1": str(labelled)}}}])
    assert f"{labelled}" in (work / "logs/data/verify_rat1.log").read_text()
    assert (work / summary).stat().st_size > 0
