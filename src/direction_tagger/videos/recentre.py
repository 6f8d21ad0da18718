"""Re-centre a tracked video's crops on the model's own nose - tail base midpoint.

The tracker's crop centre is a geometric estimate (the body's two ends, or the tail root and
the body's far end): on real mice it is within 2 crop px of the labelled nose - tail base
midpoint on ~74 % of frames, because labellers put nose and tail base where the body's
outline does not (a fat, curled body; a reflection that joins it at a wall). The model
places both points far closer, so their midpoint is the better centre (docs/videos.md,
"The network in the loop"). After `track`:

1. the model predicts the tracked movie (no test-time augmentation: this is a centre, not
   the answer, and it must stay cheap);
2. each frame's crop centre moves to the predicted midpoint, in video px (the midpoint does
   not care which end is the head, so polarity does not matter here), except where the
   tracker lost the animal or the midpoint lies over MAX_SHIFT x the side from its centre;
3. the video is decoded again and every frame cut at its new centre (same side);
4. with `passes` > 1, the model looks at those crops and 2-3 come again (each pass moves the
   centre less: the model's midpoint on a crop is slightly biased toward the crop's centre).

The movie chain then predicts the re-centred movie as it would the tracker's. The track
table is rewritten with the new centres (`crop_x`, `crop_y`; the tail root in crop px
follows them) and the tracker's own (`tracker_crop_x`, `tracker_crop_y`), so `to-video`
brings the keypoints back to video px through the crop that was really cut.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
from tqdm import tqdm

from ..io import DataError, atomic_path, scratch_path
from ..movie_store import MovieWriter, open_movie
from .crop import crop_frame, crop_to_video, video_to_crop
from .reader import VideoInfo, iter_frames
from .table import TAIL_COLUMNS

# A predicted midpoint further than this (x the crop side) from the tracker's centre is not
# trusted: the model did not see the animal there (a lost frame, an empty crop), and the
# tracker's centre stays. The two rarely differ by more than a tenth of the side.
MAX_SHIFT = 0.25
CHUNK = 512  # frames predicted at a time: memory flat in the video's length


def recentred_centres(
    locs: np.ndarray,
    centres: np.ndarray,
    sides: np.ndarray,
    max_shift: float = MAX_SHIFT,
    anchors: np.ndarray | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """New crop centres (M, 2) in video px: the midpoint of the predicted tail base and nose
    (`locs` (M, 3, 2) in crop px, keypoints in the order tail base, neck, nose) of each frame's
    crop centred on `centres` (M, 2) with side `sides` (M,); where that midpoint is not a
    number or lies more than `max_shift` x the side from `anchors` (default: `centres`; the
    tracker's centres on a later pass), the anchor. Also returns which frames moved, (M,)
    bool."""
    anchors = centres if anchors is None else anchors
    video = crop_to_video(locs, centres, sides)
    middle = (video[:, 0] + video[:, 2]) / 2
    shift = np.hypot(*(middle - anchors).T)
    moved = np.isfinite(shift) & (shift <= max_shift * np.asarray(sides, float))
    return np.where(moved[:, None], middle, anchors), moved


def _predicted_locs(movie_path, predict, n: int, progress: bool) -> np.ndarray:
    """The model's keypoints (n, 3, 2), crop px, for every frame of the tracked movie."""
    out = np.empty((n, 3, 2), float)
    with open_movie(movie_path) as movie:
        if len(movie) != n:
            raise DataError(f"{movie_path}: {len(movie)} frames, but its track table has {n}")
        with tqdm(total=n, desc="first look", disable=not progress, mininterval=2) as bar:
            for first, chunk in movie.chunks(CHUNK):
                out[first : first + len(chunk)] = predict(chunk)
                bar.update(len(chunk))
    return out


def _cut(info: VideoInfo, centres, sides, out, track_path, progress: bool, what: str) -> None:
    """Decode the video again and write each frame cut at its centre to the movie `out`."""
    n = len(centres)
    with MovieWriter(out, fps=info.fps) as movie:
        frames = iter_frames(info, keep=0)
        count = 0
        try:
            for frame in tqdm(frames, total=n, desc=what, disable=not progress, mininterval=2):
                if count == n:
                    raise DataError(
                        f"{info.path}: more frames than its track table {track_path} ({n})"
                    )
                movie.write(crop_frame(frame, *centres[count], sides[count]))
                count += 1
        finally:
            frames.close()
        if count != n:
            raise DataError(f"{info.path}: {count} frames, but its track table has {n}")


def recentre_video(
    info: VideoInfo,
    track_path,
    movie_path,
    predict,
    movie_out,
    table_out,
    progress: bool = False,
    passes: int = 1,
) -> dict:
    """Cut `info`'s video again around the model's nose - tail base midpoints. `track_path`,
    `movie_path`: `track`'s table and movie; `predict`: (N, 50, 50) uint8 -> (N, 3, 2) crop
    px; `passes`: how many times the model looks and the video is cut (each pass starts from
    the last one's crops). Writes the re-centred movie and track table; returns a summary
    (frames, frames moved, shifts in crop px)."""
    from .to_video import read_track

    if passes < 1:
        raise ValueError(f"passes must be at least 1, got {passes}")
    read_track(track_path)  # checked: the columns and numbers to-video needs
    table = pd.read_csv(track_path, low_memory=False)  # every column, as the tracker wrote it
    n = len(table)
    if n == 0:
        raise DataError(f"{track_path}: the track table has no frames")
    tracker = table[["crop_x", "crop_y"]].to_numpy(float)
    sides = table["crop_side"].to_numpy(float)
    found = table["found"].to_numpy(float) > 0
    movie_out = Path(movie_out)
    between = scratch_path(movie_out.parent, f".{movie_out.stem}.pass-", ".npz")
    new, source = tracker, movie_path
    try:
        for k in range(passes):
            locs = _predicted_locs(source, predict, n, progress)
            new, moved = recentred_centres(locs, new, sides, anchors=tracker)
            moved &= found  # where the tracker lost the animal, the crop may hold none
            new = np.where(moved[:, None], new, tracker)
            new = np.round(new, 3)  # as the table keeps them: the crop is cut where it says
            last = k == passes - 1
            target = movie_out if last else between
            _cut(info, new, sides, target, track_path, progress, f"re-cutting ({k + 1})")
            source = target
    finally:
        between.unlink(missing_ok=True)

    out = table.copy()
    out.insert(out.columns.get_loc("crop_side") + 1, "tracker_crop_x", table["crop_x"])
    out.insert(out.columns.get_loc("tracker_crop_x") + 1, "tracker_crop_y", table["crop_y"])
    out["crop_x"], out["crop_y"] = new[:, 0], new[:, 1]
    if all(c in out.columns for c in TAIL_COLUMNS):  # the tail root in the new crop's px
        root = out[list(TAIL_COLUMNS[:2])].to_numpy(float)[:, None, :]
        out[list(TAIL_COLUMNS[2:])] = video_to_crop(root, new, sides)[:, 0]
    with atomic_path(table_out) as tmp:
        out.to_csv(tmp, index=False, float_format="%.3f")
    shift = np.hypot(*(new - tracker).T) * 50 / sides
    return {
        "frames": n,
        "passes": passes,
        "moved": int(moved.sum()),
        "kept_tracker_centre": int(n - moved.sum()),
        "shift_crop_px_median": float(np.median(shift)),
        "shift_crop_px_p95": float(np.quantile(shift, 0.95)),
    }
