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


def iter_frames(info: VideoInfo) -> Iterator[np.ndarray]:
    """Every frame, (H, W) uint8, in order."""
    reader = _frames(info.path)
    try:
        next(reader)
        for buffer in reader:
            yield np.frombuffer(buffer, np.uint8).reshape(info.height, info.width)
    finally:
        reader.close()


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
