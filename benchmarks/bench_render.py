"""Speed of the movie steps: tagged-video rendering (target 300 frames/s at 400x400 on 2 cores)
and smoothing + QC of a long movie; with `--video`, the tagged original video too
(`render-video`, the whole frame: target 300 frames/s at 640x480), in fresh processes, and
with `--compare SRC` the same with another checkout's `src/`, side by side.

    python benchmarks/bench_render.py [--frames 2000] [--panel] [--smooth-frames 10000]
        [--video real.mp4 [--compare ../main/src]]

Synthetic data (a bright ellipse turning around the frame centre; on `--video`, marks
circling the frame); prints one line per measurement. Not a test: numbers depend on the
machine and on what else runs on it.
"""

from __future__ import annotations

import argparse
import inspect
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

from direction_tagger.device import cpu_name
from direction_tagger.movies.qc import qc_flags, qc_summary
from direction_tagger.movies.render import render_video
from direction_tagger.movies.smooth import smooth_locs

TARGET_FPS = 300.0


def synthetic_movie(m: int, fps: float = 30.0, seed: int = 0):
    """(images, locs, confidence): a rat-like blob and its tail base / neck / nose."""
    rng = np.random.default_rng(seed)
    t = np.arange(m) / fps
    heading = np.radians(40 * t + 20 * np.sin(1.3 * t))
    centre = np.stack([24.5 + 4 * np.cos(0.7 * t), 24.5 + 3 * np.sin(0.9 * t)], axis=1)
    u = np.stack([np.cos(heading), -np.sin(heading)], axis=1)
    look = heading + np.radians(35 * np.sin(2.1 * t))
    neck = centre + 7 * u
    nose = neck + 6 * np.stack([np.cos(look), -np.sin(look)], axis=1)
    locs = np.stack([centre - 7 * u, neck, nose], axis=1)
    yy, xx = np.mgrid[0:50, 0:50].astype(np.float32)
    images = np.empty((m, 50, 50), np.uint8)
    for i in range(m):  # elliptic body along the base -> neck axis, plus noise
        dx, dy = xx - centre[i, 0], yy - centre[i, 1]
        along = dx * u[i, 0] + dy * u[i, 1]
        across = -dx * u[i, 1] + dy * u[i, 0]
        body = (along / 10) ** 2 + (across / 5) ** 2 < 1
        images[i] = np.clip(40 + 130 * body + rng.normal(0, 5, (50, 50)), 0, 255)
    confidence = np.clip(0.9 + 0.1 * rng.normal(size=(m, 3)), 0, 1)
    return images, locs, confidence


def encoder_cpu() -> float:
    """CPU seconds used by finished child processes (ffmpeg): where the encoding time goes,
    less sensitive to other load on the machine than wall time."""
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def bench_render(frames: int, panel: bool, label: str = "render") -> None:
    images, locs, confidence = synthetic_movie(frames)
    flags = np.zeros(frames, bool)
    flags[::97] = True
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "bench.mp4"
        wall, cpu, enc = time.perf_counter(), time.process_time(), encoder_cpu()
        render_video(path, images, locs, confidence, 30.0, flags=flags, panel=panel, progress=False)
        wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
        enc = encoder_cpu() - enc
        size = path.stat().st_size
    fps = frames / wall
    width = 800 if panel else 400
    print(
        f"{label} {frames} frames {width}x400{' +panel' if panel else ''}: {wall:.2f} s, "
        f"{fps:.0f} frames/s = {fps / TARGET_FPS:.2f} x the {TARGET_FPS:.0f} fps target; "
        f"CPU per frame: drawing (python) {1000 * cpu / frames:.2f} ms, encoding (ffmpeg) "
        f"{1000 * enc / frames:.2f} ms, so at most {2 * frames / (cpu + enc):.0f} frames/s on "
        f"2 idle cores; {size / 1e6:.1f} MB"
    )


