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


def run_command(snakemake, *command: str, **options) -> None:
    """`direction-tagger COMMAND... --option value...`, then exit with its status (non-zero
    fails the job). An option named `group_key` is `--group-key`; None or False leaves it out,
    True gives the bare flag, a list gives its values one after the other."""
    from direction_tagger import __version__, cli

    argv = [str(word) for word in command]
    for name, value in options.items():
        argv += [str(a) for a in as_arguments(f"--{name.replace('_', '-')}", value)]
    if snakemake.log:
        sys.stdout.flush()
        sys.stderr.flush()
        log = open(snakemake.log[0], "w")  # open for the life of the job
        os.dup2(log.fileno(), 1)  # file descriptors too: ffmpeg and torch write there
        os.dup2(log.fileno(), 2)
    print(f"direction-tagger {__version__} {command[0]}, library {SRC}", file=sys.stderr)
    sys.stderr.flush()
    sys.exit(cli.main(argv))


def as_arguments(name: str, value) -> list:
    """An option's command-line words: none for None / False, the flag alone for True."""
    if value is None or value is False:
        return []
    if value is True:
        return [name]
    if not isinstance(value, (str, int, float)):  # a list, or Snakemake's lists of files
        return [name, *value]
    return [name, value]
