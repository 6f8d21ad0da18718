"""Tracking + cropping speed and memory on 640x480 video, side by side with decoding alone.

Makes a synthetic arena video (H.264, the animal walking on a textured floor with a tether,
lighting drift and a static object), then in fresh processes: ffmpeg decoding alone (the
floor: nothing can track faster than frames arrive) and `track` (background model, finding
the animal in every frame, running-median crop centre, 50x50 crops written as it goes), on
the whole video and on its first half. Peak memory (ru_maxrss) of both lengths shows that it
does not grow with the video. Target: >= 500 frames/s on 2 cores, decoding included.

    python benchmarks/bench_track.py [--frames 3000]
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
import tempfile
import time
from pathlib import Path

SRC = Path(__file__).resolve().parents[1] / "src"
sys.path.insert(0, str(SRC))

CHILD = """
import json, resource, sys, time
sys.path.insert(0, {src!r})
from direction_tagger.videos.reader import iter_frames, video_info
from direction_tagger.videos.track import track_video
info = video_info({video!r})
start = time.perf_counter()
if {mode!r} == "decode":
    frames = sum(1 for _ in iter_frames(info))
else:
    frames = track_video(info, {out!r} + "/m.npz", {out!r} + "/t.csv", {out!r} + "/q.json")["frames"]
seconds = time.perf_counter() - start
peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
print(json.dumps({{"frames": frames, "seconds": seconds, "peak_mb": peak}}))
"""


def measure(mode: str, video: Path, out: Path) -> dict:
    code = CHILD.format(src=str(SRC), video=str(video), mode=mode, out=str(out))
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    return json.loads(done.stdout.strip().splitlines()[-1])


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--frames", type=int, default=3000)
    args = parser.parse_args()
    from direction_tagger.data.synth.arena import write_arena_video
    from direction_tagger.videos.reader import video_info

    print(f"CPU: {platform.processor() or platform.machine()}, {os.cpu_count()} cores")
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        videos = {}
        for n in (args.frames // 2, args.frames):
            start = time.perf_counter()
            videos[n] = tmp / f"arena_{n}.mp4"
            write_arena_video(videos[n], n, seed=3)
            print(
                f"made a {n}-frame 640x480 video in {time.perf_counter() - start:.0f} s", flush=True
            )
        info = video_info(videos[args.frames])
        print(f"video: {info.width}x{info.height}, {info.fps:g} fps, H.264")
        rows = {}
        for n, video in videos.items():
            for mode in ("decode", "track"):
                rows[(mode, n)] = r = measure(mode, video, tmp)
                print(f"{mode:6s} {n:6d} frames: {r['frames'] / r['seconds']:6.0f} frames/s, "
                      f"peak memory {r['peak_mb']:.0f} MB", flush=True)  # fmt: skip
        d, t = rows[("decode", args.frames)], rows[("track", args.frames)]
        print(
            f"track + crop: {t['frames'] / t['seconds']:.0f} frames/s "
            f"({(t['frames'] / t['seconds']) / (d['frames'] / d['seconds']):.2f} x decoding alone); "
            f"peak memory {rows[('track', args.frames // 2)]['peak_mb']:.0f} MB at "
            f"{args.frames // 2} frames, {t['peak_mb']:.0f} MB at {args.frames}"
        )


if __name__ == "__main__":
    main()
