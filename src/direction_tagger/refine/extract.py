"""`refine`: choose the frames worth labelling from a run's movies and videos, and write them
as a DeepLabCut labelled-data folder with the model's points filled in, and the labelling page.

Each movie gives its candidates first -- the most doubtful frame of each of `POOL_PER_FRAME x
count` equal stretches of it, so a long flagged run cannot crowd out the rest of the movie --
then `choose.choose` picks among all movies' candidates by their doubt and what they are like
(the crop and the model's pose; see choose.py).
"""

from __future__ import annotations

import shutil
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
from PIL import Image
from tqdm import tqdm

from ..io import FRAME_SIZE, KEYPOINTS, DataError, load_labelled, scratch_path
from ..movie_store import open_movie
from ..movies.tables import our_column, read_table
from . import choose as choosing
from .labelled_data import (
    MANIFEST,
    MANIFEST_COLUMNS,
    collected_data_text,
    image_name,
    project_config,
    write_text,
)

LABELLED_SAMPLE = 2000  # labelled frames compared against (a random sample of a large set)


@dataclass
class Source:
    """One movie of the run: its smoothed predictions table and its 50 x 50 frames; for a
    tracked video also the video file (the table is then to-video's, with the crop boxes and
    the points in video px)."""

    name: str
    table: Path
    movie: Path
    video: Path | None = None


@dataclass
class Candidate:
    source: int
    frame: int
    time_s: float
    doubt: float
    flags: str


def _candidates(k: int, source: Source, count: int) -> tuple[list[Candidate], pd.DataFrame]:
    table = read_table(source.table, our_column)
    doubt = choosing.frame_doubt(table)
    bins = np.array_split(np.arange(len(table)), min(len(table), choosing.POOL_PER_FRAME * count))
    picks = [int(b[np.argmax(doubt[b])]) for b in bins if len(b)]
    time_s = table["time_s"].to_numpy(float)
    found = [
        Candidate(k, i, float(time_s[i]), float(doubt[i]), choosing.doubt_reasons(table, i))
        for i in picks
    ]
    return found, table


def _labelled_embedding(path, seed: int = 0) -> np.ndarray | None:
    if path is None:
        return None
    data = load_labelled(path)
    images, locs = data.images, data.locs
    if len(images) > LABELLED_SAMPLE:
        pick = np.sort(
            np.random.default_rng(seed).choice(len(images), LABELLED_SAMPLE, replace=False)
        )
        images, locs = images[pick], locs[pick]
    return choosing.features(images, locs)


def _crops(source: Source, frames: list[int]) -> np.ndarray:
    """The movie's 50 x 50 frames `frames`, read in order (a compressed movie streams)."""
    with open_movie(source.movie) as movie:
        if max(frames) >= len(movie):
            raise DataError(
                f"{source.movie}: {len(movie)} frames, but its predictions {source.table} have "
                f"frame {max(frames)}; were they made from the same movie?"
            )
        out = np.empty((len(frames), FRAME_SIZE, FRAME_SIZE), np.uint8)
        for i in np.argsort(frames):
            out[i] = movie[frames[i]]
    return out


def _video_frames(path: Path, wanted: set[int]) -> dict[int, np.ndarray]:
    """The video's frames `wanted`, decoded in one pass up to the last (the decoder `track`
    used, so frame i is the frame the crop i was cut from)."""
    from ..videos.reader import iter_frames, video_info

    found = {}
    last = max(wanted)
    for i, frame in enumerate(iter_frames(video_info(path))):
        if i in wanted:
            found[i] = frame.copy()
        if i >= last:
            break
    if missing := sorted(wanted - set(found)):
        raise DataError(f"{path}: ends before frame {missing[0]}; is it the video tracked?")
    return found


def _crop_points(table: pd.DataFrame, rows: list[int]) -> np.ndarray:
    """(len(rows), 3, 2) the model's points in the 50 x 50 crop."""
    return np.stack(
        [table[[f"{k}_x", f"{k}_y"]].to_numpy(np.float64)[rows] for k in KEYPOINTS], axis=1
    )


def _points(table: pd.DataFrame, row: int, video: bool) -> np.ndarray:
    suffix = "_video" if video else ""
    return np.array(
        [[table[f"{k}_{a}{suffix}"].iloc[row] for a in "xy"] for k in KEYPOINTS], np.float64
    )


