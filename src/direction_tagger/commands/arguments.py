"""Argument types shared by the commands: a bad value is refused by argparse in one line,
`direction-tagger <command>: error: argument --flag: expected ..., got ...`, exit status 2."""

from __future__ import annotations

import argparse
import json
import math
from collections.abc import Callable
from pathlib import Path

from .. import checks


class ArgumentParser(argparse.ArgumentParser):
    """argparse, but a usage error is one line (the usage is one `--help` away)."""

    def error(self, message: str):
        self.exit(2, f"{self.prog}: error: {' '.join(message.split())} (see --help)\n")


def _type(convert: Callable, holds: Callable, expected: str) -> Callable:
    """An argparse type: `convert` the text, and `holds` must be true of the value."""
    rule = checks.Rule(holds, expected)

    def parse(text: str):
        try:
            return rule.check(convert(text))
        except ValueError:
            raise argparse.ArgumentTypeError(f"expected {expected}, got {text}") from None

    parse.__name__ = expected  # argparse's fallback message names the type by it
    return parse


def _number(text: str) -> float:
    value = float(text)
    if not math.isfinite(value):
        raise ValueError(text)
    return value


def _from_rule(convert: Callable, rule: checks.Rule) -> Callable:
    return _type(convert, rule.holds, rule.expected)


positive_int = _type(int, lambda v: v > 0, "a positive integer")
non_negative_int = _type(int, lambda v: v >= 0, "an integer >= 0")
seed = _type(int, lambda v: v >= 0, "a seed, an integer >= 0")
positive_float = _type(_number, lambda v: v > 0, "a positive number")
non_negative_float = _type(_number, lambda v: v >= 0, "a number >= 0")
probability = _type(_number, lambda v: 0 <= v <= 1, "a probability, 0 to 1")
fps = _from_rule(float, checks.FPS)
tta = _from_rule(int, checks.TTA)
device = _from_rule(str, checks.DEVICE)


def int_in(lo: int, hi: int) -> Callable:
    return _type(int, lambda v: lo <= v <= hi, f"an integer from {lo} to {hi}")


def number_in(lo: float, hi: float, unit: str = "") -> Callable:
    return _type(_number, lambda v: lo <= v <= hi, f"a number from {lo:g} to {hi:g}{unit}")


def json_object(text: str) -> dict:
    """A JSON object given on the command line."""
    try:
        value = json.loads(text)
    except json.JSONDecodeError as err:
        raise argparse.ArgumentTypeError(f"not valid JSON ({err}): {text}") from None
    if not isinstance(value, dict):
        raise argparse.ArgumentTypeError(f"expected a JSON object {{...}}, got {text}")
    return value


def name_path(text: str) -> tuple[str, str]:
    """NAME=PATH, e.g. `test=results/main/metrics.json`."""
    name, sep, path = text.partition("=")
    if not sep or not name or not path:
        raise argparse.ArgumentTypeError(f"expected NAME=PATH, got '{text}'")
    return name, path


def add_model_options(parser: argparse.ArgumentParser) -> None:
    """--model, --tta, --device, --threads and --precision: what every command that runs a
    model takes."""
    parser.add_argument("--model", required=True, help="model file (.pt) made by `train`")
    parser.add_argument(
        "--tta",
        nargs="?",
        type=tta,
        const=8,
        default=0,
        metavar="N",
        help="test-time augmentation over N dihedral transforms (0 = off, alone: 8; 2 = the "
        "frame and its 180° rotation)",
    )
    parser.add_argument("--device", type=device, default="auto")
    parser.add_argument(
        "--threads", type=positive_int, help="CPU threads for torch (default: all cores)"
    )
    parser.add_argument(
        "--precision",
        choices=checks.PRECISIONS,
        help="auto: bf16 autocast where it is faster here (timed once), fp32: never bf16, "
        "bf16: always (default: $DIRECTION_TAGGER_PRECISION, else auto)",
    )


def add_batch_size(p: argparse.ArgumentParser) -> None:
    """--batch-size: what every command that runs a model over many frames takes."""
    p.add_argument(
        "--batch-size",
        type=positive_int,
        default=1024,
        help="frames per batch (default 1024); on CPU a forward pass takes at most "
        "128 of them, which bounds predict's memory",
    )


def beside(source: str, **outputs: str) -> Callable:
    """A command's default outputs (its parser's `fill_outputs`): each named after its input
    `source` and written beside it, `<source stem><ending>`, e.g.
    `beside("movie", out="_predictions_raw.csv")`: walk.npz -> walk_predictions_raw.csv.
    An ending that starts with "=" is the whole name: `out="=poses.nwb"`."""

    def fill(args) -> dict[str, Path]:
        given = Path(getattr(args, source))
        stem = given.name if given.is_dir() else given.stem
        return {
            name: given.with_name(ending[1:] if ending.startswith("=") else stem + ending)
            for name, ending in outputs.items()
        }

    return fill


def beside_folder(source, ending: str) -> Path:
    """A default output folder beside the input `source`: walk.npz -> walk<ending>."""
    source = Path(source)
    return source.with_name(source.stem + ending)


def add_crop_rule_options(p: argparse.ArgumentParser) -> None:
    """How the animal is cropped: shared by `track`, `import-dlc` and `live`, so that a model
    trained on an imported project sees crops cut as on tracked videos."""
    p.add_argument(
        "--crop-scale",
        type=number_in(*checks.CROP_SCALE),
        default=2.0,
        help="crop side = this x the animal's body length (2: a body ~25 px long in the crop)",
    )
    p.add_argument(
        "--polarity", choices=("auto", "dark", "light"), default="auto", help="animal vs floor"
    )
