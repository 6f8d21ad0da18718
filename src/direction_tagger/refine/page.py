"""The labelling page: one self-contained HTML file (label.html) beside the frames.

No server and no network: the frames are embedded as data URIs, the script and style inline,
so it opens by double-click, offline, in a current Chromium or Firefox. Each frame shows the
three points where the model put them; dragging one corrects it, with the skeleton and the body
and head directions redrawn as it moves. Keys: -> / n next, <- / p previous, 1 2 3 choose tail
base / neck / nose, v "not visible" (again: visible), z zoom (the animal / the whole frame),
r the model's points again, s save. Save downloads `CollectedData_<scorer>.csv` in
DeepLabCut's layout (labelled_data.py), which `refine.labels` and `import-dlc` read.
Corrections are also kept in the browser's local storage, so closing the tab loses nothing.
"""

from __future__ import annotations

import base64
import json
from importlib import resources
from pathlib import Path

import numpy as np
import pandas as pd
from PIL import Image

from ..movies.colours import BODY_COLOUR, HEAD_COLOUR, KEYPOINT_COLOURS
from ..movies.tables import DLC_BODYPARTS
from .labelled_data import read_collected, write_text

PAGE = "label.html"
MARKER = "/*PAGE_DATA*/null"
ZOOM_MARGIN = 1.4  # the zoomed view: the model's crop box, widened this much


def _rgb(colour) -> str:
    return "#" + "".join(f"{int(c):02x}" for c in colour)


def page_data(folder: Path, manifest: pd.DataFrame, scorer: str) -> dict:
    """What the page shows, as JSON-able data (frames in the order they were chosen)."""
    points = {}
    for csv_path in sorted(folder.glob("labeled-data/*/CollectedData_*.csv")):
        table = read_collected(csv_path)
        for row in table.itertuples(index=False):
            xy = [[getattr(row, f"{p}_x"), getattr(row, f"{p}_y")] for p in DLC_BODYPARTS]
            points[(row.recording, row.image)] = [
                [float(x), float(y)] if np.isfinite(x) and np.isfinite(y) else None for x, y in xy
            ]
    frames = []
    for row in manifest.sort_values("order").itertuples(index=False):
        path = folder / "labeled-data" / row.recording / row.image
        with Image.open(path) as image:
            width, height = image.size
        half = ZOOM_MARGIN * float(row.crop_side) / 2
        frames.append(
            {
                "recording": row.recording,
                "image": row.image,
                "src": "data:image/png;base64," + base64.b64encode(path.read_bytes()).decode(),
                "width": width,
                "height": height,
                "zoom": [float(row.crop_x) - half, float(row.crop_y) - half, 2 * half],
                "model": points[(row.recording, row.image)],
                "frame": int(row.frame),
                "time_s": float(row.time_s),
                "doubt": float(row.doubt),
                "flags": "" if pd.isna(row.flags) else str(row.flags),
            }
        )
    return {
        "scorer": scorer,
        "bodyparts": list(DLC_BODYPARTS),
        "names": ["tail base", "neck", "nose"],
        "colours": [_rgb(KEYPOINT_COLOURS[k]) for k in ("base", "neck", "head")],
        "body_colour": _rgb(BODY_COLOUR),
        "head_colour": _rgb(HEAD_COLOUR),
        "frames": frames,
    }


def render_page(data: dict) -> str:
    template = resources.files(__package__).joinpath("label_page.html").read_text("utf-8")
    payload = json.dumps(data, separators=(",", ":")).replace("</", "<\\/")
    if MARKER not in template:
        raise RuntimeError("label_page.html lacks its data marker")
    return template.replace(MARKER, payload)


def write_page(folder: Path, manifest: pd.DataFrame, scorer: str) -> Path:
    path = Path(folder) / PAGE
    write_text(path, render_page(page_data(Path(folder), manifest, scorer)))
    return path
