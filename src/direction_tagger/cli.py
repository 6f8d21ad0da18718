"""The `direction-tagger` command: one subcommand per workflow step.

Each stage's subcommands live in `direction_tagger.commands.<stage>` (named as the rules file
`workflow/rules/<stage>.smk` and the library subpackage `direction_tagger.<stage>`) and
register themselves; a step runs the same inside Snakemake (the rules' scripts call these
commands) and outside it.

Exit status: 0 done; 2 bad input -- one line on stderr, `direction-tagger <command>: error:
<file or key>: <value and what was expected>`, for anything a user can cause (arguments, data
files, a full disk, a folder without write permission); 1 a bug, shown with its traceback.
An error that needs more to say what to do (a failed download: where to get the file by hand,
where to put it) gives a short summary on that line and a few indented lines under it.
Every command names what it writes (`writes`, `writes_folders` in its parser's defaults):
those paths are checked before any work -- writable, never one of the command's inputs, never
two outputs one file (commands.paths) -- and a failed run removes the ones it created.
An input a command can find from those given (`fill_inputs`, commands.found: a data set's
split beside it, a run folder's model) is found first, or named in the one-line error, so
that no command needs more than two arguments; the workflow passes every path itself.
"""

from __future__ import annotations

import argparse
import contextlib
import importlib
import json
import os
import shutil
import sys
import traceback
from pathlib import Path

from . import __version__, commands
from .commands.arguments import ArgumentParser
from .commands.paths import inputs_of, outputs_of, refuse_overlaps
from .io import DataError, check_writable

BUG = (
    "internal error (a bug, not your input): please report it to the direction-tagger "
    "maintainers with the lines above"
)


HELP_ORDER = [
    # data in
    *("synth", "download", "import-dlc", "verify", "split", "pretrain", "train", "evaluate"),
    "calibrate",
    # videos and movies
    *(
        "track",
        "recentre",
        "predict",
        "smooth",
        "to-video",
        "render",
        "render-video",
        "flag-map",
        "to-nwb",
    ),
    *("movie-figures", "summary", "refine", "refine-merge", "live"),
    # less often
    *("tag-movies", "compare", "learning-curve", "subsample-split", "recover", "augment"),
    *("qc-reference", "synth-video"),
]


def build_parser(command: str | None = None) -> ArgumentParser:
    """The whole command line; with `command` (a known command's name), only the stage that
    registers it (faster to start: the other stages' modules are never imported)."""
    stages = commands.STAGES
    if command in commands.COMMAND_STAGE:
        stages = [commands.COMMAND_STAGE[command]]
    parser = ArgumentParser(
        prog="direction-tagger",
        description="Find tail base, neck and nose of a rat in 50x50 frames; body and head direction.",
    )
    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    # each command names its outputs; `writes_kept` survive a failed run (a checkpoint)
    # `fill_inputs`: the inputs found from those given (commands.found), e.g. a data set's split
    # `fill_outputs`: a command's default output paths, from its inputs (e.g. beside them)
    parser.set_defaults(
        writes=(),
        writes_folders=(),
        writes_kept=(),
        reads=None,
        fill_inputs=None,
        fill_outputs=None,
    )
    subparsers = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for stage in stages:
        importlib.import_module(f"{commands.__name__}.{stage}").register(subparsers)
    for sub in subparsers.choices.values():
        _add_json_option(sub)
    # --help lists them in the order a user meets them (registration follows the stages)
    rank = {name: k for k, name in enumerate(HELP_ORDER)}
    subparsers._choices_actions.sort(key=lambda a: rank.get(a.dest, len(rank)))
    return parser


def _add_json_option(parser: argparse.ArgumentParser) -> None:
    """`--json` on every command (and on each kind of `synth`), but `summary`, whose --json
    names the file it writes."""
    nested = [a for a in parser._actions if isinstance(a, argparse._SubParsersAction)]
    for action in nested:
        for sub in action.choices.values():
            _add_json_option(sub)
    if nested or any("--json" in a.option_strings for a in parser._actions):
        return
    parser.add_argument(
        "--json",
        action="store_true",
        dest="print_json",
        help="for scripts: print what was written as one JSON object on stdout (the human "
        "summary goes to stderr)",
    )


def main(argv: list[str] | None = None) -> int:
    """Run one command; returns the exit status: 0, 2 for bad input (one line on stderr
    naming the file or key, the value and what was expected), 1 for a bug (traceback)."""
    try:
        argv = sys.argv[1:] if argv is None else list(argv)
        args = build_parser(argv[0] if argv else None).parse_args(argv)
    except SystemExit as exit_:  # a usage error, already said in one line; --help is 0
        if exit_.code in (0, None):
            raise
        return int(exit_.code)
    if args.fill_inputs is not None:
        try:
            args.fill_inputs(args)  # before the outputs: they may be named after what it finds
        except (DataError, OSError) as err:
            return _say(args.command, err)
    if args.fill_outputs is not None:
        for name, path in args.fill_outputs(args).items():
            if getattr(args, name, None) is None:
                setattr(args, name, path)
    outputs = dict(outputs_of(args, kept=False))  # what a failed run removes, if it made it
    existed = {path for path in outputs if os.path.lexists(path)}
    try:
        every_output = outputs_of(args)
        refuse_overlaps(inputs_of(args), every_output)  # before anything is read
        for path, folder in every_output:
            check_writable(path, folder)  # before any work: not after an hour of training
        if not getattr(args, "print_json", False):
            return int(args.func(args) or 0)
        with contextlib.redirect_stdout(sys.stderr):
            status = int(args.func(args) or 0)
        written = [str(path) for path, _ in every_output if os.path.exists(path)]
        print(json.dumps({"command": args.command, "status": status, "written": written}))
        return status
    except (DataError, OSError) as err:
        _remove_new(outputs, existed)
        return _say(args.command, err)
    except Exception:
        _remove_new(outputs, existed)
        traceback.print_exc()
        print(f"direction-tagger {args.command}: {BUG}", file=sys.stderr)
        return 1


def _say(command: str, err: BaseException) -> int:
    """A bad input in one line on stderr (and the lines that say what to do); status 2."""
    summary, *more = getattr(err, "lines", ()) or [describe(err)]
    print(f"direction-tagger {command}: error: {summary}", file=sys.stderr)
    for line in more:
        print(f"  {line}", file=sys.stderr)
    return 2


def describe(err: BaseException) -> str:
    """One line for a bad input or a failed write: the file, then the problem."""
    if isinstance(err, OSError) and err.filename is not None and err.strerror:
        text = f"{err.filename}: {err.strerror}"
    else:
        text = str(err) or type(err).__name__
    return " ".join(text.split())


def _remove_new(outputs: dict[Path, bool], existed: set[Path]) -> None:
    """A failed command leaves no output that it made (an earlier run's stays as it was)."""
    for path, folder in outputs.items():
        if path in existed or not os.path.lexists(path):
            continue
        if folder and path.is_dir():
            shutil.rmtree(path, ignore_errors=True)
        elif path.is_file():
            path.unlink(missing_ok=True)


def train_direction_tagger(argv: list[str] | None = None) -> int:
    """The published tool's name: run the whole workflow with the default config."""
    import subprocess

    argv = sys.argv[1:] if argv is None else argv
    # The Snakemake of this environment, whether or not it is on PATH.
    return subprocess.call([sys.executable, "-m", "snakemake", "--cores", "all", *argv])
