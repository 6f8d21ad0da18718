"""Video files through imageio-ffmpeg: an atomic H.264 writer fed by a drawing function, and a
decoder (for tests and reports).

The writer pipes raw RGB frames to ffmpeg (libx264, yuv420p) from a helper thread while the
next frame is drawn, into a temporary ``.mp4`` beside the target that is renamed onto it only
when complete: if anything fails, no file is left at the target. imageio-ffmpeg does not
report how ffmpeg ended, so "complete" is read from the file itself: its MP4 boxes must fill
it exactly and hold the index (`moov`), which a full disk leaves unwritten.
"""

from __future__ import annotations

import errno
import os
import struct
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np

from ..io import scratch_path


def write_video(
    path,
    n_frames: int,
    width: int,
    height: int,
    fps: float,
    draw: Callable[[np.ndarray, int], None],
    *,
    crf=20,
    preset="ultrafast",
    progress=True,
    desc: str | None = None,
    convert: bool = True,
) -> Path:
    """Encode `n_frames` frames to `path` (.mp4, H.264, yuv420p, `fps`) atomically.

    `draw(out, i)` fills `out`, a (height, width, 3) uint8 RGB buffer, with frame i (every
    pixel: buffers are reused). crf / preset: libx264 quality and speed; CABAC entropy coding
    is on whatever the preset: with "ultrafast" it makes files as small as "superfast" (a
    third smaller than ultrafast alone) at 1.5x its speed, the encoder being most of the
    time of a render. The encoder runs on one thread while this process draws on another:
    on 2 cores x264's own threads (3 by default) fought the drawing for them, and one
    thread rendered 1.4x the frames/s (benchmarks/bench_render.py). `desc` labels the
    progress bar (default: the file name). `convert`: even-sized frames go to ffmpeg as
    yuv420p, converted here (below); False: as RGB, converted by ffmpeg (the synthetic arena
    videos, test material, keep the frames they had before).
    """
    import imageio_ffmpeg

    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    # ffmpeg picks the container from the suffix, so the temporary name keeps ".mp4".
    tmp = scratch_path(path.parent, f".{path.stem}.tmp-", ".mp4")
    # Two frame buffers: one is drawn while a helper thread pipes the other to ffmpeg (the
    # pipe write releases the GIL, so drawing overlaps with waiting for the encoder).
    buffers = [np.empty((height, width, 3), np.uint8) for _ in range(2)]
    # Even sizes: the frames go to ffmpeg as yuv420p, converted by OpenCV in the sending
    # thread beside the drawing; ffmpeg's own conversion was half the encoder's time, on
    # its one thread. (BT.601 video range both ways; a grey pixel stays the same grey.)
    convert = convert and width % 2 == 0 and height % 2 == 0
    writer = imageio_ffmpeg.write_frames(
        str(tmp),
        (width, height),
        pix_fmt_in="yuv420p" if convert else "rgb24",
        pix_fmt_out="yuv420p",
        fps=fps,
        codec="libx264",
        quality=None,
        macro_block_size=2,
        output_params=[
            *("-crf", str(crf), "-preset", preset, "-x264-params", "cabac=1", "-threads", "1"),
            *("-movflags", "+faststart"),
        ],
    )
    complete = False
    try:
        writer.send(None)
        send = writer.send
        if convert:
            import cv2

            yuv = np.empty((height * 3 // 2, width), np.uint8)

            def send(rgb):  # in the sending thread: one frame at a time
                writer.send(cv2.cvtColor(rgb, cv2.COLOR_RGB2YUV_I420, dst=yuv))

        _write_frames(send, buffers, n_frames, draw, path, progress, desc)
        writer.close()  # waits for ffmpeg to finish the file
        complete = mp4_is_complete(tmp)
    finally:
        writer.close()
        if complete:
            os.replace(tmp, path)
        elif tmp.exists():
            tmp.unlink()
    if not complete:  # ffmpeg ended without an error we could see, but left the file unfinished
        raise OSError(errno.EIO, "ffmpeg could not finish the video (is the disk full?)", str(path))
    return path


def _write_frames(send, buffers, n_frames: int, draw, path: Path, progress: bool, desc):
    """Draw each frame and send it to ffmpeg, one frame drawn while the other is sent."""
    from tqdm import tqdm

    try:
        with ThreadPoolExecutor(max_workers=1) as sender:
            pending = None
            for i in tqdm(
                range(n_frames),
                total=n_frames,
                desc=desc or path.name,
                unit="frame",
                disable=not progress,
                mininterval=1.0,
            ):
                out = buffers[i % 2]  # its previous frame (i - 2) was sent: `pending` waited
                draw(out, i)
                if pending is not None:
                    pending.result()  # re-raises a failed write
                pending = sender.submit(send, out)
            if pending is not None:
                pending.result()
    except OSError as err:  # ffmpeg stopped reading: its own message says why, on stderr
        raise OSError(
            errno.EIO, f"ffmpeg stopped while writing the video ({_first_line(err)})", str(path)
        ) from None


def _first_line(err: BaseException) -> str:
    lines = str(err).strip().splitlines()
    return lines[0] if lines else type(err).__name__


def mp4_is_complete(path) -> bool:
    """Whether an MP4 file's top-level boxes fill it exactly and include the index (`moov`)
    and the media data (`mdat`): a write cut short by a full disk fails this."""
    path = Path(path)
    size, offset, seen = path.stat().st_size, 0, set()
    with open(path, "rb") as f:
        while offset < size:
            f.seek(offset)
            header = f.read(16)
            if len(header) < 8:
                return False
            length, kind = struct.unpack(">I4s", header[:8])
            if length == 1 and len(header) == 16:  # 64-bit size follows
                length = struct.unpack(">Q", header[8:16])[0]
            elif length == 0:  # to the end of the file
                length = size - offset
            if length < 8:
                return False
            seen.add(kind)
            offset += length
    return offset == size and {b"moov", b"mdat"} <= seen


def read_video_frames(path) -> tuple[np.ndarray, float]:
    """Decode a video to (N, H, W, 3) uint8 RGB frames and its fps (for tests and reports)."""
    import imageio_ffmpeg

    reader = imageio_ffmpeg.read_frames(str(path), pix_fmt="rgb24")
    meta = reader.__next__()
    w, h = meta["size"]
    frames = [np.frombuffer(f, np.uint8).reshape(h, w, 3) for f in reader]
    return np.stack(frames) if frames else np.zeros((0, h, w, 3), np.uint8), float(meta["fps"])
