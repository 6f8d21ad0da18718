"""A command's inputs that can be found from those given (its parser's `fill_inputs`), so
that its common use needs only the inputs a user knows: `calibrate --model m.pt --data d.npz`
takes the split `split` wrote beside the data, d_split.json.

A finder takes the parsed arguments and returns {argument: path} for the arguments it found;
it is called only for what was not given, and says in one line (a DataError naming the file
it looked for) what to give when an input it needs is not there. The workflow passes every
path itself, so nothing is ever looked for inside it. (`..io`, and numpy with it, is
imported only when a finder fails: parsing a command stays light.)
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

Finder = Callable[[object], dict]


def found(*finders: Finder) -> Finder:
    """The finders in order, each seeing what the ones before it found (a refine folder
    found from the labels, then the run's data recorded in that folder)."""

    def fill(args) -> dict:
        every = {}
        for finder in finders:
            for name, value in finder(args).items():
                if getattr(args, name, None) is None:
                    setattr(args, name, value)
                    every[name] = value
        return every

    return fill


def flag(name: str) -> str:
    return "--" + name.replace("_", "-")


def split_beside(source: str = "data", name: str = "split", needed: bool = True) -> Finder:
    """The split `direction-tagger split --data D` writes by default: D's stem + _split.json,
    beside D (not needed: None when it is not there, and the command says what it lacks)."""

    def find(args) -> dict:
        if getattr(args, name, None) is not None or getattr(args, source, None) is None:
            return {}
        data = Path(getattr(args, source))
        path = data.with_name(data.stem + "_split.json")
        if path.is_file():
            return {name: path}
        if needed:
            from ..io import DataError

            raise DataError(
                f"{path}: not found (the split `direction-tagger split --data {data}` "
                f"writes); give {flag(name)}"
            )
        return {}

    return find


def in_folder(folder: str, **files: str) -> Finder:
    """Files named inside the folder argument `folder`: `in_folder("run", model="model.pt")`
    takes RUN/model.pt for --model."""

    def find(args) -> dict:
        base = Path(getattr(args, folder))
        wanted = {n: base / f for n, f in files.items() if getattr(args, n, None) is None}
        for name, path in wanted.items():
            if not path.is_file():
                from ..io import DataError

                raise DataError(f"{path}: not found; give {flag(name)} (or {flag(folder)} FOLDER)")
        return wanted

    return find


def recorded_path(record: Path, key: str, value, name: str) -> Path:
    """A path a file recorded (`key` of `record`): as written, else beside the record (a
    folder moved with its files); a DataError naming both when neither is there."""
    from ..io import DataError

    if not isinstance(value, str) or not value:
        raise DataError(f"{record}: no '{key}' recorded; give {flag(name)}")
    path = Path(value)
    for candidate in (path, record.parent / path.name):
        if candidate.exists():
            return candidate
    raise DataError(
        f"{record}: records {key} '{value}', which is not there (nor beside it); give {flag(name)}"
    )
