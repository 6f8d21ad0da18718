"""`train`, `evaluate` and `predict`: the model's life."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import numpy as np

from ..io import load_labelled, load_movie, sha256_file


def register(subparsers) -> None:
    p = subparsers.add_parser("train", help="train a model on a labelled set",
                              description="Train a keypoint model for a budget of optimiser steps; keeps "
                              "the best validation and resumes from its checkpoint when re-run.")
    p.add_argument("--data", required=True, help="labelled set .npz (data contract)")
    p.add_argument("--split", help="split JSON (from `direction-tagger split`): trains on "
                   "'train', stops early on 'val'")
    p.add_argument("--val-data", help="a separate labelled .npz for validation (instead of --split)")
    p.add_argument("--out", required=True, help="model file to write (.pt)")
    p.add_argument("--log", required=True, help="training log CSV to write")
    p.add_argument("--curves", help="training curves PNG to write")
    p.add_argument("--checkpoint", help="checkpoint for resuming, written at every validation (default: OUT.ckpt)")
    p.add_argument("--options", default="{}",
                   help="JSON object of training options (see TrainConfig), e.g. "
                   "'{\"steps\": 500, \"architecture\": \"seed_cnn\"}'")
    p.add_argument("--threads", type=int, help="CPU threads for torch (default: all cores)")
    p.set_defaults(func=run_train)

    p = subparsers.add_parser("evaluate", help="measure a model on a labelled set",
                              description="Per-keypoint px errors, PCK, direction errors, "
                              "error vs confidence, worst frames.")
    p.add_argument("--model", required=True)
    p.add_argument("--data", required=True, help="labelled set .npz")
    p.add_argument("--split", help="split JSON; evaluate only its --subset")
    p.add_argument("--subset", default="test", help="which part of --split (default: test)")
    p.add_argument("--name", default=None, help="name of this evaluation set in the report")
    p.add_argument("--metrics", required=True, help="metrics JSON to write")
    p.add_argument("--frames", required=True, help="per-frame CSV to write")
    p.add_argument("--figure", help="error figure PNG to write")
    p.add_argument("--worst", help="montage PNG of the worst frames to write")
    p.add_argument("--tta", nargs="?", type=int, const=8, default=0, metavar="N",
                   help="test-time augmentation over N dihedral transforms (alone: 8)")
    p.add_argument("--device", default="auto")
    p.set_defaults(func=run_evaluate)

    p = subparsers.add_parser("predict", help="predict keypoints for every frame of a movie",
                              description="Writes the raw per-frame table (x, y, confidence per "
                              "keypoint, directions, body length, speed).")
    p.add_argument("--model", required=True)
    p.add_argument("--movie", required=True, help="movie .npz (images, optional fps and labels)")
    p.add_argument("--out", required=True, help="raw predictions CSV to write")
    p.add_argument("--tta", nargs="?", type=int, const=8, default=0, metavar="N",
                   help="test-time augmentation over N dihedral transforms (alone: 8; 2 = the "
                   "frame and its 180° rotation)")
    p.add_argument("--batch-size", type=int, default=1024)
    p.add_argument("--device", default="auto")
    p.add_argument("--truth-metrics", help="when the movie carries labels: metrics JSON to write")
    p.set_defaults(func=run_predict)


def _subset(split_path, name):
    from ..split import load_split

    split = load_split(split_path)
    if name not in split:
        raise ValueError(f"{split_path}: no subset '{name}'; it has {sorted(split)}")
    return np.asarray(split[name], dtype=np.int64)


def run_train(args) -> int:
    from ..curves import training_curves_figure
    from ..train import TrainConfig, train

    cfg = TrainConfig.from_dict(json.loads(args.options))
    if args.threads and not cfg.threads:
        import torch

        torch.set_num_threads(args.threads)
    data = load_labelled(args.data)
    if args.split:
        train_idx = _subset(args.split, "train")
        val_idx = _subset(args.split, "val")
        val_images, val_locs = data.images[val_idx], data.locs[val_idx]
        images, locs = data.images[train_idx], data.locs[train_idx]
    elif args.val_data:
        val = load_labelled(args.val_data)
        images, locs, val_images, val_locs = data.images, data.locs, val.images, val.locs
    else:
        raise SystemExit("direction-tagger train: error: give --split or --val-data for validation")
    train(images, locs, val_images, val_locs, cfg, args.out, args.log,
          checkpoint_path=args.checkpoint, data_sha256=sha256_file(args.data))
    if args.curves:
        training_curves_figure(args.log, args.curves)
    return 0


def _load(model_path, device):
    from ..device import pick_device
    from ..predict import Predictor
    from ..train import load_model

    device = pick_device(device)
    model, meta = load_model(model_path, device)
    return Predictor(model, device), meta


def run_evaluate(args) -> int:
    from ..evaluation import evaluate_to_files

    predictor, meta = _load(args.model, args.device)
    data = load_labelled(args.data)
    images, locs = data.images, data.locs
    if args.split:
        idx = _subset(args.split, args.subset)
        images, locs = images[idx], locs[idx]
    pred = predictor.predict(images, tta=args.tta, progress=True)
    name = args.name or Path(args.data).stem
    metrics = evaluate_to_files(
        pred.locs, pred.confidence, locs, images, name, args.metrics, args.frames,
        figure_png=args.figure, worst_png=args.worst,
        baseline_locs=np.asarray(meta["train_mean_locs"]),
        extra={"model": str(args.model), "architecture": meta["architecture"], "tta": args.tta},
    )
    k = metrics["keypoints"]
    print(f"{name}: median error nose {k['head']['median']:.2f} px, neck {k['neck']['median']:.2f}"
          f" px, tail base {k['base']['median']:.2f} px; body direction > 90° off in "
          f"{100 * metrics['body_direction']['share_over_90deg']:.1f}% of frames", file=sys.stderr)
    return 0


def run_predict(args) -> int:
    from ..movie import movie_table, write_table

    predictor, meta = _load(args.model, args.device)
    movie = load_movie(args.movie)
    pred = predictor.predict(movie.images, tta=args.tta, batch_size=args.batch_size, progress=True)
    table = movie_table(pred.locs, pred.confidence, pred.spread, movie.fps,
                        truth_locs=movie.locs)
    write_table(args.out, table)
    if args.truth_metrics:
        from ..io import write_json
        from ..metrics import evaluate

        if movie.locs is None:
            write_json(args.truth_metrics, {"movie": str(args.movie), "ground_truth": False})
        else:
            metrics, _ = evaluate(pred.locs, pred.confidence, movie.locs,
                                  np.asarray(meta["train_mean_locs"]))
            write_json(args.truth_metrics, {"movie": str(args.movie), "ground_truth": True} | metrics)
    return 0
