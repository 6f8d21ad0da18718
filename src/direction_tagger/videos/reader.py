"""Read a video file as grayscale frames through ffmpeg (imageio-ffmpeg), one frame at a time:
never the whole video in memory. ffmpeg converts to grey itself (BT.601 luma), in its own
process, so decoding runs beside our work on another core."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ..io import DataError

# A seek costs about as much as decoding this many frames (a fresh ffmpeg each time).
SEEK_FROM = 200


@dataclass
class VideoInfo:
    path: Path
    width: int
    height: int
    fps: float
    n_frames: int  # from the container's duration: an estimate (reading counts exactly)


def _frames(path: Path, input_params=None, output_params=None):
    import imageio_ffmpeg

    return imageio_ffmpeg.read_frames(
        str(path), pix_fmt="gray", bpp=1, input_params=input_params, output_params=output_params
    )


def video_info(path) -> VideoInfo:
    """Size, frame rate and (estimated) length of a video; a clear error if it is none."""
    path = Path(path)
    if not path.is_file():
        raise DataError(f"{path}: no such video file")
    reader = _frames(path)
    try:
        meta = next(reader)
    except (OSError, RuntimeError, StopIteration) as err:
        gist = (str(err).strip().splitlines() or [type(err).__name__])[-1]
        raise DataError(f"{path}: not a video ffmpeg can read ({gist})") from None
    finally:
        reader.close()
    width, height = meta["size"]
    fps = float(meta.get("fps") or 0)
    if not fps > 0:
        raise DataError(f"{path}: the video does not say its frame rate")
    duration = float(meta.get("duration") or 0)
    return VideoInfo(path, int(width), int(height), fps, max(1, round(duration * fps)))


# Every coded frame once: ffmpeg's default to a pipe is a constant rate, which repeats or
# drops frames of a variable-frame-rate video (120 coded frames became 180).
PASSTHROUGH = ["-fps_mode", "passthrough"]


def iter_frames(info: VideoInfo) -> Iterator[np.ndarray]:
    """Every frame the file holds, (H, W) uint8, in presentation order, none invented."""
    reader = _frames(info.path, output_params=PASSTHROUGH)
    try:
        next(reader)
        for buffer in reader:
            yield np.frombuffer(buffer, np.uint8).reshape(info.height, info.width)
    finally:
        reader.close()


def frame_times(path) -> np.ndarray | None:
    """Each frame's presentation time (s, the first frame at 0), read from the container's
    packets without decoding (ffmpeg's framecrc muxer); None when ffmpeg cannot say."""
    import subprocess

    import imageio_ffmpeg

    command = [imageio_ffmpeg.get_ffmpeg_exe(), "-v", "error", "-i", str(path)]
    command += ["-map", "0:v:0", "-c", "copy", "-f", "framecrc", "-"]
    try:
        listing = subprocess.run(command, capture_output=True, text=True, check=True).stdout
    except (OSError, subprocess.CalledProcessError):
        return None
    base, pts = None, []
    for line in listing.splitlines():
        if line.startswith("#tb 0:"):
            num, den = line.split(":", 1)[1].strip().split("/")
            base = int(num) / int(den)
        elif line and not line.startswith("#"):
            fields = [f.strip() for f in line.split(",")]
            if len(fields) >= 3 and fields[0] == "0":
                pts.append(int(fields[2]))
    if base is None or not pts:
        return None
    times = np.sort(np.array(pts, np.float64)) * base  # packets come in decoding order
    return times - times[0]


def frame_rate_summary(times: np.ndarray | None, fps: float, frames: int) -> dict:
    """How regular the frames are: `variable_frame_rate` when frame intervals differ by
    more than 1 % of their median (the table's time_s then follows the file, not frame/fps)."""
    if times is None or len(times) != frames or frames < 2:
        return {"variable_frame_rate": False, "times_from": "frame / fps"}
    steps = np.diff(times)
    median = float(np.median(steps))
    variable = bool(median > 0 and np.abs(steps - median).max() > 0.01 * median)
    return {
        "variable_frame_rate": variable,
        "times_from": "the file's timestamps",
        "frame_interval_s": {
            "min": float(steps.min()),
            "median": median,
            "max": float(steps.max()),
        },
        "nominal_fps": fps,
    }


def sample_frames(info: VideoInfo, count: int) -> np.ndarray:
    """`count` frames (K, H, W) spread evenly over the video, by seeking: a background model
    for an hour of video without decoding the hour. Short videos are read whole."""
    if info.n_frames <= SEEK_FROM * count:  # decoding it all is cheaper than seeking
        step = max(1, info.n_frames // count)
        select = ["-vf", f"select=not(mod(n\\,{step}))", "-fps_mode", "vfr"]
        reader = _frames(info.path, output_params=select)
        try:
            next(reader)
            out = [np.frombuffer(b, np.uint8).reshape(info.height, info.width) for b in reader]
        finally:
            reader.close()
        return np.stack(out[:count]) if len(out) >= 3 else _too_few(info)
    out = []
    for t in np.linspace(0, info.n_frames / info.fps, count + 2)[1:-1]:
        reader = _frames(
            info.path, input_params=["-ss", f"{t:.3f}"], output_params=["-frames:v", "1"]
        )
        try:
            next(reader)
            buffer = next(reader, None)
        finally:
            reader.close()
        if buffer is not None:
            out.append(np.frombuffer(buffer, np.uint8).reshape(info.height, info.width))
    return np.stack(out) if len(out) >= 3 else _too_few(info)


def _too_few(info: VideoInfo):
    raise DataError(f"{info.path}: fewer than 3 frames could be read (need them for a background)")
