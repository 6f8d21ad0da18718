"""What a command reads and writes, and the rule every command keeps before any work: no
output is one of its inputs, and no two outputs are one file.

A command names its outputs in its parser's defaults (`writes`, `writes_folders`, and
`writes_kept` for what a failed run keeps, such as a checkpoint). Its inputs are every other
argument that names an existing file or folder, plus the files a folder input holds that the
command reads (`reads`: a function of the arguments, e.g. a DeepLabCut project's CSVs and
frames). Paths are compared as files, not as text: `./a.csv`, `a.csv`, a symbolic link to
it and a hard link are all the same file.
"""

from __future__ import annotations

import os
from pathlib import Path

from ..io import DataError

NOT_PATHS = {
    "func",
    "writes",
    "writes_folders",
    "writes_kept",
    "reads",
    "command",
    "fill_inputs",
    "fill_outputs",
    "print_json",
}


def outputs_of(args, kept: bool = True) -> list[tuple[Path, bool]]:
    """(path, is a folder) of what the command writes, in argument order (`kept`: with the
    outputs a failed run keeps); a path given twice is there twice."""
    outputs = []
    named = (
        (getattr(args, "writes", ()), False),
        (getattr(args, "writes_kept", ()) if kept else (), False),
        (getattr(args, "writes_folders", ()), True),
    )
    for names, folder in named:
        for name in names:
            outputs += [(path, folder) for path in _paths_in(getattr(args, name, None))]
    return outputs


def inputs_of(args) -> list[Path]:
    """Every argument that names an existing file or folder and is not an output, and the
    files the command says it reads inside them."""
    output_names = set()
    for attribute in ("writes", "writes_kept", "writes_folders"):
        output_names.update(getattr(args, attribute, ()))
    inputs = []
    for name, value in vars(args).items():
        if name in NOT_PATHS or name in output_names:
            continue
        inputs += [p for p in _paths_in(value) if os.path.lexists(p)]
    reads = getattr(args, "reads", None)
    if reads is not None:
        inputs += [Path(p) for p in reads(args)]
    return inputs


def refuse_overlaps(inputs: list[Path], outputs: list[tuple[Path, bool]]) -> None:
    """DataError, naming both paths, when an output is an input or two outputs are one file."""
    seen: dict[object, Path] = {}
    for path in inputs:
        seen.setdefault(_identity(path), path)
    for path, _ in outputs:
        if (same := seen.get(_identity(path))) is not None:
            raise DataError(
                f"{path}: is also an input ({same}); writing it would destroy what the "
                "command reads -- give another output path"
            )
    written: dict[object, Path] = {}
    for path, _ in outputs:
        if (same := written.get(_identity(path))) is not None:
            raise DataError(
                f"{path}: given for two outputs (also as {same}); each output needs its own path"
            )
        written[_identity(path)] = path


def _identity(path: Path) -> object:
    """The file behind a path: its device and inode where it exists (links included), else
    its absolute path with links in its folders resolved."""
    try:
        info = os.stat(path)
    except OSError:
        return os.path.realpath(path)
    return (info.st_dev, info.st_ino)


def _paths_in(value) -> list[Path]:
    """The paths an argument's value names: a path, a NAME=PATH pair, or a list of them."""
    if value is None or isinstance(value, (bool, int, float, dict)):
        return []
    if isinstance(value, (list, tuple)) and not _is_name_path(value):
        return [p for item in value for p in _paths_in(item)]
    if _is_name_path(value):
        value = value[1]
    if isinstance(value, (str, os.PathLike)) and os.fspath(value):
        return [Path(value)]
    return []


def _is_name_path(value) -> bool:
    return isinstance(value, tuple) and len(value) == 2 and all(isinstance(v, str) for v in value)
