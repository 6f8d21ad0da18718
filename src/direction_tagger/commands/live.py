"""The live command (library: live, api): tag frames as they come.

    direction-tagger live --run results/demo --input VIDEO | movie.npz | /dev/video0 | -
                          [--size WxH] [--fps F] [--out LIVE.csv] [--udp HOST:PORT]
                          [--zmq tcp://HOST:PORT] [--polarity-lag K] [--max-frames N]
                          [tracking options]

Frames of 50x50 are crops and are tagged as they are; larger frames are tracked (the animal
found and cropped, live/tracker.py) unless --mode says otherwise. Results: CSV lines on
stdout (default) or in --out, and/or one JSON message per frame as a UDP datagram (--udp)
or on a ZeroMQ publisher socket (--zmq; pyzmq, the `zmq` extra, imported only then).
"""

from __future__ import annotations

import sys
from pathlib import Path

from .. import checks
from ..io import DataError
from .arguments import (
    add_crop_rule_options,
    device,
    int_in,
    non_negative_float,
    positive_float,
    positive_int,
    tta,
)


def _background(path):
    """An image of the empty arena (PNG, JPEG, ... or .npy), as grey uint8."""
    import numpy as np

    if path is None:
        return None
    if Path(path).suffix == ".npy":
        image = np.load(path, allow_pickle=False)
    else:
        import imageio.v3 as iio

        image = iio.imread(path)
    image = np.asarray(image)
    if image.ndim == 3:  # colour: BT.601 luma, as ffmpeg's grey
        image = image[..., :3] @ np.array([0.299, 0.587, 0.114])
    if image.ndim != 2:
        raise DataError(f"{path}: expected an image of the empty arena, got shape {image.shape}")
    return np.clip(np.rint(image), 0, 255).astype(np.uint8)


def _tagger(args, fps: float):
    from ..api import Tagger
    from ..videos.track import TrackSettings

    settings = TrackSettings(
        crop_side=args.crop_side,
        crop_scale=args.crop_scale,
        smooth_window=args.smooth_window,
        polarity=args.polarity,
        background_frames=args.background_frames,
    )
    options = dict(
        fps=fps,
        device=args.device,
        precision=args.precision,
        threads=args.threads,
        polarity_lag=args.polarity_lag,
        track=settings,
        background=_background(args.background),
    )
    if args.run:
        return Tagger.from_run(args.run, tta=args.tta, **options)
    if not args.model:
        raise DataError("give the model: --run RESULTS/RUN, or --model MODEL.pt")
    return Tagger(
        args.model, args.calibration, tta=args.tta, reference_path=args.reference, **options
    )


def run_live(args) -> int:
    from ..live.loop import run_loop
    from ..live.sinks import CsvSink, UdpSink, ZmqSink, import_zmq, parse_address
    from ..live.sources import open_source, paced, parse_size
    from ..live.tracker import LiveTracker

    address = parse_address(args.udp) if args.udp else None
    if args.zmq:
        import_zmq()  # missing: one line before the model is loaded
    source = open_source(args.input, parse_size(args.size), args.fps)
    tagger = _tagger(args, source.fps)
    mode = args.mode
    if mode == "auto":
        mode = "crops" if (source.width, source.height) == (50, 50) else "track"
    if mode == "crops" and (source.width, source.height) != (50, 50):
        raise DataError(
            f"{args.input}: --mode crops needs 50x50 frames, these are "
            f"{source.width}x{source.height}"
        )
    if mode == "track":
        if source.info is not None and args.background is None:
            # a file: the batch tracker's background and body length (frames spread over it)
            tagger.use_tracker(LiveTracker.from_video(source.info, tagger._track_settings))
        else:
            tagger.use_tracker(
                LiveTracker(
                    tagger._track_settings,
                    tagger._background,
                    background_every=args.background_every,
                )
            )
        tag, prepare = tagger.tag_tracked, tagger.find  # finding overlaps tagging
    else:
        tag, prepare = tagger.predict_frame, None
    sinks, out = [], None
    try:
        if args.zmq:  # bound first: a bad address leaves no empty --out behind
            zmq_sink = ZmqSink(args.zmq, args.zmq_wait)
            sinks.append(zmq_sink)
            if zmq_sink.subscribed is False:
                note = f"live: no subscriber on {args.zmq} after {args.zmq_wait:g} s"
                print(note, file=sys.stderr)
        if args.out:
            out = open(args.out, "w", newline="")
            sinks.append(CsvSink(out))
        elif address is None and not args.zmq:
            sinks.append(CsvSink(sys.stdout))
        if address is not None:
            sinks.append(UdpSink(*address))
        frames = paced(source.frames, source.fps) if args.realtime else source.frames
        stats = run_loop(frames, tag, sinks, args.max_frames, prepare, tagger.flush)
    finally:
        if out is not None:
            out.close()
        for sink in sinks:
            getattr(sink, "close", lambda: None)()
    print(f"live: {stats.summary()}", file=sys.stderr)
    return 0


