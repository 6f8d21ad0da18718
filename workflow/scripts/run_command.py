"""What every script here does: run one `direction-tagger` command of THIS checkout, all of its
output going to the rule's log.

Snakemake runs a rule's script with the Python of the rule's conda env (--use-conda) or with
its own. Either way the library is imported from the checkout this file sits in, never from an
installed copy: two checkouts sharing a --conda-prefix each run their own code, and the conda
envs hold dependencies only. Arguments go to the command as a list, never through a shell, so
paths with spaces or quotes arrive as they are.
"""

import os
import sys
from pathlib import Path

SRC = Path(__file__).resolve().parents[2] / "src"
sys.path.insert(0, str(SRC))


def run_command(snakemake, command: str, *args) -> None:
    """`direction-tagger COMMAND ARGS...`; exits with its status (non-zero fails the job)."""
    from direction_tagger import __version__, cli

    argv = [command] + [str(a) for a in args if a is not None]
    if snakemake.log:
        sys.stdout.flush()
        sys.stderr.flush()
        log = open(snakemake.log[0], "w")  # noqa: SIM115 (open for the life of the job)
        os.dup2(log.fileno(), 1)  # file descriptors too: ffmpeg and torch write there
        os.dup2(log.fileno(), 2)
    print(f"direction-tagger {__version__} {command}, library {SRC}", file=sys.stderr, flush=True)
    sys.exit(cli.main(argv))


def option(name: str, value) -> list:
    """`[name, value]`, or nothing when value is None, False or empty (an option not given)."""
    if value is None or value is False or value == "" or value == []:
        return []
    if value is True:
        return [name]
    if isinstance(value, (list, tuple)):
        return [name, *value]
    return [name, value]
