"""A tidy predictions CSV's header checks, and chosen columns read as arrays, without pandas.

Importing pandas costs about as much as writing a 1,000-frame NWB file; `to-nwb` needs a
dozen numeric columns, which the csv module and numpy read alone. The checks are the ones
`tables.read_table` makes (tables.py imports them from here).
"""

from __future__ import annotations

import csv
import itertools
import os
from pathlib import Path

import numpy as np

from ..io import KEYPOINTS, DataError

REQUIRED_COLUMNS = (
    "frame",
    "time_s",
    *(f"{k}_{c}" for k in KEYPOINTS for c in ("x", "y", "confidence")),
)
_WORDS = {"": "nan", "True": "1", "False": "0"}  # an empty cell is a missing value


def table_columns(path: str | os.PathLike) -> list[str]:
    """The header of a tidy predictions CSV, checked like `read_table` checks it."""
    path = Path(path)
    if not path.exists():
        raise DataError(f"{path}: file not found")
    try:  # the header line alone (pandas builds a frame of every column, slow on many)
        with open(path, newline="", encoding="utf-8") as f:
            columns = [c.strip() for c in next(csv.reader(f), [])]
    except (csv.Error, UnicodeDecodeError) as err:
        raise DataError(f"{path}: not a readable CSV table ({str(err).splitlines()[0]})") from None
    if not columns:
        raise DataError(f"{path}: not a readable CSV table (no header line)")
    missing = [c for c in REQUIRED_COLUMNS if c not in columns]
    if missing:
        raise DataError(f"{path}: missing columns {missing}; expected a tidy predictions CSV")
    return columns


def check_last_row(path: Path, tail_bytes: int = 1 << 16) -> None:
    """A file cut mid-row reads as a table whose last row has empty cells (NaN, a value that is
    allowed); count the last line's fields against the header's to tell the two apart."""
    with open(path, "rb") as f:
        expected = _count_fields(f)
        f.seek(0, os.SEEK_END)
        start = max(0, f.tell() - tail_bytes)
        f.seek(start)
        tail = f.read()
    lines = [line for line in tail.splitlines() if line.strip()]
    whole_last_line = start == 0 or b"\n" in tail.rstrip(b"\r\n")
    if not lines or not whole_last_line or start == 0 and len(lines) == 1:
        return  # only the header, or rows longer than the tail read (not ours)
    fields = lines[-1].count(b",") + 1
    if fields < expected:
        raise DataError(
            f"{path}: its last row has {fields} of {expected} fields; the file was cut short "
            "(expected complete rows: write it again)"
        )


def _count_fields(f, block: int = 1 << 16) -> int:
    """Fields in the header line, read a block at a time (a header may be megabytes)."""
    commas = 0
    while block_bytes := f.readline(block):
        commas += block_bytes.count(b",")
        if block_bytes.endswith(b"\n"):
            break
    return commas + 1


def read_columns(
    path: str | os.PathLike, names, optional=(), header: list[str] | None = None
) -> dict[str, np.ndarray]:
    """The columns `names` (each required) and those of `optional` the table has, as float
    arrays: an empty cell is NaN, True / False are 1 / 0. Checked like `read_table`: a
    missing column, a file cut short, no rows, or a cell that is not a number is a DataError
    naming the file (and the cell's row, 1 = the first after the header, and column)."""
    path = Path(path)
    header = header or table_columns(path)
    check_last_row(path)
    missing = [n for n in names if n not in header]
    if missing:
        raise DataError(f"{path}: missing columns {missing}; expected a tidy predictions CSV")
    chosen = list(dict.fromkeys(n for n in (*names, *optional) if n in header))
    fast = _read_plain(path, header, chosen)
    if fast is not None:
        return fast
    with open(path, newline="", encoding="utf-8") as f:
        reader = csv.reader(f)
        next(reader)
        try:
            rows = [row for row in reader if row]
        except (csv.Error, UnicodeDecodeError) as err:
            raise DataError(f"{path}: not a readable CSV table ({err})") from None
    if not rows:
        raise DataError(f"{path}: holds no frames; expected at least one row")
    # transposed in C; a short row's missing cells are empty, as pandas reads them
    cells = list(itertools.zip_longest(*rows, fillvalue=""))
    return {name: _numbers(path, name, cells[header.index(name)]) for name in chosen}


def _read_plain(path: Path, header: list[str], chosen: list[str]) -> dict | None:
    """The common case, numpy's C parser: every chosen cell a number (True / False in qc_*
    columns). None for anything else (an empty cell, a quote, a word, no rows): the csv
    module then reads it, and names a bad cell. 6x faster than the csv module."""
    flags = {header.index(n): _flag for n in chosen if n.startswith("qc_")}  # file columns
    try:
        values = np.loadtxt(path, delimiter=",", skiprows=1, ndmin=2, encoding="utf-8",
                            usecols=[header.index(n) for n in chosen], converters=flags)  # fmt: skip
    except (ValueError, UnicodeDecodeError):
        return None
    if len(values) == 0:
        return None
    return {name: values[:, i] for i, name in enumerate(chosen)}


def _flag(cell: str) -> float:
    return float(_WORDS.get(cell, cell))


def _numbers(path: Path, name: str, cells) -> np.ndarray:
    text = [_WORDS.get(c.strip(), c) for c in cells]
    try:
        return np.array(text, dtype=float)
    except ValueError:
        for row, cell in enumerate(text):
            try:
                float(cell)
            except ValueError:
                raise DataError(
                    f"{path}: row {row + 1}, column '{name}': {cell[:40]!r} is not a number"
                ) from None
        raise
