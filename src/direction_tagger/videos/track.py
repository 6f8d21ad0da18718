"""Track the animal through a video and cut the 50 x 50 movie the model reads.

One pass over the video, memory flat in its length: frames are decoded one at a time, the
animal found in each (finder.py), and each frame is cropped once the frames after it are in,
so that its crop centre can be the median of the raw centres around it (a window of
`smooth_window` frames: steadier crops, and one bad detection does not move the crop). One
crop side for the whole video, `crop_scale` x the animal's median body length in frames spread
over the video (the rule the real-mice set was cut with: a body ~25 px long in the crop),
or set by the user.

Writes the movie `.npz` (data contract, plus `fps`), a per-frame table (crop centre and side,
the raw detection, QC flags), a QC summary and the background (the empty arena).
"""

from __future__ import annotations

import csv
import sys
from collections import deque
from dataclasses import asdict, dataclass
from statistics import median

import numpy as np
from tqdm import tqdm

from ..io import DataError, atomic_path, write_json
from ..movie_store import MovieWriter
from .crop import crop_frame, video_to_crop
from .finder import Background, Detection, build_background, find_animal, mend_background
from .reader import VideoInfo, frame_rate_summary, frame_times, iter_frames, sample_frames
from .silhouette import save_background
from .table import TAIL_COLUMNS, TRACK_COLUMNS  # noqa: F401 (their home before table.py)

# A patch of floor the background hides, at least this x the animal's area, is where the
# animal sat in most samples (finder.mend_background). Measured, largest patch / animal area:
# 0.44-0.65 on 40-60-frame synthetic clips, 0 from 90 frames on, 0.01 on the real video.
MIN_GHOST_AREA = 0.3


@dataclass
class TrackSettings:
    crop_side: float | None = None  # video px; None: crop_scale x the body length
    crop_scale: float = 2.0
    smooth_window: int = 9  # frames (odd; an even one acts as the next odd one)
    polarity: str = "auto"  # the animal against the floor: auto, dark or light
    background_frames: int = 41
    max_jump: float = 0.5  # body lengths per frame; a longer move of the raw centre is a jump


def measure_animal(samples: np.ndarray, bg: Background, path) -> float:
    """The animal's median body length (px) over sample frames; a clear error if it is never
    found."""
    return _body_length([find_animal(f, bg) for f in samples], bg, path)


