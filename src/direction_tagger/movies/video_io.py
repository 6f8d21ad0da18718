"""Video files through imageio-ffmpeg: an atomic H.264 writer fed by a drawing function, and a
decoder (for tests and reports).

The writer pipes raw RGB frames to ffmpeg (libx264, yuv420p) from a helper thread while the
next frame is drawn, into a temporary ``.mp4`` beside the target that is renamed onto it only
when complete: if anything fails, no file is left at the target.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np


def write_video(
    path,
    n_frames: int,
    width: int,
    height: int,
    fps: float,
    draw: Callable[[np.ndarray, int], None],
    *,
    crf=20,
    preset="superfast",
    progress=True,
    desc: str | None = None,
) -> Path:
    """Encode `n_frames` frames to `path` (.mp4, H.264, yuv420p, `fps`) atomically.

    `draw(out, i)` fills `out`, a (height, width, 3) uint8 RGB buffer, with frame i (every
    pixel: buffers are reused). crf / preset: libx264 quality and speed. `desc` labels the
    progress bar (default: the file name).
    """
    import imageio_ffmpeg
    from tqdm import tqdm

    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    # ffmpeg picks the container from the suffix, so the temporary name keeps ".mp4".
    tmp = path.with_name(f".{path.stem}.tmp-{os.getpid()}.mp4")
    # Two frame buffers: one is drawn while a helper thread pipes the other to ffmpeg (the
    # pipe write releases the GIL, so drawing overlaps with waiting for the encoder).
    buffers = [np.empty((height, width, 3), np.uint8) for _ in range(2)]
    writer = imageio_ffmpeg.write_frames(
        str(tmp),
        (width, height),
        pix_fmt_in="rgb24",
        pix_fmt_out="yuv420p",
        fps=fps,
        codec="libx264",
        quality=None,
        macro_block_size=2,
        output_params=["-crf", str(crf), "-preset", preset, "-movflags", "+faststart"],
    )
    ok = False
    try:
        writer.send(None)
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
                pending = sender.submit(writer.send, out)
            if pending is not None:
                pending.result()
        ok = True
    finally:
        writer.close()  # waits for ffmpeg to finish the file
        if ok:
            os.replace(tmp, path)
        elif tmp.exists():
            tmp.unlink()
    return path


def read_video_frames(path) -> tuple[np.ndarray, float]:
    """Decode a video to (N, H, W, 3) uint8 RGB frames and its fps (for tests and reports)."""
    import imageio_ffmpeg

    reader = imageio_ffmpeg.read_frames(str(path), pix_fmt="rgb24")
    meta = reader.__next__()
    w, h = meta["size"]
    frames = [np.frombuffer(f, np.uint8).reshape(h, w, 3) for f in reader]
    return np.stack(frames) if frames else np.zeros((0, h, w, 3), np.uint8), float(meta["fps"])
