"""Tracking + cropping speed and memory on 640x480 video, decoding included, idle and with the
other core busy, side by side with decoding alone (and optionally with another checkout).

Makes a synthetic arena video (H.264, the animal walking on a textured floor with a tether,
lighting drift and a static object) at two lengths; `--video` adds a real one. Each
measurement runs in a fresh process: ffmpeg decoding alone (the floor: nothing tracks
faster than frames arrive) and `track` (background model, the animal found in every frame,
running-median crop centre, 50x50 crops and the track table written as it goes). Printed per
run: frames/s of the whole command and of its pass over the frames (the whole less the
set-up: sampling frames for the background, building it, measuring the animal), frames per
CPU-second (this process and ffmpeg's together), and peak memory; the two synthetic lengths
show that memory does not grow with the video. "busy": a `while True: pass` process runs
beside the measurement, holding one core. Target: >= 500 frames/s on 2 cores idle, >= 250
with the other core busy.

    python benchmarks/bench_track.py [--frames 3000] [--video real.mp4 [--repeat 10]]
                                     [--compare ../main/src]

`--repeat N` also measures the real video played N times over in one file (its coded frames
copied): as long as a session, so the set-up weighs what it does on one.

`--compare SRC` runs the same measurements with the package found in SRC (another checkout's
`src/`), alternating with this one, so both see the same load; ratios are printed.
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

from machine_load import Busy

SRC = Path(__file__).resolve().parents[1] / "src"
sys.path.insert(0, str(SRC))

CHILD = """
import json, resource, sys, time
sys.path.insert(0, {src!r})
import direction_tagger.videos.track as track
from direction_tagger.videos.reader import iter_frames, video_info

def cpu():
    own = resource.getrusage(resource.RUSAGE_SELF)
    kids = resource.getrusage(resource.RUSAGE_CHILDREN)
    return own.ru_utime + own.ru_stime + kids.ru_utime + kids.ru_stime

passes = []  # when the pass over the frames starts: the set-up is over

def timed(*args, **kwargs):
    passes.append(time.perf_counter())
    return plain(*args, **kwargs)

plain, track.iter_frames = track.iter_frames, timed
info = video_info({video!r})
cpu0, start = cpu(), time.perf_counter()
if {mode!r} == "decode":
    frames = sum(1 for _ in iter_frames(info))
else:
    frames = track.track_video(info, {out!r} + "/m.npz", {out!r} + "/t.csv", {out!r} + "/q.json")["frames"]
seconds = time.perf_counter() - start
setup = passes[0] - start if passes else 0.0
print(json.dumps({{"frames": frames, "seconds": seconds, "setup": setup, "cpu": cpu() - cpu0,
                  "peak_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}}))
"""


def measure(src: Path, mode: str, video: Path, out: Path, busy: bool) -> dict:
    code = CHILD.format(src=str(src), video=str(video), mode=mode, out=str(out))
    with Busy(busy):
        done = subprocess.run(
            [sys.executable, "-c", code], capture_output=True, text=True, check=True
        )
    return json.loads(done.stdout.strip().splitlines()[-1])


def repeat_video(video: Path, times: int, out: Path) -> None:
    """`video` N times over in one file, the coded frames copied (ffmpeg's concat demuxer):
    a long real video, to see the tracker as a session of an hour sees it (the set-up, a
    fixed cost, spread over many frames; a long video's background is sampled by seeking)."""
    import imageio_ffmpeg

    listing = out.with_suffix(".txt")
    listing.write_text(f"file '{video}'\n" * times)
    command = [imageio_ffmpeg.get_ffmpeg_exe(), "-v", "error", "-f", "concat", "-safe", "0"]
    subprocess.run(command + ["-i", str(listing), "-c", "copy", str(out)], check=True)


def line(label: str, r: dict) -> str:
    fps = r["frames"] / r["seconds"]
    text = f"{label}: {fps:6.0f} frames/s"
    if r["setup"]:
        text += f", pass {r['frames'] / (r['seconds'] - r['setup']):6.0f} frames/s"
    return text + (
        f", {r['frames'] / r['cpu']:5.0f} frames per CPU-s, peak memory {r['peak_mb']:.0f} MB"
    )


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--frames", type=int, default=3000)
    parser.add_argument("--video", type=Path, help="a real video to measure too")
    parser.add_argument("--compare", type=Path, help="another checkout's src/, side by side")
    parser.add_argument("--no-busy", action="store_true", help="idle runs only")
    parser.add_argument(
        "--repeat", type=int, default=1, help="also --video played N times over, end to end"
    )
    args = parser.parse_args()
    from direction_tagger.data.synth.arena import write_arena_video
    from direction_tagger.videos.reader import video_info

    load = os.getloadavg()
    print(
        f"CPU: {platform.processor() or platform.machine()}, {os.cpu_count()} cores; "
        f"load average {load[0]:.2f} {load[1]:.2f} {load[2]:.2f} before the runs"
    )
    codes = {"this": SRC} | ({"compare": args.compare.resolve()} if args.compare else {})
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        videos = {}
        for n in (args.frames // 2, args.frames):
            start = time.perf_counter()
            videos[f"synthetic {n}"] = tmp / f"arena_{n}.mp4"
            write_arena_video(videos[f"synthetic {n}"], n, seed=3)
            print(f"made a {n}-frame 640x480 video in {time.perf_counter() - start:.0f} s")
        if args.video:
            info = video_info(args.video)
            videos[f"{args.video.name} ({info.width}x{info.height})"] = args.video.resolve()
            if args.repeat > 1:  # a session's length: the set-up weighs as it does on one
                long = tmp / f"repeated{args.video.suffix}"
                repeat_video(args.video.resolve(), args.repeat, long)
                n = video_info(long).n_frames
                videos[f"{args.video.name} x{args.repeat} ({n} frames)"] = long
        rows = {}
        for name, video in videos.items():
            for busy in (False,) if args.no_busy else (False, True):
                state = "busy" if busy else "idle"
                r = measure(SRC, "decode", video, tmp, busy)
                print(line(f"{name:>26s} {state} decode alone      ", r), flush=True)
                for code, src in codes.items():
                    rows[(name, busy, code)] = r = measure(src, "track", video, tmp, busy)
                    print(line(f"{name:>26s} {state} track ({code:7s})  ", r), flush=True)
                if args.compare:
                    new, old = rows[(name, busy, "this")], rows[(name, busy, "compare")]
                    print(
                        f"{name:>26s} {state}: this / compare = "
                        f"{(old['seconds'] / new['seconds']):.1f} x frames/s, "
                        f"{(old['cpu'] / new['cpu']):.1f} x frames per CPU-s"
                    )
        half, full = (
            rows[(f"synthetic {args.frames // 2}", False, "this")],
            rows[(f"synthetic {args.frames}", False, "this")],
        )
        print(
            f"peak memory {half['peak_mb']:.0f} MB at {args.frames // 2} frames, "
            f"{full['peak_mb']:.0f} MB at {args.frames}"
        )
    load = os.getloadavg()
    print(f"load average {load[0]:.2f} {load[1]:.2f} {load[2]:.2f} after the runs")


if __name__ == "__main__":
    main()
