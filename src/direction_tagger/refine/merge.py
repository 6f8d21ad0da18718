"""The corrected frames joined to the labelled set, with a split for fine-tuning.

Each labelled row (recording, image) is found in the refine folder's frame list, which says
where the model's crop sat: a whole video frame is cropped there again (`crop_frame`, as
`track` cut it), its labels moved into crop px; a 50 x 50 crop is its own box. Rows with a point
not visible, or a point outside the crop, are skipped and counted.

The merged set is the labelled set with the new frames appended (`refine_recording`: '' for
the labelled set's frames, the movie for the new ones), so the run's split keeps every index:
the validation and test parts stay the same frames (before and after compare on them), and the
new frames join the training part -- each recording whole, as one group, never held out.
Twenty frames among thousands would hardly be drawn into a batch: each is listed `copies`
times in the training part so the new frames make up about `NEW_SHARE` of it (online
augmentation makes every draw a different view).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from ..io import FRAME_SIZE, LABEL_BOUNDS, DataError, load_labelled, save_labelled
from ..movies.tables import DLC_BODYPARTS
from ..originals.split import load_split, load_split_info, save_split
from ..videos.crop import crop_frame, video_to_crop
from .labelled_data import read_labels, read_manifest

NEW_SHARE = 0.25  # of the training part, at most (a frame is listed at most MAX_COPIES times)
MAX_COPIES = 200


def labelled_frames(labels_source, folder) -> tuple[np.ndarray, np.ndarray, list[str], dict]:
    """(images (K, 50, 50) uint8, locs (K, 3, 2) crop px, recordings, skipped counts)."""
    from ..videos.dlc import _grey  # DLC frames as DLC's own reader turns them grey

    folder = Path(folder)
    labels = read_labels(labels_source)
    manifest = read_manifest(folder).set_index(["recording", "image"])
    images, locs, recordings = [], [], []
    skipped = {"point not visible": 0, "label outside the crop": 0}
    for row in labels.itertuples(index=False):
        key = (row.recording, row.image)
        if key not in manifest.index:
            raise DataError(
                f"{labels_source}: labels frame {row.recording}/{row.image}, which the refine "
                f"folder {folder} did not choose (labels of another refine round?)"
            )
        xy = np.array(
            [[getattr(row, f"{p}_x"), getattr(row, f"{p}_y")] for p in DLC_BODYPARTS], float
        )
        if not np.isfinite(xy).all():
            skipped["point not visible"] += 1
            continue
        frame = manifest.loc[key]
        picture = _grey(folder / "labeled-data" / row.recording / row.image)
        centre = np.array([[frame.crop_x, frame.crop_y]], float)
        side = float(frame.crop_side)
        if frame.source == "video":
            crop = crop_frame(picture, float(frame.crop_x), float(frame.crop_y), side)
        elif picture.shape != (FRAME_SIZE, FRAME_SIZE):
            raise DataError(f"{row.recording}/{row.image}: {picture.shape}; expected a 50x50 crop")
        else:
            crop = picture
        inside = video_to_crop(xy[None], centre, np.array([side]))[0]
        if not ((inside >= LABEL_BOUNDS[0]) & (inside <= LABEL_BOUNDS[1])).all():
            skipped["label outside the crop"] += 1
            continue
        images.append(crop)
        locs.append(inside)
        recordings.append(row.recording)
    if not images:
        raise DataError(f"{labels_source}: no usable labelled frame ({skipped})")
    return np.stack(images), np.stack(locs).astype(np.float32), recordings, skipped


def merge_refined(labels_source, folder, data, split, out, split_out) -> dict:
    """Write the merged set `out` and its split `split_out`; returns what was merged."""
    new_images, new_locs, recordings, skipped = labelled_frames(labels_source, folder)
    base = load_labelled(data)
    n, k = len(base.images), len(new_images)
    parts = load_split(split, n)
    train = np.asarray(parts.get("train", []), np.int64)
    if not len(train):
        raise DataError(f"{split}: no training part; refine adds frames to it")
    copies = int(min(MAX_COPIES, max(1, round(NEW_SHARE * len(train) / ((1 - NEW_SHARE) * k)))))
    new_index = np.arange(n, n + k)
    parts["train"] = np.concatenate([train, np.repeat(new_index, copies)])
    save_labelled(
        out,
        np.concatenate([base.images, new_images]),
        np.concatenate([base.locs, new_locs]).astype(np.float32),
        refine_recording=np.array([""] * n + recordings),
    )
    summary = {
        "labels": str(labels_source),
        "refine_folder": str(folder),
        "frames_added": k,
        "copies_each": copies,
        "recordings": {r: recordings.count(r) for r in dict.fromkeys(recordings)},
        "skipped": skipped,
        "labelled_frames_before": n,
    }
    info = load_split_info(split)
    rule = (
        f"{info.get('rule', 'the run split')}; refine: {k} corrected frames of "
        f"{len(summary['recordings'])} recordings added to the training part (each recording "
        f"one group, never held out), each listed {copies}x so they are ~"
        f"{k * copies / len(parts['train']):.0%} of it"
    )
    save_split(split_out, parts, rule, refine=summary)
    return summary
