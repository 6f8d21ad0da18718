"""Refine commands (library: refine): `refine`, `refine-merge`.

    direction-tagger refine --movie NAME PREDICTIONS.csv MOVIE.npz ...
                            --video NAME VIDEO_PREDICTIONS.csv MOVIE.npz VIDEO.mp4 ...
                            [--labelled TRAIN.npz] [--frames 20] [--scorer NAME] --out FOLDER
    direction-tagger refine-merge --labels CollectedData_NAME.csv [--refine-folder FOLDER]
                                  [--data TRAIN.npz --split SPLIT.json]
                                  [--out MERGED.npz --split-out MERGED_SPLIT.json]

`refine` chooses the frames the model most likely got wrong, of poses that recur, unlike each
other and the labelled set, and writes them as a DeepLabCut labelled-data folder (the model's points filled in) with the
labelling page `label.html` in it; `refine-merge` joins the corrected frames to the labelled
set, with a split that adds them to the training part (then `train --fine-tune` fine-tunes).
`refine` records the labelled set and its split in the folder (refine.json), so that
`refine-merge --labels FOLDER/.../CollectedData_NAME.csv` finds the folder the labels sit in
and, through it, the run's data and split.
"""

from __future__ import annotations

import re
from pathlib import Path

from .arguments import beside, positive_int
from .found import found, recorded_path, split_beside

SCORER = re.compile(r"^[A-Za-z0-9_.-]+$")
RECORD = "refine.json"  # in the refine folder: the labelled set and split refine-merge joins


def scorer_name(text: str) -> str:
    import argparse

    if not SCORER.match(text):
        raise argparse.ArgumentTypeError(
            f"expected a name of letters, digits, _ . - (it names CollectedData_<scorer>.csv), "
            f"got {text!r}"
        )
    return text


def run_refine(args) -> int:
    from ..io import DataError, write_json
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
    write_json(Path(args.out) / RECORD, _record(args))
    movies = manifest["recording"].nunique()
    print(
        f"{args.out}: {len(manifest)} frames of {movies} movies to label; open "
        f"{Path(args.out) / 'label.html'} in a browser (or the folder in DeepLabCut)"
    )
    return 0


def _record(args) -> dict:
    """What refine-merge needs later, as absolute paths (it may run from another folder)."""

    def absolute(path):
        return None if path is None else str(Path(path).absolute())

    return {"labelled": absolute(args.labelled), "split": absolute(args.split)}


def register(subparsers) -> None:
    register_merge(subparsers)
    p = subparsers.add_parser(
        "refine",
        help="choose the frames worth labelling and write them with a labelling page",
        description="Score every frame of the movies by how likely the model got it wrong "
        "(calibrated P(within 2 px), head/tail certainty, QC flags), pick --frames of them, "
        "one from each of the groups of look-alike frames (appearance and pose) holding the "
        "most doubt, unlike the labelled set, and write a "
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
    p.add_argument(
        "--split",
        type=Path,
        help="the labelled set's split, recorded for refine-merge (default: LABELLED_split.json "
        "when there is one)",
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
        fill_inputs=found(split_beside("labelled", needed=False)),
        fill_outputs=lambda args: {"out": Path("refine")},
    )


def run_refine_merge(args) -> int:
    from ..io import write_json
    from ..refine.merge import merge_refined

    summary = merge_refined(
        args.labels, args.refine_folder, args.data, args.split, args.out, args.split_out
    )
    if args.summary:
        write_json(args.summary, summary)
    skipped = ", ".join(f"{n} {why}" for why, n in summary["skipped"].items() if n) or "none"
    print(
        f"{args.out}: {summary['labelled_frames_before']} labelled frames + "
        f"{summary['frames_added']} corrected ones of {len(summary['recordings'])} recordings "
        f"(skipped: {skipped}); split {args.split_out}"
    )
    return 0


def register_merge(subparsers) -> None:
    p = subparsers.add_parser(
        "refine-merge",
        help="join the corrected frames of a refine folder to the labelled set",
        description="Read the labels (the labelling page's CSV, or a folder of "
        "labeled-data/*/CollectedData_*.csv), crop each frame as the model saw it (the crop "
        "box in the refine folder's frames.csv), append them to the labelled set and write a "
        "split that keeps the run's validation and test frames and adds the new frames, each "
        "recording whole, to the training part.",
    )
    p.add_argument("--labels", required=True, type=Path, help="corrected labels: CSV or folder")
    p.add_argument(
        "--refine-folder",
        type=Path,
        help="the folder `refine` wrote (default: the one --labels is in)",
    )
    p.add_argument(
        "--data",
        type=Path,
        help="the run's labelled set (.npz) (default: refine's --labelled, recorded in the folder)",
    )
    p.add_argument(
        "--split",
        type=Path,
        help="the run's split JSON (default: the one recorded in the folder, else DATA_split.json)",
    )
    p.add_argument("--out", type=Path, help="merged labelled set (default: DATA_refined.npz)")
    p.add_argument(
        "--split-out", type=Path, help="its split JSON (default: DATA_refined_split.json)"
    )
    p.add_argument("--summary", type=Path, help="what was merged (.json)")
    p.set_defaults(
        func=run_refine_merge,
        writes=("out", "split_out", "summary"),
        fill_inputs=found(_folder_of_labels, _recorded_inputs, split_beside()),
        fill_outputs=beside("data", out="_refined.npz", split_out="_refined_split.json"),
    )


def _folder_of_labels(args) -> dict:
    """The refine folder the labels sit in: --labels itself or the nearest folder above it
    with a frame list (labeled-data/<movie>/CollectedData_NAME.csv -> the folder)."""
    if args.refine_folder is not None:
        return {}
    from ..refine.labelled_data import MANIFEST  # the frame list makes a folder refine's

    labels = Path(args.labels).absolute()
    for folder in [labels] + list(labels.parents):
        if (folder / MANIFEST).is_file():
            return {"refine_folder": folder}
    from ..io import DataError

    raise DataError(
        f"{args.labels}: in no refine folder (none above it holds {MANIFEST}); give --refine-folder"
    )


def _recorded_inputs(args) -> dict:
    """The labelled set and split `refine` recorded in the folder, for those not given."""
    if args.data is not None and args.split is not None:
        return {}
    from ..io import read_json

    record = Path(args.refine_folder) / RECORD
    if not record.is_file():
        from ..io import DataError

        raise DataError(
            f"{record}: not found (refine records its --labelled there); give --data and --split"
        )
    kept = read_json(record, "refine record")
    paths = {}
    if args.data is None:
        paths["data"] = recorded_path(record, "labelled", kept.get("labelled"), "data")
    if args.split is None and kept.get("split"):
        paths["split"] = recorded_path(record, "split", kept["split"], "split")
    return paths