VIDEO_CHILD = """
import json, resource, sys, tempfile, time
import numpy as np
sys.path.insert(0, {src!r})
from direction_tagger.videos.reader import video_info
from direction_tagger.videos.render import VideoMarks, render_on_video
info = video_info({video!r})
m = info.n_frames
rng = np.random.default_rng(0)
t = np.arange(m) / info.fps
centre = np.stack([info.width / 2 + info.width / 4 * np.cos(t), info.height / 2 + info.height / 4 * np.sin(t)], 1)
locs = centre[:, None, :] + np.array([[-30.0, 0], [20, 0], [35, 5]])
marks = VideoMarks(locs, rng.uniform(0.3, 1, (m, 3)), rng.random((m, 3)) < 0.1, centre,
                   np.full(m, info.height / 2), {{"jump": rng.random(m) < 0.05}})
def cpu(who):
    r = resource.getrusage(who)
    return r.ru_utime + r.ru_stime
with tempfile.TemporaryDirectory() as tmp:
    own, kids, wall = cpu(resource.RUSAGE_SELF), cpu(resource.RUSAGE_CHILDREN), time.perf_counter()
    render_on_video(tmp + "/tagged.mp4", info, marks, progress=False)
    wall = time.perf_counter() - wall
print(json.dumps({{"frames": m, "wall": wall, "own": cpu(resource.RUSAGE_SELF) - own,
                  "ffmpeg": cpu(resource.RUSAGE_CHILDREN) - kids}}))
"""


def bench_video_render(video: Path, codes: dict[str, Path]) -> None:
    """render-video's whole-frame view of `video`, per checkout, in fresh processes."""
    rows = {}
    for name, src in codes.items():
        code = VIDEO_CHILD.format(src=str(src), video=str(video))
        done = subprocess.run(
            [sys.executable, "-c", code], capture_output=True, text=True, check=True
        )
        rows[name] = r = json.loads(done.stdout.strip().splitlines()[-1])
        print(
            f"render-video {video.name} ({name}): {r['frames'] / r['wall']:.0f} frames/s; CPU "
            f"per frame: this process {1000 * r['own'] / r['frames']:.2f} ms, ffmpeg (decoding "
            f"and encoding) {1000 * r['ffmpeg'] / r['frames']:.2f} ms",
            flush=True,
        )
    if len(rows) == 2:
        this, other = rows["this"], rows["compare"]
        print(f"render-video: this / compare = {other['wall'] / this['wall']:.2f} x frames/s")


def bench_smooth_qc(frames: int) -> None:
    _, locs, confidence = synthetic_movie(min(frames, 50), seed=1)  # images unused
    t = np.arange(frames) / 30.0
    rng = np.random.default_rng(2)
    locs = np.tile(locs, (frames // len(locs) + 1, 1, 1))[:frames]
    locs = locs + rng.normal(0, 0.3, locs.shape) + np.sin(t)[:, None, None]
    confidence = rng.uniform(0.3, 1.0, (frames, 3))
    spread = rng.uniform(0, 1.5, (frames, 3))
    wall = time.perf_counter()
    smoothed = smooth_locs(locs, confidence)
    t_smooth = time.perf_counter() - wall
    flags = qc_flags(locs, confidence, spread, 30.0)
    qc_summary(flags, locs, 30.0, smoothed=smoothed)
    wall = time.perf_counter() - wall
    print(
        f"smooth + QC {frames} frames: {wall:.3f} s (smooth {t_smooth:.3f} s), "
        f"{frames / wall:.0f} frames/s"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--frames", type=int, default=2000)
    parser.add_argument("--panel", action="store_true", help="also time the side panel")
    parser.add_argument("--smooth-frames", type=int, default=10_000)
    parser.add_argument("--video", type=Path, help="also time render-video on this video")
    parser.add_argument("--compare", type=Path, help="with --video: another checkout's src/")
    args = parser.parse_args()
    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")
    print(
        f"{cpu_name()}, {os.cpu_count()} CPUs visible, load average {load:.2f}; "
        f"libx264 preset {inspect.signature(render_video).parameters['preset'].default}"
    )
    # The first render in a process also pays for imports and the glyph atlas (~1 s of CPU,
    # matplotlib): a long movie does not notice, a 2,000-frame one does. Both are printed.
    bench_render(args.frames, panel=False, label="first render in this process:")
    bench_render(args.frames, panel=False, label="next render:")
    if args.panel:
        bench_render(args.frames, panel=True)
    bench_smooth_qc(args.smooth_frames)
    if args.video:
        src = Path(__file__).resolve().parents[1] / "src"
        codes = {"this": src} | ({"compare": args.compare.resolve()} if args.compare else {})
        bench_video_render(args.video.resolve(), codes)


if __name__ == "__main__":
    main()