def _body_length(detections: list[Detection], bg: Background, path) -> float:
    lengths = [d.length for d in detections if d.found]
    if len(lengths) < max(2, len(detections) // 4):
        raise DataError(
            f"{path}: no animal found in {len(detections) - len(lengths)} of {len(detections)} "
            f"frames spread over the video (animal {'darker' if bg.polarity > 0 else 'lighter'} "
            "than the floor?); set `polarity` or check the video"
        )
    return float(np.median(lengths))


def video_background(samples: np.ndarray, polarity: str, path) -> tuple[Background, float]:
    """The empty arena from frames sampled over a video, mended where the animal sat in most
    of them (finder.mend_background: a short clip; warns on stderr when it had to be), and
    the animal's body length on them (px)."""
    bg = build_background(samples, polarity)
    found = [find_animal(f, bg) for f in samples]
    areas = [d.area for d in found if d.found]
    if areas:  # else nothing to measure a patch against (and _body_length says so)
        bg = mend_background(samples, bg, MIN_GHOST_AREA * float(np.median(areas)))
    if bg.mended_px:
        print(
            f"warning: {path}: the animal sat on one spot in most of the {len(samples)} "
            f"frames sampled for the empty arena; the background was mended there "
            f"({bg.mended_px} px) from the few frames that show the floor, but parts of the "
            "animal may still be in it, so the crop side and centres may be off: track a "
            "longer stretch of video (or set track.crop_side) and look at the crops",
            file=sys.stderr,
        )
        found = [find_animal(f, bg) for f in samples]
    return bg, _body_length(found, bg, path)


def check_crop_side(side: float | None, width: int, height: int, path, what: str) -> None:
    """A crop side the video allows: at most twice its longer side (a larger crop shows
    nothing more, only costs memory). None: not chosen yet."""
    largest = 2 * max(width, height)
    if side is not None and not 0 < side <= largest:
        raise DataError(
            f"{path}: {what} is {side:g} px; expected at most {largest} px, twice the "
            f"{width}x{height} video's longer side"
        )


class _Smoother:
    """Crop centres: the median of the raw centres within `half` frames on either side (an
    even window acts as the next odd one)."""

    def __init__(self, window: int, start: tuple[float, float]):
        self.half = window // 2
        self.raw: deque = deque()  # (frame index, (x, y) or None), oldest first
        self.last = start

    def add(self, index: int, centre: tuple[float, float] | None) -> None:
        self.raw.append((index, centre))

    def centre(self, index: int) -> tuple[float, float]:
        """Frame `index`'s crop centre; the frames up to index + half must be added already.
        Where no frame near it found the animal, the last centre holds."""
        while self.raw and self.raw[0][0] < index - self.half:
            self.raw.popleft()
        found = [c for i, c in self.raw if c is not None and i <= index + self.half]
        if found:  # np.median's numbers, without its overhead (a tenth of a frame's tracking)
            self.last = (median([x for x, _ in found]), median([y for _, y in found]))
        return self.last


def track_video(
    info: VideoInfo,
    movie_out,
    table_out,
    qc_out,
    settings: TrackSettings | None = None,
    progress: bool = False,
    figure_out=None,
    background_out=None,
) -> dict:
    """Track, crop and write the movie, its track table, QC summary and (optionally) the
    tracking figure and the background (silhouette.py finds keypoints off the animal with
    it). Returns the QC."""
    settings = settings or TrackSettings()
    if settings.smooth_window < 1:
        raise ValueError(f"smooth_window must be >= 1, got {settings.smooth_window}")
    check_crop_side(settings.crop_side, info.width, info.height, info.path, "crop side")
    samples = sample_frames(info, settings.background_frames)
    bg, length = video_background(samples, settings.polarity, info.path)
    if background_out:
        save_background(background_out, bg)
    side = float(settings.crop_side or settings.crop_scale * length)
    what = f"crop side ({settings.crop_scale:g} x the body length {length:.1f} px)"
    check_crop_side(side, info.width, info.height, info.path, what)

    times = frame_times(info.path)  # a variable frame rate keeps its own times
    smoother = _Smoother(settings.smooth_window, (info.width / 2 - 0.5, info.height / 2 - 0.5))
    pending: deque = deque()  # (index, frame, detection, jump) awaiting their crop
    stats = {"frames": 0, "lost": 0, "jumps": 0, "longest_lost_run": 0}
    run = 0
    previous: tuple[float, float] | None = None

    with (
        MovieWriter(movie_out, fps=info.fps) as movie,
        atomic_path(table_out) as tmp,
        open(tmp, "w", newline="") as table_file,
    ):
        table = csv.writer(table_file)
        table.writerow(TRACK_COLUMNS + TAIL_COLUMNS)

        # Crops are cut here, not in a thread beside the finder: the thread's turns at the GIL
        # cost the finder more than the crop takes (measured: 5 % faster in all).
        def emit():
            index, frame, det, jump = pending.popleft()
            x, y = smoother.centre(index)
            movie.write(crop_frame(frame, x, y, side))
            time = times[index] if times is not None and index < len(times) else index / info.fps
            tail = (det.tail_x, det.tail_y)
            tail_crop = video_to_crop(np.array([[tail]]), np.array([[x, y]]), np.array([side]))
            table.writerow(
                [index, f"{time:.4f}", f"{x:.3f}", f"{y:.3f}", f"{side:.3f}"]
                + [int(det.found), int(jump)]
                + [f"{v:.3f}" if det.found else "" for v in (det.x, det.y, det.length)]
                + [f"{v:.3f}" if np.isfinite(v) else "" for v in (*tail, *tail_crop[0, 0])]
            )

        # The frames awaiting their crop stay in the reader's ring, no copies: those of the
        # smoothing window and the one being cropped.
        frames = iter_frames(info, keep=smoother.half + 1)
        try:
            for index, frame in enumerate(
                tqdm(
                    frames,
                    total=info.n_frames,
                    desc="tracking",
                    disable=not progress,
                    mininterval=2,
                )
            ):
                det: Detection = find_animal(frame, bg, previous, length)
                jump = False
                if det.found:
                    if previous is not None:
                        jump = (
                            np.hypot(det.x - previous[0], det.y - previous[1])
                            > settings.max_jump * length
                        )
                    previous = (det.x, det.y)
                    run = 0
                else:
                    stats["lost"] += 1
                    run += 1
                    stats["longest_lost_run"] = max(stats["longest_lost_run"], run)
                stats["jumps"] += int(jump)
                stats["frames"] += 1
                smoother.add(index, (det.x, det.y) if det.found else None)
                pending.append((index, frame, det, jump))
                if len(pending) > smoother.half:
                    emit()
            while pending:
                emit()
        finally:
            frames.close()  # the reader thread and ffmpeg end with the pass, also on an error
        if stats["frames"] == 0:
            raise DataError(f"{info.path}: the video holds no frames")
    qc = {
        "video": str(info.path),
        "width": info.width,
        "height": info.height,
        "fps": info.fps,
        **stats,
        "lost_fraction": stats["lost"] / stats["frames"],
        **frame_rate_summary(times, info.fps, stats["frames"]),
        "crop_side_px": side,
        "body_length_px": length,
        "polarity": "dark" if bg.polarity > 0 else "light",
        "background_noise": bg.noise,
        "background_mended_px": bg.mended_px,
        "settings": asdict(settings),
    }
    write_json(qc_out, qc)
    if figure_out:
        import pandas as pd

        from .figures import track_figure

        track_figure(figure_out, bg.full, pd.read_csv(table_out), qc)
    return qc
