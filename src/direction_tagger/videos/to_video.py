"""Predictions made on the cropped movie, brought back to the original video's pixels.

The movie chain works in 50 x 50 crop coordinates; the track table says where each crop sat
in the video (crop.py). This adds, for every keypoint, `<kp>_x_video` and `<kp>_y_video`
(also for the raw predictions: `<kp>_x_raw_video`, ...), the crop (`crop_x`, `crop_y`,
`crop_side`), the tracker's flags (`qc_track_lost`, `qc_track_jump`, also folded into
`qc_any`), where the tracker saw the tail join the body (`tail_root_x`, `tail_root_y` in video
px, `tail_root_x_crop`, `tail_root_y_crop` in crop px: the evidence the polarity pass used),
and the speed in video pixels (the crop speed means little: the crop follows the
animal). Directions need no change: the crop is a shift and a uniform scale.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from ..io import KEYPOINTS, DataError
from ..movies.tables import (
    DLC_BODYPARTS,
    require_numbers,
    table_fps,
    table_locs,
    write_dlc_csv,
)
from .crop import crop_to_video
from .table import TAIL_COLUMNS, TRACK_COLUMNS


def read_track(path) -> pd.DataFrame:
    """A track table written by `track`, checked."""
    try:
        header = list(pd.read_csv(path, nrows=0).columns)
        missing = [c for c in TRACK_COLUMNS if c not in header]
        if missing:
            raise DataError(
                f"{path}: not a track table from `direction-tagger track` (missing {missing})"
            )
        wanted = [*TRACK_COLUMNS, *(c for c in TAIL_COLUMNS if c in header)]  # tails: newer
        track = pd.read_csv(path, usecols=wanted, low_memory=False)
    except (OSError, ValueError) as err:
        if isinstance(err, DataError):
            raise
        raise DataError(f"{path}: not a readable track table ({err})") from None
    track = require_numbers(track, path)
    for column in ("crop_x", "crop_y", "crop_side"):
        values = track[column].to_numpy(float)
        bad = ~np.isfinite(values) | ((values <= 0) if column == "crop_side" else False)
        if bad.any():
            row = int(np.flatnonzero(bad)[0])
            raise DataError(
                f"{path}: row {row + 1}, column '{column}': {values[row]:g}; expected a "
                f"{'positive ' if column == 'crop_side' else ''}number (video px)"
            )
    return track


def _check_lengths(table: pd.DataFrame, track: pd.DataFrame, what, track_path) -> None:
    if len(table) != len(track):
        raise DataError(
            f"{what}: {len(table)} frames, but the track {track_path} has {len(track)}; "
            "were they made from the same video?"
        )


def crops_of(track: pd.DataFrame) -> tuple[np.ndarray, np.ndarray]:
    """Per-frame crop centres (M, 2) and sides (M,) in video pixels."""
    return track[["crop_x", "crop_y"]].to_numpy(float), track["crop_side"].to_numpy(float)


def video_table(table: pd.DataFrame, track: pd.DataFrame, what="predictions", track_path="track"):
    """The movie's table with video-pixel columns added (module docstring)."""
    _check_lengths(table, track, what, track_path)
    centres, sides = crops_of(track)
    out = table.copy()
    out["time_s"] = track["time_s"].to_numpy(float)  # the video's own times (variable rate)
    for suffix in ("", "_raw", "_true"):
        locs = table_locs(table, suffix)
        if locs is None:
            continue
        video = crop_to_video(locs, centres, sides)
        for k, name in enumerate(KEYPOINTS):
            out[f"{name}_x{suffix}_video"] = video[:, k, 0]
            out[f"{name}_y{suffix}_video"] = video[:, k, 1]
    out["crop_x"], out["crop_y"], out["crop_side"] = centres[:, 0], centres[:, 1], sides
    for column in TAIL_COLUMNS:
        if column in track.columns:  # track tables made before the tail root lack them
            out[column] = track[column].to_numpy(float)
    locs = table_locs(out, "")
    centre = crop_to_video((locs[:, :1] + locs[:, 1:2]) / 2, centres, sides)[:, 0]
    if len(table) > 1:
        time = out["time_s"].to_numpy(float)
        if (np.diff(time) > 0).all():  # px/s, central differences over the video's own times
            velocity = np.gradient(centre, time, axis=0)
        else:
            velocity = np.gradient(centre, axis=0) * table_fps(table)
        out["speed_video_px_s"] = np.linalg.norm(velocity, axis=-1)
    else:
        out["speed_video_px_s"] = np.nan
    out["qc_track_lost"] = track["found"].to_numpy() == 0
    out["qc_track_jump"] = track["jump"].to_numpy() != 0
    if "qc_any" in out.columns:
        # keep qc_any last among the flags, as in the movie tables
        any_flag = out.pop("qc_any").fillna(False).astype(bool)
        out["qc_any"] = any_flag | out["qc_track_lost"] | out["qc_track_jump"]
    return out


def video_dlc_csv(dlc_crop_path, track: pd.DataFrame, out_path, track_path="track") -> None:
    """The movie's DeepLabCut CSV (crop px) rewritten in video pixels, likelihoods kept."""
    try:
        dlc = pd.read_csv(dlc_crop_path, header=[0, 1, 2], index_col=0)
    except (OSError, ValueError) as err:
        raise DataError(f"{dlc_crop_path}: not a readable DeepLabCut CSV ({err})") from None
    _check_lengths(dlc, track, dlc_crop_path, track_path)
    scorer = dlc.columns.get_level_values(0)[0]
    try:
        locs = np.stack(
            [dlc[(scorer, part)][["x", "y"]].to_numpy(float) for part in DLC_BODYPARTS], axis=1
        )
        likelihood = np.stack(
            [dlc[(scorer, part)]["likelihood"].to_numpy(float) for part in DLC_BODYPARTS], axis=1
        )
    except KeyError as err:
        raise DataError(f"{dlc_crop_path}: expected body parts {DLC_BODYPARTS} ({err})") from None
    centres, sides = crops_of(track)
    write_dlc_csv(out_path, crop_to_video(locs, centres, sides), likelihood, scorer=scorer)