def refine_frames(
    sources: list[Source],
    out,
    count: int = 20,
    labelled=None,
    scorer: str = "labeller",
    page: bool = True,
    progress: bool = True,
) -> pd.DataFrame:
    """Choose `count` frames over `sources` and write the refine folder `out` (layout in
    labelled_data.py). Returns the frame list (frames.csv)."""
    if not sources:
        raise DataError("refine needs at least one movie or video with predictions")
    names = [s.name for s in sources]
    if len(set(names)) < len(names):
        raise DataError(f"refine: movie names given twice ({names})")
    candidates, tables = [], []
    for k, source in enumerate(tqdm(sources, desc="scoring", disable=not progress)):
        found, table = _candidates(k, source, count)
        candidates += found
        tables.append(table)
        if source.video is not None:
            missing = [c for c in ("crop_x", "crop_y", "crop_side") if c not in table.columns]
            missing += [f"{kp}_x_video" for kp in KEYPOINTS if f"{kp}_x_video" not in table]
            if missing:
                raise DataError(
                    f"{source.table}: lacks {missing}; a video's table comes from "
                    "`direction-tagger to-video`"
                )
    embedding = np.empty((len(candidates), choosing.EMBED_SIDE**2 + 3), np.float32)
    for k, source in enumerate(sources):
        rows = [i for i, c in enumerate(candidates) if c.source == k]
        frames = [candidates[i].frame for i in rows]
        locs = _crop_points(tables[k], frames)
        embedding[rows] = choosing.features(_crops(source, frames), locs)
    doubt = np.array([c.doubt for c in candidates])
    picked = choosing.choose(doubt, embedding, count, labelled=_labelled_embedding(labelled))
    chosen = [candidates[i] for i in picked]
    return _write_folder(Path(out), sources, tables, chosen, scorer, page)


def _write_folder(out: Path, sources, tables, chosen, scorer, page) -> pd.DataFrame:
    """Build the folder beside `out` and move it into place: a failed run leaves the previous
    folder whole."""
    out.parent.mkdir(parents=True, exist_ok=True)
    build = scratch_path(out.parent, f".{out.name}.tmp-")
    if build.exists():
        shutil.rmtree(build)
    try:
        rows = []
        for k, source in enumerate(sources):
            mine = sorted((c for c in chosen if c.source == k), key=lambda c: c.frame)
            if not mine:
                continue
            folder = build / "labeled-data" / source.name
            folder.mkdir(parents=True)
            table = tables[k]
            digits = max(5, len(str(len(table) - 1)))
            video = source.video is not None
            if video:
                pictures = _video_frames(source.video, {c.frame for c in mine})
            else:
                crops = _crops(source, [c.frame for c in mine])
            points = []
            for j, c in enumerate(mine):
                name = image_name(c.frame, digits)
                picture = pictures[c.frame] if video else crops[j]
                Image.fromarray(picture).save(folder / name)
                points.append(_points(table, c.frame, video))
                if video:
                    box = [float(table[col].iloc[c.frame]) for col in ("crop_x", "crop_y")]
                    box.append(float(table["crop_side"].iloc[c.frame]))
                else:
                    box = [24.5, 24.5, 50.0]  # the crop is its own box
                rows.append(
                    [chosen.index(c) + 1, source.name, name, source.name, c.frame, c.time_s]
                    + ["video" if video else "crop", *box, round(c.doubt, 6), c.flags]
                )
            names = [image_name(c.frame, digits) for c in mine]
            text = collected_data_text([source.name] * len(mine), names, np.stack(points), scorer)
            write_text(folder / f"CollectedData_{scorer}.csv", text)
        manifest = pd.DataFrame(rows, columns=list(MANIFEST_COLUMNS)).sort_values("order")
        manifest.to_csv(build / MANIFEST, index=False)
        write_text(build / "config.yaml", project_config(scorer, manifest["recording"]))
        if page:
            from .page import write_page

            write_page(build, manifest, scorer)
        if out.exists():
            shutil.rmtree(out)
        build.rename(out)
    finally:
        if build.exists():
            shutil.rmtree(build, ignore_errors=True)
    return manifest
