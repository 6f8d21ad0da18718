"""Shared helpers: run the real workflow in a temporary directory."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

# The tests train tiny models: a second torch thread gains little on them, and on a busy
# machine it makes them several times slower (each thread waits for a sibling that lost its
# core).
# Commands that are given --threads (the workflow's rules) still use what they are given.
os.environ.setdefault("OMP_NUM_THREADS", "1")

REPO = Path(__file__).resolve().parents[1]

# The workflow runs get 2 cores, or their share when pytest-xdist runs several workers: on a
# 2-core machine two workers each running 2-thread training would keep 4 threads waiting for 2
# cores.
CORES = max(1, min(2, (os.cpu_count() or 2) // int(os.environ.get("PYTEST_XDIST_WORKER_COUNT", 1))))

# A demo shrunk to seconds of training: same chain, fewer frames and steps.
SHRUNK_DEMO = {
    "data": {"synthetic": {"train_frames": 2400, "test_frames": 200}},
    "train": {"steps": 200, "batch_size": 64, "patience": None},
    "synthetic_movies": {"demo_walk": {"frames": 90, "seed": 7, "fps": 30}},
}

# Smaller still, for tests about which steps run and what they give, not about how well the
# model learns: the whole chain, a narrow network trained for 20 steps, no TTA.
TINY_DEMO = SHRUNK_DEMO | {
    "data": {"synthetic": {"train_frames": 300, "test_frames": 50}},
    "train": SHRUNK_DEMO["train"] | {"steps": 20, "eval_every": 5, "arch_kwargs": {"width": 8}},
    "synthetic_movies": {"demo_walk": {"frames": 30, "seed": 7, "fps": 30}},
    "evaluate": {"tta": False},
    "predict": {"tta": False},
}


def run_snakemake(
    workdir: Path,
    *args: str,
    configs=(),
    timeout: int = 3600,
    check: bool = True,
    replace: bool = False,
    snakefile: Path = REPO / "Snakefile",
):
    """Run the repository's workflow with `workdir` as working directory; return the result.

    `configs` are merged over config/demo.yaml, or used alone with `replace`. `timeout` only
    catches a hung run: the shrunk demo took 15 min on a 2-core machine loaded 6-fold."""
    configfiles = [] if replace else [str(REPO / "config" / "demo.yaml")]
    for k, extra in enumerate(configs):
        path = workdir / f"override_{k}.yaml"
        path.write_text(yaml.safe_dump(extra))
        configfiles.append(str(path))
    cmd = [
        sys.executable,
        "-m",
        "snakemake",
        "--snakefile",
        str(snakefile),
        "--directory",
        str(workdir),
        "--cores",
        str(CORES),
        *args,
        "--configfile",
        *configfiles,
    ]
    env = dict(os.environ, PYTHONUNBUFFERED="1")
    result = subprocess.run(
        cmd,
        cwd=workdir,
        capture_output=True,
        text=True,
        timeout=timeout,
        env=env,
        stdin=subprocess.DEVNULL,
    )
    if check and result.returncode != 0:
        logs = "\n".join(
            f"--- {p}\n{p.read_text()[-3000:]}" for p in sorted(workdir.glob("logs/**/*.log"))
        )
        raise AssertionError(
            f"snakemake failed ({result.returncode}):\n{result.stderr[-6000:]}\n{logs}"
        )
    return result


@pytest.fixture(scope="session")
def demo_run(tmp_path_factory):
    """One shrunk demo run shared by the end-to-end tests (training is the slow part)."""
    workdir = tmp_path_factory.mktemp("demo")
    run_snakemake(workdir, configs=[SHRUNK_DEMO])
    return workdir


@pytest.fixture(scope="session")
def tiny_run(tmp_path_factory):
    """One TINY_DEMO run, for the staleness dry runs and the busy-machine comparison."""
    workdir = tmp_path_factory.mktemp("tiny")
    run_snakemake(workdir, configs=[TINY_DEMO])
    return workdir


# Under pytest-xdist (scripts/test.sh) each test file goes to one worker, so module fixtures run
# once; the files that share a session workflow run go to the same worker, so it runs once too.
# (By file: pytest 9.2 ignores xdist_group marks, pytest-dev/pytest-xdist#1386.)
SHARED_RUNS = {
    "test_workflow.py": "demo_run",
    "test_videos_workflow.py": "demo_run",
    "test_staleness.py": "tiny_run",
    "test_training_budget.py": "tiny_run",
    "test_refine_workflow.py": "tiny_run",
    "test_cli_run_folder.py": "tiny_run",
}


@pytest.hookimpl(optionalhook=True)  # pytest without xdist (one process) must still run
def pytest_xdist_make_scheduler(config, log):
    from xdist.scheduler import LoadScopeScheduling

    class SharedRunScheduling(LoadScopeScheduling):
        def _split_scope(self, nodeid):
            path = nodeid.split("::", 1)[0]
            return SHARED_RUNS.get(Path(path).name, path)

    return SharedRunScheduling(config, log)


def pytest_collection_modifyitems(config, items):
    # The longest chain (the shrunk demo and its users) first, then the other end-to-end runs:
    # with two workers, the short tests then fill the gaps instead of one long run finishing
    # alone at the end (a stable sort: order otherwise kept).
    def order(item):
        return "demo_run" not in item.fixturenames, item.get_closest_marker("slow") is None

    items.sort(key=order)
