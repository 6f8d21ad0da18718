"""What a downloaded file holds: an HTML page served instead of data, or a complete zip --
an `.npz` (a zip of `.npy` arrays) or an archive holding `.npz` files -- and extracting members.

Whether a download is one `.npz` or an archive is decided by content, not by its name.
"""

from __future__ import annotations

import os
import re
import shutil
import zipfile
from pathlib import Path

from ..io import DataError, atomic_path

_HTML_START = (b"<!doctype html", b"<html", b"<?xml", b"<head", b"<body")
_COPY_CHUNK = 1 << 20


def sniff_html(path: str | os.PathLike) -> str | None:
    """If the file is an HTML page (served instead of data), return its title (or 'untitled')."""
    with open(path, "rb") as f:
        head = f.read(4096)
    start = head.lstrip(b"\xef\xbb\xbf \t\r\n").lower()
    if not start.startswith(_HTML_START):
        return None
    title = re.search(rb"<title[^>]*>(.*?)</title>", head, re.I | re.S)
    text = title.group(1).decode("utf-8", "replace") if title else "untitled"
    return " ".join(text.split())[:80] or "untitled"


def zip_names(path: Path) -> list[str]:
    """Names in a zip, after checking it is complete (central directory and member CRCs)."""
    try:
        with zipfile.ZipFile(path) as archive:
            bad = archive.testzip()
            names = archive.namelist()
    except (zipfile.BadZipFile, EOFError, OSError) as err:
        raise DataError(
            f"{path}: not a complete zip/.npz file ({err}); the download is truncated or damaged"
        ) from None
    if bad is not None:
        raise DataError(f"{path}: member '{bad}' is damaged (CRC mismatch); truncated download?")
    return names


def _useful_names(names: list[str]) -> list[str]:
    # macOS zips add __MACOSX/._name resource forks; they are not data.
    return [n for n in names if not n.startswith("__MACOSX/") and not Path(n).name.startswith("._")]


def classify_zip(path: str | os.PathLike) -> str:
    """'npz' for a zip of `.npy` members, 'archive' for a zip holding `.npz` members.

    Anything else is a DataError listing what the zip holds."""
    path = Path(path)
    names = _useful_names(zip_names(path))
    files = [n for n in names if not n.endswith("/")]
    if any(n.endswith(".npz") for n in files):
        return "archive"
    if files and all(n.endswith(".npy") for n in files):
        return "npz"
    shown = ", ".join(files[:10]) + (f", ... ({len(files)} in all)" if len(files) > 10 else "")
    raise DataError(
        f"{path}: zip holds neither .npz files nor .npy arrays; it holds: {shown or 'nothing'}"
    )


def extract_members(
    archive: str | os.PathLike, members: dict[str, str | os.PathLike]
) -> dict[str, Path]:
    """Extract `.npz` members of an archive by file name (any folder inside it) to their paths.

    Each is written atomically. A missing member is a DataError listing what the archive
    holds; a plain `.npz` passed as `archive` is a DataError too (it is the data itself)."""
    archive = Path(archive)
    kind = classify_zip(archive)
    if kind == "npz":
        raise DataError(
            f"{archive}: is a single .npz (a zip of .npy arrays), not an archive of .npz files"
        )
    with zipfile.ZipFile(archive) as zf:
        names = [n for n in _useful_names(zf.namelist()) if not n.endswith("/")]
        out = {}
        for member, dest in members.items():
            hits = sorted((n for n in names if Path(n).name == member), key=len)
            if not hits:
                raise DataError(
                    f"{archive}: archive has no member '{member}'; it holds: {', '.join(names)}"
                )
            dest = Path(dest)
            with atomic_path(dest) as tmp, zf.open(hits[0]) as src, open(tmp, "wb") as dst:
                shutil.copyfileobj(src, dst, _COPY_CHUNK)
            out[member] = dest
    return out
