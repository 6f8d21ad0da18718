"""The `direction-tagger` command: one subcommand per workflow step.

Each stage's subcommands live in `direction_tagger.commands.<stage>` (named as the rules file
`workflow/rules/<stage>.smk` and the library subpackage `direction_tagger.<stage>`) and
register themselves; a step runs the same inside Snakemake (the rules' scripts call these
commands) and outside it.
"""

from __future__ import annotations

import argparse
import importlib
import sys

from . import __version__, commands
from .io import DataError


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="direction-tagger",
        description="Find tail base, neck and nose of a rat in 50x50 frames; body and head direction.",
    )
    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    subparsers = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for stage in commands.STAGES:
        importlib.import_module(f"{commands.__name__}.{stage}").register(subparsers)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return int(args.func(args) or 0)
    except (DataError, FileNotFoundError) as err:
        # One line naming the file and the problem; no traceback for bad input.
        print(f"direction-tagger {args.command}: error: {err}", file=sys.stderr)
        return 2


def train_direction_tagger(argv: list[str] | None = None) -> int:
    """The published tool's name: run the whole workflow with the default config."""
    import subprocess

    argv = sys.argv[1:] if argv is None else argv
    # The Snakemake of this environment, whether or not it is on PATH.
    return subprocess.call([sys.executable, "-m", "snakemake", "--cores", "all", *argv])
