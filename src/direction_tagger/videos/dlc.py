"""A DeepLabCut project's labelled frames, as our labelled set.

Reads `labeled-data/<recording>/CollectedData_<scorer>.csv` (DLC's 3-row header: scorer /
bodyparts / coords; the frame named by the index, either one `labeled-data/<rec>/<img>`
column or three columns) and the frames beside it. Each body part of ours is one DLC body
part, or the midpoint of two (`left_ear+right_ear`). Each frame is cropped with the rule
`track` uses on videos -- centred on the animal found in the image against the median of its
recording's frames, one crop side per recording, `crop_scale` x the animal's body length --
never on the labels, so the crop does not give the answer away and a model trained on it sees
what it will see on tracked videos. Frames with a missing label, where no animal is found, or
whose labels fall outside the crop are skipped and counted.

Writes the data contract plus `video` (the recording: use it as the split's group), `frame`
(the image file), `crop_x`, `crop_y`, `crop_side` (video px).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
from tqdm import tqdm

from ..io import KEYPOINTS, LABEL_BOUNDS, DataError, save_labelled, write_json
from .crop import crop_frame, video_to_crop
from .finder import build_background, find_animal
from .track import measure_animal

# Names labs give these points, tried in order when the user names none.
GUESSES = {
    "head": ["nose", "snout", "NOSE", "Nose"],
    "neck": [
        "neck",
        "Neck",
        "left_ear+right_ear",
        "leftear+rightear",
        "ear_left+ear_right",
        "head",
        "HEAD",
        "Head",
    ],
    "base": ["tail_base", "tailbase", "tail_root", "tailroot", "TailBase", "tail", "TAIL", "Tail"],
}


@dataclass
class Recording:
    name: str
    images: list[Path]
    points: dict[str, np.ndarray]  # DLC body part -> (N, 2) video px, NaN = not labelled


def _frame_paths(table: pd.DataFrame, folder: Path) -> list[Path]:
    """The image of each row: the index holds `labeled-data/<rec>/<img>` (older DLC) or its
    parts (newer DLC); the image is looked up beside the CSV by its file name."""
    names = []
    for key in table.index:
        last = key[-1] if isinstance(key, tuple) else str(key).replace("\\", "/").split("/")[-1]
        names.append(folder / str(last))
    return names


def read_recording(csv_path: Path) -> Recording:
    """One CollectedData CSV, checked."""
    try:
        head = pd.read_csv(csv_path, header=None, nrows=4, dtype=str)
    except (OSError, ValueError) as err:
        raise DataError(f"{csv_path}: not a readable CSV ({err})") from None
    first = head.iloc[:, 0].fillna("").str.strip().str.lower().tolist()
    if first[:3] != ["scorer", "bodyparts", "coords"]:
        if first[:2] == ["scorer", "individuals"]:
            raise DataError(
                f"{csv_path}: a multi-animal DeepLabCut project; one animal per frame is expected"
            )
        raise DataError(
            f"{csv_path}: expected DeepLabCut's header rows scorer / bodyparts / coords"
        )
    # index columns: those before the first coordinate (1 in older DLC, 3 in newer)
    coords = [str(v).strip() for v in head.iloc[2].tolist()]
    if "x" not in coords:
        raise DataError(f"{csv_path}: no x / y columns in its coords row")
    n_index = coords.index("x")
    table = pd.read_csv(csv_path, header=[0, 1, 2], index_col=list(range(n_index)))
    points = {}
    for part in dict.fromkeys(table.columns.get_level_values(1)):
        cols = table.xs(part, axis=1, level=1)
        try:
            xy = np.stack(
                [
                    cols.xs("x", axis=1, level=1).iloc[:, 0],
                    cols.xs("y", axis=1, level=1).iloc[:, 0],
                ],
                1,
            )
        except KeyError:
            raise DataError(f"{csv_path}: body part {part!r} lacks its x or y column") from None
        points[str(part)] = np.asarray(
            pd.DataFrame(xy).apply(pd.to_numeric, errors="coerce"), float
        )
    return Recording(csv_path.parent.name, _frame_paths(table, csv_path.parent), points)


def find_recordings(project) -> list[Path]:
    project = Path(project)
    labelled = project / "labeled-data"
    if not labelled.is_dir():
        raise DataError(f"{project}: not a DeepLabCut project (no labeled-data/ folder in it)")
    found = sorted(labelled.glob("*/CollectedData_*.csv"))
    if not found:
        raise DataError(
            f"{labelled}: no <recording>/CollectedData_*.csv in it (nothing labelled yet?)"
        )
    return found


def resolve_mapping(bodyparts: set[str], chosen: dict[str, str | None], where) -> dict[str, str]:
    """Our keypoint -> DLC body part (or `a+b`, their midpoint); guessed from common names
    where not chosen; a clear error naming the project's body parts otherwise."""
    mapping = {}
    for ours in KEYPOINTS:
        options = [chosen[ours]] if chosen.get(ours) else GUESSES[ours]
        usable = [o for o in options if all(p in bodyparts for p in o.split("+"))]
        if not usable:
            what = chosen.get(ours) or f"any of {GUESSES[ours]}"
            raise DataError(
                f"{where}: no body part for our {ours!r} ({what} not among {sorted(bodyparts)}); "
                f"name it with --{ours} (a body part, or two joined by + for their midpoint)"
            )
        mapping[ours] = usable[0]
    return mapping


