"""`evaluate`: accuracy of a model on labelled frames it never trained on (library: evaluate)."""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np

from ..io import load_labelled
from ..originals.split import load_subset
from .arguments import add_model_options, beside
from .found import found, split_beside


def register(subparsers) -> None:
    p = subparsers.add_parser(
        "evaluate",
        help="measure a model on a labelled set",
        description="Per-keypoint px errors, PCK, direction errors, "
        "error vs confidence, worst frames.",
    )
    add_model_options(p)
    p.add_argument("--data", required=True, help="labelled set .npz")
    p.add_argument("--split", help="split JSON; evaluate only its --subset")
    p.add_argument("--subset", default="test", help="which part of --split (default: test)")
    p.add_argument("--name", default=None, help="name of this evaluation set in the report")
    p.add_argument("--metrics", help="metrics JSON to write (default: DATA_metrics.json)")
    p.add_argument("--frames", help="per-frame CSV to write (default: DATA_frames.csv)")
    p.add_argument("--figure", help="error figure PNG to write")
    p.add_argument("--worst", help="montage PNG of the worst frames to write")
    p.add_argument(
        "--calibration",
        help="calibration JSON (from `calibrate`, same --tta): adds calibrated probabilities "
        "and their reliability on these frames",
    )
    p.add_argument("--reliability", help="reliability diagram PNG to write (with --calibration)")
    p.add_argument(
        "--reference",
        help="label reference JSON (qc-reference): with it, each single-frame QC flag's "
        "precision on these frames (share of flagged frames with a keypoint > 3 px off)",
    )
    p.set_defaults(
        func=run_evaluate,
        writes=("metrics", "frames", "figure", "worst", "reliability"),
        fill_outputs=beside("data", metrics="_metrics.json", frames="_frames.csv"),
    )

    p = subparsers.add_parser(
        "calibrate",
        help="turn a model's confidence into P(error <= 2 px), fitted on validation frames",
        description="Predicts the --subset (default: val) frames of --split with --tta, and fits "
        "P(error <= R px), R = 2 and 3, on the confidence and TTA spread (see "
        "direction_tagger.evaluate.calibration).",
    )
    add_model_options(p)
    p.add_argument("--data", required=True, help="labelled set .npz")
    p.add_argument("--split", help="split JSON (default: DATA_split.json, split's default output)")
    p.add_argument("--subset", default="val", help="which part of --split (default: val)")
    p.add_argument("--out", help="calibration JSON (default: MODEL_calibration.json)")
    p.add_argument("--reliability", help="reliability diagram PNG (on the same frames) to write")
    p.set_defaults(
        func=run_calibrate,
        writes=("out", "reliability"),
        fill_inputs=found(split_beside()),
        fill_outputs=beside("model", out="_calibration.json"),
    )


def run_calibrate(args) -> int:
    from ..evaluate.calibration import (
        confidence_percentiles,
        fit_calibration,
        p_within,
        reliability,
        reliability_figure,
    )
    from ..evaluate.views import calibration_views, view_sample
    from ..io import sha256_file, write_json
    from ..movies.predict import load_predictor

    predictor, _ = load_predictor(args.model, args.device, args.threads, args.precision)
    data = load_labelled(args.data)
    idx = load_subset(args.split, args.subset, len(data), allow_empty=False)
    pred = predictor.predict(data.images[idx], tta=args.tta, progress=True)
    errors = np.linalg.norm(pred.locs - data.locs[idx], axis=-1)
    # Few frames: the slopes come from views of them and of the training frames (evaluate/
    # calibration.py); the frames themselves set the level.
    n_views, views, viewed = calibration_views(len(idx)), None, {}
    if n_views > 1:
        train = load_subset(args.split, "train", len(data))
        views = []
        for name, part in (("validation", idx), ("training", train)):
            if len(part):
                images, locs, each = view_sample(data.images[part], data.locs[part])
                views.append(view_errors(predictor, images, locs, args.tta))
                viewed[name] = {"frames": int(len(images) // each), "views_each": int(each)}
    calibration = fit_calibration(
        errors, pred.confidence, pred.spread, args.tta, views=views, n_views=n_views
    )
    calibration["viewed"] = viewed
    calibration["confidence"] = confidence_percentiles(pred.confidence)
    from ..movies.evidence import model_polarity_agreement

    calibration["polarity"] = model_polarity_agreement(pred.locs, data.locs[idx])
    calibration |= {
        "model": str(args.model),
        "model_sha256": sha256_file(args.model),
        "data": str(args.data),
        "split": str(args.split),
        "subset": args.subset,
    }
    write_json(args.out, calibration)
    if args.reliability:
        diagrams = {
            f"within {r:g} px": reliability(
                p_within(calibration, pred.confidence, pred.spread, r), errors <= r
            )
            for r in (2.0, 3.0)
        }
        reliability_figure(diagrams, args.reliability, f"calibration ({args.subset} frames)")
    shares = calibration["share_within"]
    views_text = ", ".join(
        f"{v['frames']} {k} frames x {v['views_each']}" for k, v in viewed.items()
    )
    views_text = f" (slopes from views: {views_text})" if views_text else ""
    print(
        f"calibrated on {len(idx)} {args.subset} frames{views_text} (TTA {args.tta}): "
        f"{100 * shares['2']:.1f}% of points within 2 px, {100 * shares['3']:.1f}% within 3 px"
    )
    return 0


def view_errors(predictor, images, locs, tta: int):
    """(errors px, confidences, spreads) of labelled views, as calibration fits them."""
    pred = predictor.predict(images, tta=tta, progress=True)
    return np.linalg.norm(pred.locs - locs, axis=-1), pred.confidence, pred.spread


def run_evaluate(args) -> int:
    from ..evaluate.calibration import load_calibration
    from ..evaluate.outputs import evaluate_to_files
    from ..movies.predict import load_predictor
    from ..train.model_file import require_metadata

    predictor, meta = load_predictor(args.model, args.device, args.threads, args.precision)
    require_metadata(meta, args.model, "train_mean_locs")
    data = load_labelled(args.data)
    images, locs = data.images, data.locs
    if args.split:
        idx = load_subset(args.split, args.subset, len(data), allow_empty=False)
        images, locs = images[idx], locs[idx]
    calibration = load_calibration(args.calibration, args.tta) if args.calibration else None
    pred = predictor.predict(images, tta=args.tta, progress=True)
    name = args.name or Path(args.data).stem
    extra = {"model": str(args.model), "architecture": meta["architecture"], "tta": args.tta}
    if args.reference:
        from ..evaluate.qc_precision import flag_precision, single_frame_flags
        from .movies import _read_reference

        flags = single_frame_flags(
            pred.locs, pred.confidence, pred.spread, calibration, _read_reference(args.reference)
        )
        extra["qc_flags"] = flag_precision(flags, np.linalg.norm(pred.locs - locs, axis=-1))
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
        extra=extra,
        spread=pred.spread,
        calibration=calibration,
        reliability_png=args.reliability,
    )
    k = metrics["keypoints"]
    print(
        f"{name}: median error nose {k['head']['median']:.2f} px, neck {k['neck']['median']:.2f}"
        f" px, tail base {k['base']['median']:.2f} px; body direction > 90° off in "
        f"{100 * metrics['body_direction']['share_over_90deg']:.1f}% of frames",
        file=sys.stderr,
    )
    return 0
