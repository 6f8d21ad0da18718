"""Read a video file as grayscale frames through ffmpeg (imageio-ffmpeg), one frame at a time:
never the whole video in memory. ffmpeg converts to grey itself (BT.601 luma), in its own
process, and a thread of ours reads its output straight into frame buffers a few frames
ahead of the caller, so decoding runs beside our work on the other core instead of taking
turns with it."""

from __future__ import annotations

import queue
import subprocess
import tempfile
import threading
from collections import deque
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ..io import DataError

# A seek costs about as much as decoding this many frames (a fresh ffmpeg each time).
SEEK_FROM = 200
# More keyframes than this x the samples wanted: keyframes are dense (an intra-only codec),
# so a seek decodes little and sampling seeks instead of reading them all.
DENSE_KEYFRAMES = 8


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


AHEAD = 8  # frames decoded ahead of the caller: enough to ride out an uneven frame


def iter_frames(
    info: VideoInfo, keep: int | None = None, ahead: int = AHEAD
) -> Iterator[np.ndarray]:
    """Every frame the file holds, (H, W) uint8, in presentation order, none invented: the
    frames imageio-ffmpeg's reader gives (the same ffmpeg command; tested), decoded up to
    `ahead` frames ahead by ffmpeg and a reader thread.

    `keep`: None, each frame is an array of its own. A number k: frames are views of a ring
    of k + ahead + 1 buffers that the reader thread fills in turn, nothing is allocated per
    frame, and a frame stays valid until k more frames have been yielded after it (the
    tracker holds the frames of its smoothing window). Either way memory is bounded by
    construction, whatever the video's length."""
    size = info.width * info.height
    ring = None if keep is None else [np.empty(size, np.uint8) for _ in range(keep + ahead + 1)]
    free: queue.Queue = queue.Queue()  # tokens: buffers (or room) the reader may fill
    for i in range(ahead + 1 if ring is None else len(ring)):
        free.put(i)
    full: queue.Queue = queue.Queue()  # (token, frame), then None at the end or an error
    log = tempfile.TemporaryFile()
    command = [_ffmpeg(), "-nostdin", "-v", "error", "-i", str(info.path)]
    command += ["-pix_fmt", "gray", "-vcodec", "rawvideo", "-f", "image2pipe", *PASSTHROUGH, "-"]
    process = subprocess.Popen(
        command, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=log, bufsize=0
    )
    stop = threading.Event()

    def read():
        try:
            while True:
                token = free.get()
                if stop.is_set():
                    return
                frame = np.empty(size, np.uint8) if ring is None else ring[token]
                got = _read_into(process.stdout, memoryview(frame))
                if got == 0 or stop.is_set():
                    break
                if got < size and not stop.is_set():
                    log.seek(0)
                    said = log.read().decode(errors="replace").strip().splitlines()
                    raise DataError(
                        f"{info.path}: the video ends inside a frame ({got} of {size} bytes)"
                        + (f"; ffmpeg: {said[-1]}" if said else "")
                    )
                full.put((token, frame))
            full.put(None)
        except BaseException as err:  # handed to the caller
            full.put(err)

    thread = threading.Thread(target=read, name="video-reader", daemon=True)
    thread.start()
    held: deque = deque()
    try:
        while True:
            item = full.get()
            if item is None:
                return
            if isinstance(item, BaseException):
                raise item
            token, frame = item
            if ring is None:
                free.put(token)  # the frame is the caller's: room for the next
            else:
                held.append(token)
            yield frame.reshape(info.height, info.width)
            if ring is not None and len(held) > keep:
                free.put(held.popleft())
    finally:  # also when the caller stops early
        stop.set()
        free.put(-1)  # wakes a reader waiting for room
        process.kill()  # a reader waiting for bytes then sees the pipe end
        thread.join()
        process.wait()
        process.stdout.close()
        log.close()


def _ffmpeg() -> str:
    import imageio_ffmpeg

    return imageio_ffmpeg.get_ffmpeg_exe()


def _read_into(stream, view: memoryview) -> int:
    """Fill `view` from a pipe (a read returns what is there: up to 64 kB); the bytes read,
    fewer only at the end of the stream."""
    got = 0
    while got < len(view):
        n = stream.readinto(view[got:])
        if not n:
            break
        got += n
    return got


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
    """`count` frames (K, H, W) spread evenly over the video: a background model for an hour
    of video without decoding the hour. Short videos are read whole; long ones give their
    keyframes (when they have `count`), else a frame at each of `count` seeks."""
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
    keyframes = _keyframes(info, count)
    if len(keyframes):
        return keyframes
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


def _keyframes(info: VideoInfo, count: int) -> np.ndarray:
    """`count` of the video's keyframes spread evenly over it, or fewer (K, H, W) when it
    does not have `count`, or has so many that seeking costs less: one ffmpeg that decodes
    keyframes only, where each seek decodes from the keyframe before it (~100 frames on a
    camera's H.264; this is 5-10 x cheaper). Memory stays within 2 x `count` frames: of the
    keyframes read, every `stride`-th is kept, the stride doubling when 2 x `count` are held."""
    none = np.empty((0, info.height, info.width), np.uint8)
    reader = _frames(info.path, input_params=["-skip_frame", "nokey"], output_params=PASSTHROUGH)
    kept, stride = [], 1
    try:
        next(reader)
        for i, buffer in enumerate(reader):
            if i == DENSE_KEYFRAMES * count:  # every frame or so a keyframe: seeks are cheap
                return none
            if i % stride == 0:
                kept.append(np.frombuffer(buffer, np.uint8).reshape(info.height, info.width))
            if len(kept) == 2 * count:
                kept, stride = kept[::2], 2 * stride
    except (OSError, RuntimeError):  # ffmpeg could not: sample by seeking instead
        return none
    finally:
        reader.close()
    if len(kept) < count:
        return none
    return np.stack([kept[i] for i in np.linspace(0, len(kept) - 1, count).round().astype(int)])


def _too_few(info: VideoInfo):
    raise DataError(f"{info.path}: fewer than 3 frames could be read (need them for a background)")
