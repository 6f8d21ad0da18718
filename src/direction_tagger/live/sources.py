"""Where live frames come from: a video file, a movie .npz of crops, a camera (through
ffmpeg), or raw frames on stdin. Each is an iterator of (H, W) uint8 frames, read one at a
time, never ahead: a frame is handed on as soon as its last byte is in."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ..io import DEFAULT_FPS, DataError


@dataclass
class Source:
    frames: Iterator[np.ndarray]
    fps: float
    width: int
    height: int
    info: object = None  # videos.reader.VideoInfo of a video file (the batch tracker's way in)


def parse_size(text: str | None) -> tuple[int, int] | None:
    """'640x480' -> (640, 480)."""
    if text is None:
        return None
    width, sep, height = text.lower().partition("x")
    if not sep or not width.isdigit() or not height.isdigit() or not int(width) or not int(height):
        raise DataError(f"--size: expected WIDTHxHEIGHT in pixels (e.g. 640x480), got {text}")
    return int(width), int(height)


def open_source(spec: str, size: tuple[int, int] | None = None, fps: float | None = None):
    """`spec`: '-' (raw grey frames on stdin, `size` needed), /dev/video* (a camera), a movie
    .npz (50x50 crops) or a video file."""
    if spec == "-":
        if size is None:
            raise DataError("--input -: raw frames on stdin need --size WIDTHxHEIGHT")
        return Source(_raw_frames(sys.stdin.buffer, *size), fps or DEFAULT_FPS, *size)
    if spec.startswith("/dev/video"):
        return _camera(spec, size, fps)
    path = Path(spec)
    if not path.is_file():
        raise DataError(f"{spec}: no such file (a video, a movie .npz, /dev/video* or -)")
    if path.suffix == ".npz":
        from ..movie_store import open_movie

        movie = open_movie(path)
        return Source(_movie_frames(movie), fps or movie.fps, 50, 50)
    from ..videos.reader import iter_frames, video_info

    info = video_info(path)
    return Source(iter_frames(info), fps or info.fps, info.width, info.height, info)


def paced(frames: Iterator[np.ndarray], fps: float) -> Iterator[np.ndarray]:
    """Frames handed on no faster than `fps`, frame i at start + i / fps, as a camera would:
    a file played in real time (a frame due while the previous is still being tagged is
    handed on at once)."""
    import time

    start = time.perf_counter()
    for index, frame in enumerate(frames):
        delay = start + index / fps - time.perf_counter()
        if delay > 0:
            time.sleep(delay)
        yield frame


def _raw_frames(stream, width: int, height: int) -> Iterator[np.ndarray]:
    """Frames of width x height bytes, back to back, until the stream ends (a cut-short last
    frame is an error: the sender and --size disagree)."""
    size = width * height
    while True:
        buffer = bytearray(size)  # a new one per frame: the previous one is still in use
        view, got = memoryview(buffer), 0
        while got < size:
            n = stream.readinto(view[got:])
            if not n:
                break
            got += n
        if got == 0:
            return
        if got < size:
            raise DataError(f"stdin: the last frame has {got} bytes; --size says {size}")
        yield np.frombuffer(buffer, np.uint8).reshape(height, width)


def _movie_frames(movie) -> Iterator[np.ndarray]:
    with movie:
        for _, chunk in movie.chunks(256):
            yield from chunk


def _camera(device: str, size, fps) -> Source:
    """A camera through ffmpeg's video4linux2 input, converted to grey by ffmpeg, with its
    input buffering off (a buffered frame is a late frame)."""
    import imageio_ffmpeg

    options = ["-f", "v4l2", "-fflags", "nobuffer"]
    if fps:
        options += ["-framerate", f"{fps:g}"]
    if size:
        options += ["-video_size", f"{size[0]}x{size[1]}"]
    reader = imageio_ffmpeg.read_frames(device, pix_fmt="gray", bpp=1, input_params=options)
    try:
        meta = next(reader)
    except (OSError, RuntimeError, StopIteration) as err:
        gist = (str(err).strip().splitlines() or [type(err).__name__])[-1]
        raise DataError(f"{device}: ffmpeg cannot read this camera ({gist})") from None
    width, height = meta["size"]

    def frames():
        try:
            for buffer in reader:
                yield np.frombuffer(buffer, np.uint8).reshape(height, width)
        finally:
            reader.close()

    return Source(frames(), float(fps or meta.get("fps") or DEFAULT_FPS), width, height)
