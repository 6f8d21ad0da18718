"""Live latency and causal polarity (issue #27).

1. Latency, frame available -> result sent, through the `live` command's own loop (a reader
   thread stamps each frame as it arrives, the main thread tags it and sends a UDP datagram):
   frames handed over at --fps (100) like a camera, p50 / p99 / max over --frames frames
   (10,000), for 50x50 crops and for 640x480 arena frames with tracking, each on an idle
   machine and with another process keeping one core busy. A frame is never dropped; one
   that arrives while the previous is still being tagged waits, and its wait counts.
2. Polarity: how often the live filter, for each lag k of --lags (frames a decision waits),
   disagrees with the workflow's offline polarity (the Viterbi over the whole movie, with the
   tracker's evidence and the calibrated polarity accuracy), on synthetic arena videos
   tracked and predicted as the workflow does (and on a real video with --real-video,
   measurement only); also among the frames live does not flag `polarity`, and on the
   synthetic ones how often each leaves head and tail the wrong way round against the truth.

Without a trained --run it trains its own model first (the demo's architecture,
fast_heatmap_unet, on synthetic frames, --train-steps steps; into --run when given) and
calibrates it for TTA 0 and 2.

    python benchmarks/bench_live.py [--frames 10000] [--run results/demo] [--tta 2]
                                    [--real-video VIDEO.mp4] [--lags 0,3,5,10,15]
                                    [--skip-latency] [--skip-polarity]
"""

from __future__ import annotations

import argparse
import itertools
import json
import os
import platform
import socket
import sys
import tempfile
from pathlib import Path

import numpy as np
from machine_load import Busy

SRC = Path(__file__).resolve().parents[1] / "src"
sys.path.insert(0, str(SRC))

TARGETS_MS = {"crops": (2.0, 5.0), "track": (None, 8.0)}  # p50, p99 on 2 cores, fp32


def cli(*argv) -> None:
    from direction_tagger import cli as command

    status = command.main([str(a) for a in argv])
    if status:
        raise SystemExit(f"direction-tagger {argv[0]} failed ({status})")


def make_run(folder: Path, steps: int, run: Path | None = None) -> Path:
    """A run folder (`run`, default folder/run): fast_heatmap_unet trained `steps` steps on
    synthetic frames, its calibrations for TTA 0 and 2 and its geometry reference."""
    run = run or folder / "run"
    (run / "calibration").mkdir(parents=True, exist_ok=True)
    data, split = folder / "labelled.npz", folder / "split.json"
    cli("synth", "labelled", "--n", 3000, "--seed", 1, "--out", data)
    cli("split", "--data", data, "--group-key", "frame", "--out", split)
    options = {"steps": steps, "architecture": "fast_heatmap_unet", "batch_size": 64, "lr": 0.003}
    train = ["--data", data, "--split", split, "--out", run / "model.pt"]
    cli("train", *train, "--log", folder / "log.csv", "--options", json.dumps(options))
    model = ["--model", run / "model.pt", "--data", data, "--split", split]
    for tta in (0, 2):
        cli("calibrate", *model, "--tta", tta, "--out", run / "calibration" / f"tta{tta}.json")
    cli("qc-reference", "--labelled", data, "--out", run / "label_reference.json")
    return run


def latency(tagger, tag, clip: np.ndarray, frames: int, fps: float, prepare=None) -> dict:
    """Frame available -> UDP datagram sent, through live's loop, frames paced at `fps`."""
    from direction_tagger.live.loop import run_loop
    from direction_tagger.live.sinks import UdpSink
    from direction_tagger.live.sources import paced

    receiver = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)  # never read: the kernel
    receiver.bind(("127.0.0.1", 0))  # keeps what fits and drops the rest, as a slow receiver
    sink = UdpSink(*receiver.getsockname())
    tagger.reset()
    source = itertools.islice(itertools.cycle(clip), frames)
    stats = run_loop(paced(source, fps), tag, [sink], prepare=prepare)
    sink.close()
    receiver.close()
    ms = 1e3 * np.array(stats.latency_s)
    cpu = 1e3 * np.array(stats.cpu_s)
    return {
        "results": stats.results,
        "p50_ms": float(np.percentile(ms, 50)),
        "p99_ms": float(np.percentile(ms, 99)),
        "max_ms": float(ms.max()),
        "late_share": float(np.mean(ms > 1e3 / fps)),  # still being tagged when the next came
        "deepest_queue": stats.deepest_queue,
        "cpu_p50_ms": float(np.percentile(cpu, 50)),
        "cpu_p99_ms": float(np.percentile(cpu, 99)),
    }


