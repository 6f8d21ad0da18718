"""The frames to label as a DeepLabCut project's labelled data, and the labels read back.

A refine folder is laid out as DeepLabCut lays out a project, so its own labelling GUI opens it
too:

    config.yaml                         scorer and body parts (tail_base, neck, nose)
    labeled-data/<movie>/img<frame>.png the frame: the whole video frame where the movie was
                                        tracked from a video, else the 50 x 50 crop
    labeled-data/<movie>/CollectedData_<scorer>.csv   the model's points, to correct
    frames.csv                          per frame: movie, frame, image, the crop the model saw
                                        (video px; a crop is its own box, centre 24.5, side
                                        50), its doubt and QC flags, the order it was chosen
    label.html                          the labelling page (page.py)

CollectedData CSVs have DeepLabCut's header rows (scorer / bodyparts / coords = x, y) and its
three index columns (`labeled-data`, the movie, the image); an empty cell is a point not
visible. Positions are image px, x = column, y = row, pixel centres at integers.
"""

from __future__ import annotations

import csv
import io
from pathlib import Path

import numpy as np
import pandas as pd

from ..io import DataError, atomic_path
from ..movies.tables import DLC_BODYPARTS

MANIFEST = "frames.csv"
MANIFEST_COLUMNS = (
    "order",
    "recording",
    "image",
    "movie",
    "frame",
    "time_s",
    "source",
    "crop_x",
    "crop_y",
    "crop_side",
    "doubt",
    "flags",
)


def image_name(frame: int, digits: int = 5) -> str:
    """DeepLabCut's name of an extracted frame: img00042.png."""
    return f"img{int(frame):0{digits}d}.png"


def collected_data_text(
    recordings, images, locs: np.ndarray, scorer: str, bodyparts=DLC_BODYPARTS
) -> str:
    """A CollectedData CSV as text: DLC's 3 header rows, index labeled-data / movie / image,
    then x, y per body part (empty where NaN)."""
    locs = np.asarray(locs, np.float64)
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(["scorer", "", "", *[scorer] * (2 * len(bodyparts))])
    writer.writerow(["bodyparts", "", "", *[p for p in bodyparts for _ in "xy"]])
    writer.writerow(["coords", "", "", *["x", "y"] * len(bodyparts)])
    for rec, img, points in zip(recordings, images, locs):
        cells = ["" if not np.isfinite(v) else repr(float(v)) for v in points.reshape(-1)]
        writer.writerow(["labeled-data", rec, img, *cells])
    return out.getvalue()


def write_text(path: Path, text: str) -> None:
    with atomic_path(path) as tmp:
        Path(tmp).write_text(text, encoding="utf-8")


def project_config(scorer: str, recordings) -> str:
    """A minimal DeepLabCut config.yaml: what its labelling GUI reads."""
    lines = [
        "# The frames direction-tagger refine chose to label (DeepLabCut project layout).",
        "Task: refine",
        f"scorer: {scorer}",
        "multianimalproject: false",
        "bodyparts:",
        *[f"- {p}" for p in DLC_BODYPARTS],
        "skeleton:",
        f"- - {DLC_BODYPARTS[0]}",
        f"  - {DLC_BODYPARTS[1]}",
        f"- - {DLC_BODYPARTS[1]}",
        f"  - {DLC_BODYPARTS[2]}",
        "video_sets: {}",
        f"# movies: {', '.join(sorted(set(recordings)))}",
    ]
    return "\n".join(lines) + "\n"


def read_manifest(folder) -> pd.DataFrame:
    path = Path(folder) / MANIFEST
    if not path.is_file():
        raise DataError(f"{path}: not found; make the refine folder with `direction-tagger refine`")
    table = pd.read_csv(path, dtype={"recording": str, "image": str, "movie": str, "flags": str})
    missing = [c for c in MANIFEST_COLUMNS if c not in table.columns]
    if missing:
        raise DataError(f"{path}: missing columns {missing}; not a refine folder's frame list")
    return table


def read_collected(path) -> pd.DataFrame:
    """One CollectedData CSV -> a table recording, image, <part>_x, <part>_y (NaN = not
    visible). The index may be DLC's three columns or its older single path column."""
    from ..videos.dlc import read_recording  # one reader of DLC's layout

    path = Path(path)
    rec = read_recording(path)
    missing = [p for p in DLC_BODYPARTS if p not in rec.points]
    if missing:
        raise DataError(
            f"{path}: lacks body parts {missing}; expected {list(DLC_BODYPARTS)} "
            "(the refine folder's CollectedData CSV, or the labelling page's Save)"
        )
    recordings = _recordings_of(path, len(rec.images), rec.name)
    table = pd.DataFrame({"recording": recordings, "image": [p.name for p in rec.images]})
    for part in DLC_BODYPARTS:
        table[f"{part}_x"] = rec.points[part][:, 0]
        table[f"{part}_y"] = rec.points[part][:, 1]
    return table


def _recordings_of(path: Path, n: int, folder_name: str) -> list[str]:
    """Each row's recording: the middle index column of DLC's 3-column index, else the path
    in the single index column (labeled-data/<rec>/<img>), else the CSV's folder."""
    head = pd.read_csv(path, header=None, skiprows=3, dtype=str, keep_default_na=False)
    first = head.iloc[:, 0].str.replace("\\", "/", regex=False)
    if (first == "labeled-data").all() and head.shape[1] > 2:
        return head.iloc[:, 1].tolist()
    parts = first.str.split("/")
    return [p[-2] if len(p) >= 2 else folder_name for p in parts][:n]


def read_labels(source) -> pd.DataFrame:
    """Labels from the labelling page's saved CSV, or from a folder (a refine folder or DLC
    project whose labeled-data/*/CollectedData_*.csv were corrected in DLC's GUI)."""
    source = Path(source)
    if source.is_dir():
        found = sorted(source.glob("labeled-data/*/CollectedData_*.csv"))
        if not found:
            raise DataError(f"{source}: no labeled-data/*/CollectedData_*.csv in it")
        return pd.concat([read_collected(p) for p in found], ignore_index=True)
    if not source.is_file():
        raise DataError(f"{source}: no such labels file or folder")
    return read_collected(source)
