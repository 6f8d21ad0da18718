"""The command line: every workflow step is a subcommand with its own --help."""

import argparse
import subprocess
import sys
from pathlib import Path

import pytest

from direction_tagger.cli import HELP_ORDER, build_parser, main

STEPS = [
    "synth",
    "download",
    "verify",
    "recover",
    "augment",
    "split",
    "train",
    "evaluate",
    "predict",
    "smooth",
    "render",
    "movie-figures",
    "qc-reference",
    "summary",
    "compare",
]


def test_every_step_is_a_subcommand():
    choices = build_parser()._subparsers._group_actions[0].choices
    assert set(STEPS) <= set(choices)


def test_each_command_starts_with_its_own_stage_only():
    """`direction-tagger CMD` builds only the stage named in COMMAND_STAGE: the map must name
    every command, each the stage that registers it, and the stage must be all a run needs."""
    import importlib

    from direction_tagger import commands

    full = build_parser()._subparsers._group_actions[0].choices
    assert set(commands.COMMAND_STAGE) == set(full)
    assert sorted(HELP_ORDER) == sorted(full)  # --help lists every command, each once
    for stage in commands.STAGES:
        subparsers = argparse.ArgumentParser().add_subparsers()
        importlib.import_module(f"{commands.__name__}.{stage}").register(subparsers)
        mapped = {c for c, s in commands.COMMAND_STAGE.items() if s == stage}
        assert set(subparsers.choices) == mapped, stage
    for command, stage in commands.COMMAND_STAGE.items():
        alone = build_parser(command)._subparsers._group_actions[0].choices
        assert command in alone and len(alone) < len(full), (command, stage)
    # an unknown name still gets the full list in its usage error
    with pytest.raises(SystemExit):
        build_parser("no-such-command").parse_args(["no-such-command"])


def test_a_command_runs_without_importing_the_other_stages(tmp_path):
    code = (
        "import sys; from direction_tagger import cli; cli.main(['synth', 'labelled', '--n', '4',"
        f" '--out', {str(tmp_path / 'l.npz')!r}]);"
        "print(sorted(m for m in sys.modules if m.startswith('direction_tagger.commands.')))"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    ).stdout
    loaded = out.strip().splitlines()[-1]
    assert "direction_tagger.commands.data" in loaded
    assert "direction_tagger.commands.movies" not in loaded, loaded
    assert (tmp_path / "l.npz").is_file()


@pytest.mark.parametrize("step", STEPS)
def test_each_subcommand_has_help(step, capsys):
    with pytest.raises(SystemExit) as exit_info:
        main([step, "--help"])
    assert exit_info.value.code == 0
    assert "usage: direction-tagger" in capsys.readouterr().out


def test_console_scripts_are_installed():
    bin_dir = Path(sys.executable).parent
    for script in ("direction-tagger", "train_direction_tagger"):
        assert (bin_dir / script).exists(), script
    out = subprocess.run(
        [str(bin_dir / "direction-tagger"), "--version"], capture_output=True, text=True, check=True
    ).stdout
    assert out.startswith("direction-tagger ")


def test_bad_input_is_one_line_with_exit_code_2(tmp_path, capsys):
    (tmp_path / "movie.npz").write_bytes(b"not a zip")
    code = main(
        [
            "predict",
            "--model",
            str(tmp_path / "m.pt"),
            "--movie",
            str(tmp_path / "movie.npz"),
            "--out",
            str(tmp_path / "p.csv"),
        ]
    )
    err = capsys.readouterr().err.strip()
    assert code == 2 and len(err.splitlines()) == 1 and "m.pt" in err
    assert not (tmp_path / "p.csv").exists()


def test_train_direction_tagger_runs_the_default_workflow(tmp_path):
    """The published tool's name plans the workflow with config/config.yaml (dry run here)."""
    repo = Path(__file__).resolve().parents[1]
    script = Path(sys.executable).parent / "train_direction_tagger"
    result = subprocess.run(
        [str(script), "--dry-run", "--snakefile", str(repo / "Snakefile")],
        cwd=repo,
        capture_output=True,
        text=True,
        timeout=120,
    )
    output = result.stdout + result.stderr
    assert result.returncode == 0, output[-2000:]
    assert "download_published" in output and "results/main/model.pt" in output