def register(subparsers) -> None:
    p = subparsers.add_parser(
        "live",
        help="tag frames as they come (video file, camera, stdin), results as CSV, UDP or ZeroMQ",
        description="One frame in, its keypoints, body and head direction, calibrated P and "
        "causal QC flags out, as soon as it is tagged: one thread waits for frames, no "
        "batching, torch set up for single-frame latency. Head/tail polarity is decided "
        "causally (the offline Viterbi run forward over the same evidence), on the frame or "
        "--polarity-lag frames later. Every record has the frame's capture time and the "
        "time it was sent (seconds since the epoch).",
    )
    p.add_argument("--run", type=Path, help="a run folder (results/RUN): model, calibration")
    p.add_argument("--model", type=Path, help="model file (.pt), instead of --run")
    p.add_argument("--calibration", type=Path, help="with --model: its calibration JSON")
    p.add_argument("--reference", type=Path, help="with --model: geometry reference JSON")
    p.add_argument(
        "--input",
        required=True,
        help="a video file, a movie .npz of 50x50 crops, a camera /dev/videoN (through "
        "ffmpeg), or - for raw 8-bit grey frames on stdin (with --size)",
    )
    p.add_argument("--size", help="WIDTHxHEIGHT of raw frames on stdin (or of a camera)")
    p.add_argument(
        "--fps", type=positive_float, help="frames per second (default: the file's, else 30)"
    )
    p.add_argument(
        "--mode",
        choices=("auto", "crops", "track"),
        default="auto",
        help="crops: tag frames as they are (50x50); track: find and crop the animal first; "
        "auto: crops when the frames are 50x50 (default)",
    )
    p.add_argument("--out", type=Path, help="CSV to write (default: stdout, unless --udp)")
    p.add_argument("--udp", metavar="HOST:PORT", help="also send one JSON datagram per frame")
    p.add_argument(
        "--zmq",
        metavar="ADDRESS",
        help="also publish one JSON message per frame on a ZeroMQ PUB socket bound here "
        "(e.g. tcp://127.0.0.1:5556); needs pyzmq (pip install 'direction-tagger[zmq]')",
    )
    p.add_argument(
        "--zmq-wait",
        type=non_negative_float,
        default=0.0,
        metavar="SECONDS",
        help="wait up to this long for a subscriber before the first frame (a publisher drops "
        "what it sends before one joins); default 0",
    )
    p.add_argument(
        "--polarity-lag",
        type=int_in(0, 100),
        default=0,
        metavar="K",
        help="decide each frame's head/tail polarity K frames later, with their evidence: "
        "results come K frames (K / fps) late, and agree more often with the offline "
        "workflow's polarity (README); default 0",
    )
    p.add_argument("--max-frames", type=positive_int, help="stop after this many frames")
    p.add_argument(
        "--realtime",
        action="store_true",
        help="hand a file's frames on at its frame rate (--fps), as a camera would "
        "(default: as fast as they are tagged)",
    )
    p.add_argument(
        "--tta",
        type=tta,
        default=None,
        help="test-time augmentation transforms (default: the calibration's, else 0)",
    )
    p.add_argument("--device", type=device, default="cpu", help="cpu (default), cuda, auto")
    p.add_argument("--threads", type=positive_int, default=1, help="torch threads (1)")
    p.add_argument("--precision", choices=checks.PRECISIONS, default="fp32")
    p.add_argument(
        "--background",
        type=Path,
        help="an image (or .npy) of the empty arena; default: a file's frames spread over "
        "it, else the first frames (--background-frames, one every --background-every)",
    )
    p.add_argument("--background-frames", type=int_in(3, 1000), default=41)
    p.add_argument("--background-every", type=positive_int, default=10)
    p.add_argument("--crop-side", type=positive_float, help="crop side, video px")
    p.add_argument(
        "--smooth-window",
        type=positive_int,
        default=1,
        help="crop centre: median of the last N detections (1: each frame's own)",
    )
    add_crop_rule_options(p)
    p.set_defaults(func=run_live, writes=("out",))
