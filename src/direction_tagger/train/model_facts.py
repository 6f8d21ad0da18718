"""A model file's metadata as plain JSON beside its weights, readable without torch.

`save_model` writes the weights with `torch.save` (a zip archive) and then adds the metadata
as one more zip record, `<archive>/direction_tagger_metadata.json`; torch.load ignores it.
Steps that only report the model's facts (to-nwb) read that record with `zipfile` and skip
importing torch (2-3 s, more than writing a 1,000-frame NWB file). Nothing is unpickled.
Model files saved before the record existed return None: the caller loads them with torch.
"""

from __future__ import annotations

import json
import zipfile
from pathlib import Path

from ..io import DataError

METADATA_RECORD = "direction_tagger_metadata.json"


def add_metadata_record(path: str | Path, metadata: dict) -> None:
    """Append the metadata (JSON-able) to the zip archive `torch.save` wrote at `path`."""
    with zipfile.ZipFile(path, "a") as archive:
        folder = archive.namelist()[0].split("/")[0]  # torch keeps every record in one folder
        archive.writestr(f"{folder}/{METADATA_RECORD}", json.dumps(metadata))


def read_metadata(path: str | Path) -> dict | None:
    """The metadata `save_model` recorded in the model file at `path`, without torch; None
    for a model file saved before the record existed. Not a zip archive, or a record that is
    not a JSON mapping: a one-line DataError naming the file."""
    try:
        with zipfile.ZipFile(path) as archive:
            names = [n for n in archive.namelist() if n.endswith(f"/{METADATA_RECORD}")]
            if not names:
                return None
            text = archive.read(names[0])
    except zipfile.BadZipFile:
        raise DataError(
            f"{path}: not a direction-tagger model file (not a torch zip archive)"
        ) from None
    try:
        metadata = json.loads(text)
    except ValueError as err:
        raise DataError(f"{path}: {METADATA_RECORD} is not JSON ({err})") from None
    if not isinstance(metadata, dict):
        raise DataError(
            f"{path}: {METADATA_RECORD} holds a {type(metadata).__name__}; expected a mapping"
        )
    return metadata
