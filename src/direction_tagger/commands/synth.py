"""`direction-tagger synth labelled|movie`: synthetic rats for the demo workflow and tests."""

from __future__ import annotations

import argparse

from .. import io, synth
from ..montage import save_montage

MONTAGE_FRAMES = 32


def _positive_int(text: str) -> int:
    value = int(text)
    if value <= 0:
        raise argparse.ArgumentTypeError(f"expected a positive integer, got {text}")
    return value


def _positive_float(text: str) -> float:
    value = float(text)
    if not value > 0:
        raise argparse.ArgumentTypeError(f"expected a positive number, got {text}")
    return value


def register(subparsers) -> None:
    parser = subparsers.add_parser(
        "synth",
        help="make synthetic rat frames (labelled set or movie with ground truth)",
        description="Render synthetic rats seen from above in 50x50 uint8 frames, with labels "
        "for tail base, neck and nose. The same seed always gives the same file.",
    )
    kinds = parser.add_subparsers(dest="synth_kind", required=True, metavar="KIND")

    labelled = kinds.add_parser(
        "labelled",
        help="independent labelled frames (data contract: images, locs_base/neck/head)",
        description="Write N independent labelled frames: random posture, heading, size, "
        "polarity, floor, blur, noise and distractors.",
    )
    labelled.add_argument("--n", type=_positive_int, required=True, help="number of frames")
    _common(labelled)
    labelled.set_defaults(func=run_labelled)

    movie = kinds.add_parser(
        "movie",
        help="a continuous movie of one animal, with ground-truth labels",
        description="Write a movie of one animal that walks, pauses, looks around, turns and "
        "turns around; the crop follows it. Ground truth is stored as locs_* (data contract).",
    )
    movie.add_argument("--frames", type=_positive_int, required=True, help="number of frames")
    movie.add_argument("--fps", type=_positive_float, default=30.0, help="frame rate (default: 30)")
    _common(movie)
    movie.set_defaults(func=run_movie)


def _common(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--seed", type=int, default=0, help="random seed (default: 0)")
    parser.add_argument("--out", required=True, metavar="PATH.npz", help="output .npz file")
    parser.add_argument(
        "--polarity",
        choices=["random", "light", "dark"],
        default="random",
        help="light animal on dark floor, dark on light, or random (default; per frame for "
        "labelled sets, per movie for movies)",
    )
    parser.add_argument(
        "--montage",
        metavar="PNG",
        help=f"also write a PNG of the first {MONTAGE_FRAMES} frames with their labels",
    )


def run_labelled(args) -> int:
    images, locs = synth.make_labelled_set(args.n, args.seed, polarity=args.polarity)
    io.save_labelled(args.out, images, locs)
    if args.montage:
        k = min(MONTAGE_FRAMES, len(images))
        save_montage(args.montage, images[:k], locs[:k], titles=[str(i) for i in range(k)])
    print(f"wrote {len(images)} labelled frames to {args.out}")
    return 0


def run_movie(args) -> int:
    images, locs = synth.make_movie(args.frames, args.seed, fps=args.fps, polarity=args.polarity)
    io.save_movie(args.out, images, args.fps, locs)
    if args.montage:
        k = min(MONTAGE_FRAMES, len(images))
        save_montage(args.montage, images[:k], locs[:k], titles=[f"frame {i}" for i in range(k)])
    print(f"wrote a {len(images)}-frame movie at {args.fps:g} fps to {args.out}")
    return 0
