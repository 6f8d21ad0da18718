"""Refine commands (library: refine): `refine`.

    direction-tagger refine --movie NAME PREDICTIONS.csv MOVIE.npz ...
                            --video NAME VIDEO_PREDICTIONS.csv MOVIE.npz VIDEO.mp4 ...
                            [--labelled TRAIN.npz] [--frames 20] [--scorer NAME] --out FOLDER

Chooses the frames the model most likely got wrong, unlike each other and the labelled set,
and writes them as a DeepLabCut labelled-data folder (the model's points filled in) with the
labelling page `label.html` in it.
"""

from __future__ import annotations

import re
from pathlib import Path

from .arguments import positive_int

SCORER = re.compile(r"^[A-Za-z0-9_.-]+$")


def scorer_name(text: str) -> str:
    import argparse

    if not SCORER.match(text):
        raise argparse.ArgumentTypeError(
            f"expected a name of letters, digits, _ . - (it names CollectedData_<scorer>.csv), "
            f"got {text!r}"
        )
    return text


def run_refine(args) -> int:
    from ..io import DataError
    from ..refine.extract import Source, refine_frames

    sources = [Source(name, Path(table), Path(movie)) for name, table, movie in args.movie or []]
    sources += [
        Source(name, Path(table), Path(movie), Path(video))
        for name, table, movie, video in args.video or []
    ]
    if not sources:
        raise DataError("give at least one --movie or --video: the frames to choose from")
    manifest = refine_frames(
        sources,
        args.out,
        args.frames,
        labelled=args.labelled,
        scorer=args.scorer,
        progress=not args.quiet,
    )
    movies = manifest["recording"].nunique()
    print(
        f"{args.out}: {len(manifest)} frames of {movies} movies to label; open "
        f"{Path(args.out) / 'label.html'} in a browser (or the folder in DeepLabCut)"
    )
    return 0


def register(subparsers) -> None:
    p = subparsers.add_parser(
        "refine",
        help="choose the frames worth labelling and write them with a labelling page",
        description="Score every frame of the movies by how likely the model got it wrong "
        "(calibrated P(within 2 px), head/tail certainty, QC flags), pick --frames of them "
        "spread over movies, time and appearance and unlike the labelled set, and write a "
        "DeepLabCut labelled-data folder (whole video frames for tracked videos, else the "
        "50x50 crops) with the model's points as CollectedData_<scorer>.csv, a frame list "
        "(frames.csv) and label.html, a page to correct the points offline in a browser.",
    )
    p.add_argument(
        "--movie",
        nargs=3,
        action="append",
        metavar=("NAME", "PREDICTIONS", "MOVIE"),
        help="a movie: its name, smoothed predictions CSV and frames .npz (repeatable)",
    )
    p.add_argument(
        "--video",
        nargs=4,
        action="append",
        metavar=("NAME", "PREDICTIONS", "MOVIE", "VIDEO"),
        help="a tracked video: its name, predictions in video px (to-video), the 50x50 movie "
        "track cut from it, and the video file (repeatable)",
    )
    p.add_argument(
        "--labelled", help="the labelled training set (.npz): chosen frames differ from it"
    )
    p.add_argument("--frames", type=positive_int, default=20, help="frames to choose (20)")
    p.add_argument(
        "--scorer",
        type=scorer_name,
        default="labeller",
        help="the labeller's name, DeepLabCut's scorer (CollectedData_<scorer>.csv; labeller)",
    )
    p.add_argument("--out", type=Path, help="the refine folder to write (default: ./refine)")
    p.add_argument("--quiet", action="store_true", help="no progress bar")
    p.set_defaults(
        func=run_refine,
        writes_folders=("out",),
        fill_outputs=lambda args: {"out": Path("refine")},
    )
