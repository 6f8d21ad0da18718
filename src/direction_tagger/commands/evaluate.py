"""`evaluate`: accuracy of a model on labelled frames it never trained on (library: evaluate)."""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np

from ..io import load_labelled
from ..originals.split import load_subset


def register(subparsers) -> None:
    p = subparsers.add_parser(
        "evaluate",
        help="measure a model on a labelled set",
        description="Per-keypoint px errors, PCK, direction errors, "
        "error vs confidence, worst frames.",
    )
    p.add_argument("--model", required=True)
    p.add_argument("--data", required=True, help="labelled set .npz")
    p.add_argument("--split", help="split JSON; evaluate only its --subset")
    p.add_argument("--subset", default="test", help="which part of --split (default: test)")
    p.add_argument("--name", default=None, help="name of this evaluation set in the report")
    p.add_argument("--metrics", required=True, help="metrics JSON to write")
    p.add_argument("--frames", required=True, help="per-frame CSV to write")
    p.add_argument("--figure", help="error figure PNG to write")
    p.add_argument("--worst", help="montage PNG of the worst frames to write")
    p.add_argument(
        "--tta",
        nargs="?",
        type=int,
        const=8,
        default=0,
        metavar="N",
        help="test-time augmentation over N dihedral transforms (alone: 8)",
    )
    p.add_argument("--device", default="auto")
    p.add_argument("--threads", type=int, help="CPU threads for torch (default: all cores)")
    p.set_defaults(func=run_evaluate)


def run_evaluate(args) -> int:
    from ..evaluate.outputs import evaluate_to_files
    from ..movies.predict import load_predictor

    predictor, meta = load_predictor(args.model, args.device, args.threads)
    data = load_labelled(args.data)
    images, locs = data.images, data.locs
    if args.split:
        idx = load_subset(args.split, args.subset)
        images, locs = images[idx], locs[idx]
    pred = predictor.predict(images, tta=args.tta, progress=True)
    name = args.name or Path(args.data).stem
    metrics = evaluate_to_files(
        pred.locs,
        pred.confidence,
        locs,
        images,
        name,
        args.metrics,
        args.frames,
        figure_png=args.figure,
        worst_png=args.worst,
        baseline_locs=np.asarray(meta["train_mean_locs"]),
        extra={"model": str(args.model), "architecture": meta["architecture"], "tta": args.tta},
    )
    k = metrics["keypoints"]
    print(
        f"{name}: median error nose {k['head']['median']:.2f} px, neck {k['neck']['median']:.2f}"
        f" px, tail base {k['base']['median']:.2f} px; body direction > 90° off in "
        f"{100 * metrics['body_direction']['share_over_90deg']:.1f}% of frames",
        file=sys.stderr,
    )
    return 0
