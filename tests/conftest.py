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

# A demo shrunk to seconds of training: same chain, fewer frames and steps.
SHRUNK_DEMO = {
    "data": {"synthetic": {"train_frames": 2400, "test_frames": 200}},
    "train": {"steps": 200, "batch_size": 64, "patience": None},
    "synthetic_movies": {"demo_walk": {"frames": 90, "seed": 7, "fps": 30}},
}


def run_snakemake(
    workdir: Path,
    *args: str,
    configs=(),
    timeout: int = 900,
    check: bool = True,
    replace: bool = False,
    snakefile: Path = REPO / "Snakefile",
):
    """Run the repository's workflow with `workdir` as working directory; return the result.

    `configs` are merged over config/demo.yaml, or used alone with `replace`."""
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
        "2",
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
