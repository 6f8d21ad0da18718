"""Snakemake catalog practice: `snakemake --lint` and `snakefmt --check` are clean; the Python
is formatted by one tool, ruff (`ruff format`), and `ruff check` finds nothing."""

import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]


def test_snakemake_lint_is_clean():
    for configfile in ("config/demo.yaml", "config/config.yaml"):
        result = subprocess.run(
            [sys.executable, "-m", "snakemake", "--lint", "--configfile", configfile],
            cwd=REPO,
            capture_output=True,
            text=True,
            timeout=120,
        )
        output = result.stdout + result.stderr
        assert result.returncode == 0 and "Congratulations" in output, output[-3000:]


def test_snakefmt_check_is_clean():
    snakefmt = Path(sys.executable).parent / "snakefmt"
    result = subprocess.run(
        [str(snakefmt), "--check", "Snakefile", "workflow"],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stdout + result.stderr


def _ruff(*args):
    ruff = Path(sys.executable).parent / "ruff"
    return subprocess.run([str(ruff), *args], cwd=REPO, capture_output=True, text=True, timeout=120)


def test_python_is_formatted_by_ruff():
    result = _ruff("format", "--check", ".")
    assert result.returncode == 0, "run `ruff format .`:\n" + result.stdout + result.stderr


def test_ruff_check_is_clean():
    result = _ruff("check", "--output-format", "concise", ".")
    assert result.returncode == 0, result.stdout + result.stderr