def latency_section(run: Path, tta, frames: int, fps: float) -> None:
    from direction_tagger import Tagger
    from direction_tagger.data.synth.arena import make_arena_video
    from direction_tagger.live.tracker import LiveTracker
    from direction_tagger.movie_store import open_movie
    from direction_tagger.videos.finder import build_background
    from direction_tagger.videos.track import TrackSettings, measure_animal

    tagger = Tagger.from_run(run, tta=tta, threads=1)
    with tempfile.TemporaryDirectory() as tmp:
        cli("synth", "movie", "--frames", 600, "--seed", 7, "--out", Path(tmp) / "m.npz")
        with open_movie(Path(tmp) / "m.npz") as movie:
            crops = movie.read(0, len(movie))
    arena = np.stack([f for f, _ in make_arena_video(600, 11)])
    samples = arena[:: len(arena) // 41][:41]
    bg = build_background(samples)
    tracker = LiveTracker(TrackSettings(smooth_window=1), bg, measure_animal(samples, bg, "clip"))
    tagger.use_tracker(tracker)
    print(f"\nLatency, frame available -> result sent (UDP), {frames} frames at {fps:g}/s, ")
    print(
        f"TTA {tagger.tta}, fp32, 1 thread; the model in onnxruntime (where installed) and, side "
        f"by side, traced by TorchScript: {tagger.model.traced is not None}"
    )
    print(
        "| input | machine | model run by | p50 ms | p99 ms | max ms | later than 1/fps "
        "| deepest queue | CPU ms per frame, p50 / p99 |"
    )
    print("|---|---|---|---|---|---|---|---|---|")
    session = tagger.model.onnx
    engines = ([("onnxruntime", session)] if session is not None else []) + [("TorchScript", None)]
    for name, tag, prepare, clip in (
        ("50x50 crop", tagger.predict_frame, None, crops),
        ("640x480 frame, tracked", tagger.tag_tracked, tagger.find, arena),
    ):
        for load in ("idle", "one core busy"):
            for engine, runs_it in engines:  # alternated: both see the same load
                tagger.model.onnx = runs_it  # None: TorchScript
                with Busy(load != "idle"):
                    r = latency(tagger, tag, clip, frames, fps, prepare)
                print(
                    f"| {name} | {load} | {engine} | {r['p50_ms']:.2f} | {r['p99_ms']:.2f} "
                    f"| {r['max_ms']:.1f} | {100 * r['late_share']:.1f} % | {r['deepest_queue']} "
                    f"| {r['cpu_p50_ms']:.2f} / {r['cpu_p99_ms']:.2f} |",
                    flush=True,
                )
    tagger.model.onnx = session
    print(
        f"targets: crops p50 <= {TARGETS_MS['crops'][0]} ms, p99 <= {TARGETS_MS['crops'][1]} ms; "
        f"tracked frames p99 <= {TARGETS_MS['track'][1]} ms"
    )


def polarity_on(tagger, video: Path, work: Path, lags, truth=None) -> dict:
    """Track and predict (the workflow's settings), then the workflow's offline polarity (the
    tracker's evidence from the track table, the calibration's polarity accuracy) and the
    live one for each lag, fed the same table row by row."""
    import pandas as pd

    from direction_tagger.io import load_movie
    from direction_tagger.movies.causal_evidence import evidence_rows
    from direction_tagger.movies.causal_polarity import apply_states, live_polarity
    from direction_tagger.movies.evidence import evidence_from_track
    from direction_tagger.movies.polarity import choose_polarity
    from direction_tagger.movies.postprocess import (
        POLARITY_MIN_CERTAINTY,
        evidence_log_odds,
        network_accuracy,
    )
    from direction_tagger.videos.crop import video_to_crop
    from direction_tagger.videos.reader import video_info
    from direction_tagger.videos.track import track_video

    track_video(video_info(video), work / "m.npz", work / "t.csv", work / "q.json")
    pred = tagger.predictor.predict(load_movie(work / "m.npz").images, tta=tagger.tta)
    p2, _ = tagger.stream.calibrated(pred.confidence, pred.spread)
    raw = pred.locs.astype(np.float64)
    table = pd.read_csv(work / "t.csv")
    times = table["time_s"].to_numpy(float)
    fps = 1.0 / float(np.median(np.diff(times)))  # as the smooth command reads it
    accuracy = network_accuracy(tagger.calibration)
    tail = ((tagger.stream.reference or {}).get("tail_root") or {}).get("accuracy")
    evidence = evidence_from_track(table, fps, tail)
    offline, certainty = choose_polarity(
        raw, p2, evidence_log_odds(raw, p2, evidence, tagger.calibration), accuracy
    )
    sure = certainty >= POLARITY_MIN_CERTAINTY  # the frames offline does not flag `polarity`
    seen = evidence_rows(table)
    out = {"frames": len(raw), "lags": {}, "wrong": {}}
    causal = {}
    for lag in lags:
        causal[lag], live_certainty = live_polarity(raw, p2, lag, fps, accuracy, tail, seen)
        differ = offline != causal[lag]
        unflagged = live_certainty >= POLARITY_MIN_CERTAINTY  # live's own `polarity` flag
        out["lags"][lag] = {
            "disagree": float(differ.mean()),
            "disagree_unflagged": float(differ[unflagged].mean()),
            "flagged": float(1 - unflagged.mean()),
            "disagree_offline_sure": float(differ[sure].mean()),
        }
    if truth is not None:
        centres, sides = table[["crop_x", "crop_y"]].to_numpy(), table["crop_side"].to_numpy()
        true = video_to_crop(truth, centres, sides)

        def wrong(states):
            locs = apply_states(raw, states)
            to_nose = np.linalg.norm(locs[:, 2] - true[:, 2], axis=-1)
            to_base = np.linalg.norm(locs[:, 2] - true[:, 0], axis=-1)
            return float(np.mean(to_base < to_nose))

        out["wrong"] = {"raw": wrong(np.zeros(len(raw), bool)), "offline": wrong(offline)}
        out["wrong"] |= {lag: wrong(states) for lag, states in causal.items()}
    return out


def polarity_section(
    run: Path, tta, videos: int, frames: int, real_video, lags, real_run=None
) -> None:
    from direction_tagger import Tagger
    from direction_tagger.data.synth.arena import write_arena_video

    tagger = Tagger.from_run(run, tta=tta, warm_up=False)
    print(
        f"\nLive vs offline polarity, TTA {tagger.tta}, by lag k (frames the decision waits). "
        "The offline polarity is the workflow's (the tracker's evidence, the calibrated "
        "polarity accuracy); live is fed the same track table frame by frame. Target: disagree "
        "on <= 1 % of frames. Also: among the frames live does not flag `polarity` "
        "(its certainty >= 0.9), the share it flags, among the frames offline is sure of, and "
        "head/tail the wrong way round against the truth (synthetic videos)"
    )
    print(
        "| video | k | disagree | ... unflagged live | flagged live | ... offline sure "
        "| wrong: raw / offline / live |"
    )
    print("|---|---|---|---|---|---|---|")

    def line(name, r):
        for lag, m in r["lags"].items():
            wrong = ""
            if r["wrong"]:
                w = r["wrong"]
                wrong = f"{100 * w['raw']:.2f} / {100 * w['offline']:.2f} / {100 * w[lag]:.2f} %"
            print(
                f"| {name} ({r['frames']}) | {lag} | {100 * m['disagree']:.2f} % "
                f"| {100 * m['disagree_unflagged']:.2f} % | {100 * m['flagged']:.1f} % "
                f"| {100 * m['disagree_offline_sure']:.2f} % | {wrong} |",
                flush=True,
            )

    with tempfile.TemporaryDirectory() as tmp:
        for k in range(videos):
            work = Path(tmp) / f"v{k}"
            work.mkdir()
            truth = write_arena_video(work / "v.mp4", frames, seed=100 + k)
            line(f"synthetic arena {k}", polarity_on(tagger, work / "v.mp4", work, lags, truth))
        if real_video:
            work = Path(tmp) / "real"
            work.mkdir()
            if real_run is not None:  # a model trained on real animals, as the user would have
                tagger = Tagger.from_run(real_run, tta=tta, warm_up=False)
            name = f"{Path(real_video).name}, model {real_run or run}"
            line(name, polarity_on(tagger, Path(real_video), work, lags))


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--frames", type=int, default=10_000, help="frames per latency run")
    parser.add_argument("--fps", type=float, default=100.0)
    parser.add_argument(
        "--run", type=Path, help="a trained run folder (default: train one; here if empty)"
    )
    parser.add_argument("--tta", type=int, default=2, help="TTA transforms (2, the workflow's)")
    parser.add_argument("--train-steps", type=int, default=600)
    parser.add_argument("--videos", type=int, default=3, help="synthetic arena videos")
    parser.add_argument("--video-frames", type=int, default=900)
    parser.add_argument("--real-video", help="also measure polarity on this video")
    parser.add_argument(
        "--real-run",
        type=Path,
        help="the run whose model tags --real-video (default: --run's, trained on synthetic "
        "rats): e.g. one trained on real mice, the path a lab with such a video takes",
    )
    parser.add_argument(
        "--lags", default="0,3,5,10,15", help="polarity look-ahead k, frames, comma-separated"
    )
    parser.add_argument("--skip-latency", action="store_true")
    parser.add_argument("--skip-polarity", action="store_true")
    args = parser.parse_args()
    print(
        f"CPU: {platform.processor() or platform.machine()}, {os.cpu_count()} cores, "
        f"load average {os.getloadavg()[0]:.1f}"
    )
    with tempfile.TemporaryDirectory() as tmp:
        run = args.run
        if run is None or not (run / "model.pt").is_file():
            run = make_run(run.parent if run else Path(tmp), args.train_steps, run)
        if not args.skip_latency:
            latency_section(run, args.tta, args.frames, args.fps)
        if not args.skip_polarity:
            lags = [int(k) for k in args.lags.split(",")]
            polarity_section(
                run, args.tta, args.videos, args.video_frames, args.real_video, lags, args.real_run
            )
        print(f"load average at the end {os.getloadavg()[0]:.1f}")


if __name__ == "__main__":
    main()
