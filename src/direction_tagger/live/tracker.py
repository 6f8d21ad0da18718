"""Follow the animal through full video frames one frame at a time, for live use.

The batch tracker (videos/track.py) sees the whole video before it crops: its background is
made from frames spread over the video, and a frame's crop centre is the median of the raw
centres *around* it (later frames included). Live, neither is possible, so:

- the background is given (an image or frames of the empty arena, or one built from a video
  file's frames spread over it, as the batch tracker does: `from_video`), or else learnt from
  the first frames: every `background_every`-th frame until `background_frames` are in
  (spaced, so an animal that pauses a moment is not learnt as floor). Until then no result.
- the animal's body length (which sets the crop side and the finder's opening) is measured
  on those frames, or on the first `MEASURE_FRAMES` frames after a given background, unless
  the crop side and length are given.
- the crop centre is the median of the last `smooth_window` raw centres (1 by default: the
  frame's own detection). A trailing median lags a moving animal by half its window, which
  would put it off-centre in its crop; the keypoints come back in video px either way.

Finding and cropping are the batch tracker's own functions (finder.find_animal,
crop.crop_frame): with the same background, length and window 1, a frame gets the batch
tracker's crop to the last bit (tested).
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass

import numpy as np

from ..io import DataError
from ..videos.crop import crop_frame
from ..videos.finder import Background, Detection, build_background, find_animal
from ..videos.track import TrackSettings, check_crop_side, measure_animal, video_background

MEASURE_FRAMES = 15


@dataclass
class Tracked:
    """One frame's crop and where it came from (video px, pixel centres at integers)."""

    crop: np.ndarray  # (50, 50) uint8
    x: float  # crop centre
    y: float
    side: float  # crop side
    detection: Detection
    jump: bool  # the raw centre moved more than max_jump body lengths since the last one
    frame: int = -1  # the frame's index in the stream (set by Tagger.find)


def as_background(background, polarity: str = "auto") -> Background:
    """A Background from one (H, W) image of the empty arena, frames (K, H, W) of it, or a
    Background."""
    if isinstance(background, Background):
        return background
    frames = np.asarray(background)
    if frames.ndim == 2:
        if polarity == "auto":  # nothing departs from the median of one image
            raise DataError(
                "one background image cannot tell whether the animal is darker or lighter "
                "than the floor: set the polarity (dark or light)"
            )
        frames = np.stack([frames] * 3)  # one image: every sample the same (noise: its floor)
    if frames.ndim != 3 or frames.dtype != np.uint8:
        raise DataError(
            f"a background is an (H, W) or (K, H, W) uint8 image, got {frames.dtype} {frames.shape}"
        )
    return build_background(frames, polarity)


class LiveTracker:
    """`add(frame)` for each full frame (H, W) uint8 in order -> Tracked, or None while the
    background or the body length is still being learnt."""

    def __init__(
        self,
        settings: TrackSettings | None = None,
        background=None,
        length: float | None = None,
        background_every: int = 10,
    ):
        self.settings = settings or TrackSettings(smooth_window=1)
        self.background_every = max(1, int(background_every))
        self.bg = None if background is None else as_background(background, self.settings.polarity)
        self.length = None if length is None else float(length)
        self.side = None
        self._samples: list[np.ndarray] = []
        self.reset()
        if self.bg is not None and self.length is not None:
            self._ready(shape=self.bg.shape)

    @classmethod
    def from_video(cls, info, settings: TrackSettings | None = None) -> LiveTracker:
        """The batch tracker's background and body length for a video file (frames spread
        over the whole file), so that its crops are the batch tracker's."""
        from ..videos.reader import sample_frames

        settings = settings or TrackSettings(smooth_window=1)
        samples = sample_frames(info, settings.background_frames)
        bg, length = video_background(samples, settings.polarity, info.path)  # as `track`'s
        return cls(settings, bg, length)

    def reset(self) -> None:
        """A new stream of the same arena: background and length kept, the track forgotten."""
        self._centres: deque = deque(maxlen=max(1, self.settings.smooth_window))
        self._previous: tuple[float, float] | None = None
        self._last_centre: tuple[float, float] | None = None
        self._seen = 0

    @property
    def frames_seen(self) -> int:
        """Frames given since the last reset (or since the start, while learning)."""
        return self._seen

    @property
    def ready(self) -> bool:
        return self.side is not None

    def _ready(self, shape) -> None:
        s = self.settings
        height, width = shape
        side = float(s.crop_side or s.crop_scale * self.length)
        check_crop_side(side, width, height, "live video", "crop side")
        self.side = side

    def _learn(self, frame: np.ndarray) -> None:
        """Gather frames for the background and/or the body length; become ready when enough."""
        if self.bg is None:
            if self._seen % self.background_every == 0:
                self._samples.append(frame.copy())
            if len(self._samples) < self.settings.background_frames:
                return
            samples = np.stack(self._samples)
            try:  # the body length is measured below, on these or later frames
                self.bg, _ = video_background(samples, self.settings.polarity, "live video")
            except DataError:  # no animal in them yet: an unmended background, as before
                self.bg = build_background(samples, self.settings.polarity)
        else:
            self._samples.append(frame.copy())
            if len(self._samples) < MEASURE_FRAMES:
                return
        if self.length is None:
            self.length = measure_animal(np.stack(self._samples), self.bg, "live video")
        self._samples = []
        self._ready(frame.shape)

    def add(self, frame: np.ndarray) -> Tracked | None:
        frame = np.asarray(frame)
        if frame.ndim != 2 or frame.dtype != np.uint8:
            raise DataError(f"a video frame is (H, W) uint8, got {frame.dtype} {frame.shape}")
        if not self.ready:
            self._learn(frame)
            self._seen += 1
            return None
        if self._last_centre is None:
            self._last_centre = (frame.shape[1] / 2 - 0.5, frame.shape[0] / 2 - 0.5)
        self._seen += 1
        det = find_animal(frame, self.bg, self._previous, self.length)
        jump = False
        if det.found:
            if self._previous is not None:
                moved = np.hypot(det.x - self._previous[0], det.y - self._previous[1])
                jump = bool(moved > self.settings.max_jump * self.length)
            self._previous = (det.x, det.y)
        self._centres.append((det.x, det.y) if det.found else None)
        found = [c for c in self._centres if c is not None]
        if found:  # where no recent frame found the animal, the last centre holds
            self._last_centre = tuple(np.median(np.array(found), axis=0))
        x, y = self._last_centre
        return Tracked(crop_frame(frame, x, y, self.side), x, y, self.side, det, jump)
