"""`train`: fit a keypoint model to the training part of a split (library: train.loop), from
random weights or a start model; `pretrain`: make the start model (library: train.pretrain)."""

from __future__ import annotations

from pathlib import Path

from ..io import DataError, load_labelled, sha256_file
from ..originals.split import load_subset
from .arguments import beside, json_object, positive_int, probability
from .found import found, split_beside


def register(subparsers) -> None:
    p = subparsers.add_parser(
        "train",
        help="train a model on a labelled set",
        description="Train a keypoint model for a budget of optimiser steps; keeps "
        "the best validation and resumes from its checkpoint when re-run.",
    )
    p.add_argument("--data", required=True, help="labelled set .npz (data contract)")
    p.add_argument(
        "--split",
        help="split JSON (from `direction-tagger split`): trains on 'train', stops early on "
        "'val' (default: DATA_split.json, split's default output, when there is one)",
    )
    p.add_argument(
        "--val-data", help="a separate labelled .npz for validation (instead of --split)"
    )
    p.add_argument("--out", help="model file to write (default: DATA_model.pt)")
    p.add_argument("--log", help="training log CSV (default: DATA_training_log.csv)")
    p.add_argument("--curves", help="training curves PNG to write")
    p.add_argument(
        "--checkpoint",
        help="checkpoint for resuming, written at every validation (default: OUT.ckpt)",
    )
    p.add_argument(
        "--options",
        type=json_object,
        default={},
        help="JSON object of training options (see TrainConfig), e.g. "
        '\'{"steps": 500, "architecture": "seed_cnn"}\'',
    )
    p.add_argument(
        "--start-model",
        help="model.pt to fine-tune when the option init is 'pretrained' (the workflow passes "
        "results/pretrained/<architecture>/model.pt); init may also be a model.pt's path itself",
    )
    p.add_argument(
        "--threads", type=positive_int, help="CPU threads for torch (default: all cores)"
    )
    p.add_argument(
        "--fine-tune",
        help="fine-tune this model (.pt from `train`, same architecture) instead of starting "
        "from random weights",
    )
    p.add_argument(
        "--fine-tune-fraction",
        type=probability,
        default=0.25,
        help="with --fine-tune and no 'steps' option: train this share of the steps that "
        "model was trained for (0.25)",
    )
    p.set_defaults(
        func=run_train,
        writes=("out", "log", "curves"),
        writes_kept=("checkpoint",),
        fill_inputs=found(_split_unless_val_data),
        fill_outputs=beside("data", out="_model.pt", log="_training_log.csv"),
    )
    register_pretrain(subparsers)


def _split_unless_val_data(args) -> dict:
    """The split beside --data, unless --val-data validates instead."""
    return {} if args.val_data else split_beside(needed=False)(args)


def run_train(args) -> int:
    from ..device import pick_device, use_threads
    from ..train.config import TrainConfig
    from ..train.curves import training_curves_figure
    from ..train.loop import train

    cfg = TrainConfig.from_dict(args.options)
    try:
        pick_device(cfg.device)  # a device that is not here: say so before reading any data
    except DataError as err:
        raise DataError(f"training option 'device': {err}") from None
    if not (args.split or args.val_data):
        data = Path(args.data)
        raise DataError(
            f"{data.with_name(data.stem + '_split.json')}: not found; give --split or "
            "--val-data: training needs frames to validate on"
        )
    if not cfg.threads:
        use_threads(args.threads)
    init = None
    if args.fine_tune:  # the refine loop: whatever the option init says
        cfg, init = fine_tuning(cfg, args.fine_tune, args.fine_tune_fraction)
    data = load_labelled(args.data)
    if args.split:
        train_idx = load_subset(args.split, "train", len(data), allow_empty=False)
        val_idx = load_subset(args.split, "val", len(data), allow_empty=False)
        val_images, val_locs = data.images[val_idx], data.locs[val_idx]
        images, locs = data.images[train_idx], data.locs[train_idx]
    else:
        val = load_labelled(args.val_data)
        images, locs, val_images, val_locs = data.images, data.locs, val.images, val.locs
    train(
        images,
        locs,
        val_images,
        val_locs,
        cfg,
        args.out,
        args.log,
        checkpoint_path=args.checkpoint,
        data_sha256=sha256_file(args.data),
        start_model=args.start_model,
        fine_tune=init,
    )
    if args.curves:
        training_curves_figure(args.log, args.curves)
    return 0


def fine_tuning(cfg, path, fraction: float):
    """(the config, with its step budget when it has none, and `train`'s `init`) for
    fine-tuning the model at `path`: same architecture, a `fraction` of its budget."""
    import dataclasses
    import math

    from ..train.model_file import load_model, require_metadata

    model, meta = load_model(path)
    if (meta["architecture"], meta.get("arch_kwargs", {})) != (cfg.architecture, cfg.arch_kwargs):
        raise DataError(
            f"{path}: a {meta['architecture']} {meta.get('arch_kwargs', {})} model; the "
            f"training options say {cfg.architecture} {cfg.arch_kwargs} (fine-tuning keeps "
            "the architecture)"
        )
    budget = f"train.steps = {cfg.steps}"
    if cfg.steps is None:
        require_metadata(meta, path, "budget")
        done = int(meta["budget"]["steps"])
        cfg = dataclasses.replace(cfg, steps=max(1, math.ceil(fraction * done)))
        budget = f"{fraction:g} x the {done} steps the model was trained for = {cfg.steps}"
    init = {
        "budget": budget,
        "state": model.state_dict(),
        "path": str(path),
        "sha256": sha256_file(path),
        "steps": meta.get("steps_done"),
        "n_train": meta.get("n_train"),
    }
    return cfg, init


def register_pretrain(subparsers) -> None:
    p = subparsers.add_parser(
        "pretrain",
        help="make the pretrained start model (synthetic rats and mice)",
        description="Train an architecture from random weights on synthetic rats and mice "
        "rendered here (both polarities; looks, sizes, tails and lighting varied widely): the "
        "start model that `train` fine-tunes with the option init 'pretrained'. Nothing is "
        "downloaded.",
    )
    p.add_argument("--out", required=True, help="model file to write")
    p.add_argument("--log", help="training log CSV (default: OUT's stem + _training_log.csv)")
    p.add_argument("--checkpoint", help="checkpoint for resuming (default: OUT.ckpt)")
    p.add_argument(
        "--options",
        type=json_object,
        default={},
        help="JSON object of pretraining options (see PretrainConfig: architecture, frames, "
        "val_frames, steps, batch_size, lr, seed), e.g. '{\"steps\": 2000}'",
    )
    p.add_argument(
        "--threads", type=positive_int, help="CPU threads for torch (default: all cores)"
    )
    p.set_defaults(
        func=run_pretrain,
        writes=("out", "log"),
        writes_kept=("checkpoint",),
        fill_outputs=beside("out", log="_training_log.csv"),
    )


def run_pretrain(args) -> int:
    from ..device import use_threads
    from ..train.pretrain import PretrainConfig, pretrain

    cfg = PretrainConfig.from_dict(args.options)
    use_threads(args.threads)
    pretrain(cfg, args.out, args.log, checkpoint_path=args.checkpoint, threads=args.threads)
    return 0