def _mapped_locs(rec: Recording, mapping: dict[str, str]) -> np.ndarray:
    """(N, 3, 2) video px in KEYPOINTS order; NaN where a needed label is missing."""
    missing = [p for k in KEYPOINTS for p in mapping[k].split("+") if p not in rec.points]
    if missing:
        raise DataError(f"recording {rec.name}: its CollectedData CSV lacks body parts {missing}")
    parts = [np.mean([rec.points[p] for p in mapping[k].split("+")], axis=0) for k in KEYPOINTS]
    return np.stack(parts, axis=1)


def _grey(path: Path) -> np.ndarray:
    import imageio.v3 as iio

    try:
        image = iio.imread(path)
    except (OSError, ValueError) as err:
        raise DataError(f"{path}: not a readable image ({err})") from None
    # Deeper pictures to 8 bits by their bit depth: a 12-bit camera's frames in a 16-bit PNG
    # fill 0-4095 (the depth, not each picture's own maximum: frames of a recording stay alike)
    if image.dtype.kind in "ui":
        top = int(image.max(initial=0))
        full = float(next((2**bits - 1 for bits in (8, 10, 12, 14) if top < 2**bits), 65535))
    else:
        full = 1.0 if np.nanmax(image, initial=0) <= 1.0 else 255.0
    if image.ndim == 3 and image.shape[-1] in (1, 2):  # grey, grey + alpha
        image = image[..., 0]
    elif image.ndim == 3:  # the same luma weights ffmpeg uses for videos (BT.601)
        image = image[..., :3].astype(np.float32) @ np.array([0.299, 0.587, 0.114], np.float32)
    if image.ndim != 2:
        raise DataError(f"{path}: an image of shape {image.shape}; expected grey or colour")
    return np.clip(np.rint(image * np.float32(255.0 / full)), 0, 255).astype(np.uint8)


def import_project(
    project, out, chosen=None, crop_scale=2.0, polarity="auto", summary_out=None, progress=True
) -> dict:
    """Import every labelled frame of a DLC project into a labelled set at `out`."""
    recordings = [read_recording(p) for p in find_recordings(project)]
    bodyparts = set().union(*(r.points for r in recordings))
    mapping = resolve_mapping(bodyparts, chosen or {}, project)
    images, locs, videos, frames, crops, tails = [], [], [], [], [], []
    skipped = {
        "missing label": 0,
        "animal not found": 0,
        "label outside crop": 0,
        "recording too small": 0,
    }
    per_recording = {}
    for rec in tqdm(recordings, desc="importing", disable=not progress):
        want = _mapped_locs(rec, mapping)
        labelled = np.isfinite(want).all(axis=(1, 2))
        skipped["missing label"] += int((~labelled).sum())
        present = [p for p in rec.images if p.is_file()]
        if len(present) < len(rec.images):
            missing = next(p for p in rec.images if not p.is_file())
            raise DataError(
                f"{missing}: labelled in {rec.name}'s CollectedData CSV, but the image is missing"
            )
        grey = [_grey(p) for p in rec.images]
        if len({g.shape for g in grey}) > 1:
            raise DataError(
                f"{rec.name}: its frames differ in size; one camera per recording is expected"
            )
        if len(grey) < 3:
            skipped["recording too small"] += int(labelled.sum())
            continue
        stack = np.stack(grey)
        bg = build_background(stack, polarity)
        side = crop_scale * measure_animal(stack, bg, rec.name)
        kept = 0
        for i in np.flatnonzero(labelled):
            det = find_animal(stack[i], bg, length=side / crop_scale)
            if not det.found:
                skipped["animal not found"] += 1
                continue
            crop_locs = video_to_crop(
                want[i : i + 1], np.array([[det.x, det.y]]), np.array([side])
            )[0]
            if not ((crop_locs >= LABEL_BOUNDS[0]) & (crop_locs <= LABEL_BOUNDS[1])).all():
                skipped["label outside crop"] += 1
                continue
            images.append(crop_frame(stack[i], det.x, det.y, side))
            locs.append(crop_locs)
            videos.append(rec.name)
            frames.append(rec.images[i].name)
            crops.append((det.x, det.y, side))
            tails.append(
                video_to_crop(
                    np.array([[[det.tail_x, det.tail_y]]]), np.array([[det.x, det.y]]), [side]
                )[0, 0]
            )
            kept += 1
        per_recording[rec.name] = {"frames": kept, "crop_side_px": round(side, 2)}
    if not images:
        raise DataError(f"{project}: no frame could be imported ({skipped})")
    crops = np.array(crops, np.float32)
    save_labelled(
        out,
        np.stack(images),
        np.stack(locs).astype(np.float32),
        video=np.array(videos),
        frame=np.array(frames),
        crop_x=crops[:, 0],
        crop_y=crops[:, 1],
        crop_side=crops[:, 2],
        # where the tracker saw the tail join the body, crop px (NaN: no tail seen): how well
        # it tells the rump from the head is measured on these frames (qc-reference)
        tail_root=np.array(tails, np.float32),
    )
    summary = {
        "project": str(project),
        "frames": len(images),
        "recordings": per_recording,
        "skipped": skipped,
        "mapping": mapping,
        "crop_scale": crop_scale,
    }
    if summary_out:
        write_json(summary_out, summary)
    return summary
