"""Seed recipe vs ours, side by side in one run, on the same synthetic data (2 CPU cores).

1. Accuracy for the same training work (the same number of images seen, so the result does
   not depend on how busy the machine is): the published recipe (6-conv CNN, random split,
   DataLoader batch 64, AdamW 3e-4, MultiStepLR at 70/90 %, MSE on (t-25)/25) against our
   default model and training loop; both evaluated on the same held-out frames.
2. Training throughput of the seed CNN itself: the published data path (DataLoader, batch 64)
   against ours (uint8 on the device, sliced batches, channels-last, batch 64; fp32 unless
   `--precision auto`, then bf16 where it is faster).
3. Inference frames/s: the published model as published (batch 1,024 and 64) against our
   default model as we deploy it (batch norm folded, channels-last, batch 1,024).

    python benchmarks/bench_seed_vs_ours.py --steps 2000 [--precision fp32|auto]
        [--architecture NAME] [--ours-only]

`--ours-only` trains and scores only our model (accuracy, without and with TTA): to compare
architectures side by side, run it once per architecture with `--threads 1`.
"""

from __future__ import annotations

import argparse
import json
import os
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd
import torch
from torch.utils.data import DataLoader, TensorDataset

from direction_tagger.data.synth import make_labelled_set
from direction_tagger.device import PRECISION_VARIABLE, bf16_is_fast, compute_path
from direction_tagger.evaluate.metrics import evaluate
from direction_tagger.movies.predict import Predictor
from direction_tagger.train.config import TrainConfig
from direction_tagger.train.loop import train
from direction_tagger.train.model_file import load_model
from direction_tagger.train.models import SeedCNN


def seed_recipe(images, locs, n_images: int, seed: int = 0):
    """The published training script, faithfully: random 80/20 split, DataLoader, batch 64,
    learning rate x0.1 at 70 % and 90 % of the epochs; as many epochs as it takes to see
    `n_images` training images."""
    torch.manual_seed(seed)
    x = torch.from_numpy(images).float().unsqueeze(1) / 255.0
    y = torch.from_numpy(locs.reshape(len(locs), 6)).float()
    y = (y - 25.0) / 25.0
    order = torch.randperm(len(x))
    n_train = int(0.8 * len(x))
    train_set = TensorDataset(x[order[:n_train]], y[order[:n_train]])
    loader = DataLoader(train_set, batch_size=64, shuffle=True)
    model = SeedCNN()
    opt = torch.optim.AdamW(model.parameters(), lr=3e-4)
    epochs = max(2, round(n_images / n_train))
    sched = torch.optim.lr_scheduler.MultiStepLR(
        opt, milestones=[int(0.7 * epochs), int(0.9 * epochs)], gamma=0.1
    )
    start, seen = time.monotonic(), 0
    for _ in range(epochs):
        for xb, yb in loader:
            out = model.head(model.features(xb))
            loss = torch.nn.functional.mse_loss(out, yb)
            opt.zero_grad()
            loss.backward()
            opt.step()
            seen += len(xb)
        sched.step()
    rate = seen / (time.monotonic() - start)
    model.eval()
    return model, rate, epochs


@torch.inference_mode()
def seed_predict(model, images, batch=1024):
    out = []
    for s in range(0, len(images), batch):
        xb = torch.from_numpy(images[s : s + batch]).float().unsqueeze(1) / 255.0
        out.append(model.head(model.features(xb)).view(-1, 3, 2) * 25.0 + 25.0)
    return torch.cat(out).numpy()


def report(name, pred, conf, truth):
    m, _ = evaluate(pred, conf, truth)
    row = {
        "nose_median_px": m["keypoints"]["head"]["median"],
        "tail_base_median_px": m["keypoints"]["base"]["median"],
        "neck_median_px": m["keypoints"]["neck"]["median"],
        "body_dir_p95_deg": m["body_direction"]["p95_deg"],
        "swapped_share": m["body_direction"]["share_over_90deg"],
    }
    print(f"{name:>10}: " + ", ".join(f"{k} {v:.3f}" for k, v in row.items()), flush=True)
    return row


def throughput_seed_ours(images, locs, steps: int = 300):
    """Images/s of training the seed CNN through our data path."""
    cfg = TrainConfig(
        architecture="seed_cnn",
        batch_size=64,
        steps=steps,
        lr=1e-3,
        online_augment=False,
        patience=None,
    )
    n = min(len(images), 64 * 150)
    with tempfile.TemporaryDirectory() as tmp:
        train(
            images[:n],
            locs[:n],
            images[:256],
            locs[:256],
            cfg,
            Path(tmp) / "m.pt",
            Path(tmp) / "log.csv",
        )
        log = pd.read_csv(Path(tmp) / "log.csv")
    return float(log.images_per_s.iloc[-1])  # images actually seen / wall time


def inference_fps(fn, images, repeats=3):
    fn(images[:256])
    t = time.monotonic()
    for _ in range(repeats):
        fn(images)
    return repeats * len(images) / (time.monotonic() - t)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--steps",
        type=int,
        default=2000,
        help="our training steps of 64 images; the seed recipe sees as many images",
    )
    parser.add_argument("--train-frames", type=int, default=20000)
    parser.add_argument("--test-frames", type=int, default=2000)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument(
        "--precision",
        choices=["fp32", "auto"],
        default="fp32",
        help="fp32 (every CPU; the primary figures) or auto (bf16 where it is faster)",
    )
    parser.add_argument("--architecture", default=TrainConfig().architecture, help="ours")
    parser.add_argument("--ours-only", action="store_true", help="skip the seed recipe")
    parser.add_argument("--seed", type=int, default=0, help="our training seed")
    parser.add_argument("--json", help="write the figures here too")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    os.environ[PRECISION_VARIABLE] = args.precision  # our training and inference follow it
    cpu = torch.device("cpu")
    print(f"ours: {args.architecture} on {compute_path(cpu, bf16_is_fast(cpu))}", flush=True)

    images, locs = make_labelled_set(args.train_frames, seed=11)
    test_images, test_locs = make_labelled_set(args.test_frames, seed=12)
    print(
        f"{args.train_frames} synthetic training frames, {args.test_frames} held-out; "
        f"{args.steps * 64} training images seen by each, {torch.get_num_threads()} threads",
        flush=True,
    )

    n_val = len(images) // 10
    cfg = TrainConfig(
        steps=args.steps, batch_size=64, architecture=args.architecture, seed=args.seed
    )
    with tempfile.TemporaryDirectory() as tmp:
        train(
            images[n_val:],
            locs[n_val:],
            images[:n_val],
            locs[:n_val],
            cfg,
            Path(tmp) / "ours.pt",
            Path(tmp) / "log.csv",
        )
        ours, _ = load_model(Path(tmp) / "ours.pt")
    predictor = Predictor(ours)
    pred = predictor.predict(test_images)
    ours_row = report("ours", pred.locs, pred.confidence, test_locs)
    pred_tta = predictor.predict(test_images, tta=True)
    ours_tta_row = report("ours+TTA", pred_tta.locs, pred_tta.confidence, test_locs)
    if args.ours_only:
        if args.json:
            figures = {
                "architecture": args.architecture,
                "seed": args.seed,
                "ours": ours_row,
                "ours_tta": ours_tta_row,
            }
            Path(args.json).write_text(json.dumps(figures, indent=2))
        return

    seed_model, seed_rate, seed_epochs = seed_recipe(images, locs, args.steps * 64)
    print(f"seed recipe: {seed_epochs} epochs, {seed_rate:.0f} img/s", flush=True)
    seed_row = report(
        "seed", seed_predict(seed_model, test_images), np.ones((len(test_images), 3)), test_locs
    )

    ours_rate = throughput_seed_ours(images, locs)
    print(
        f"seed CNN training: published data path {seed_rate:.0f} img/s, ours {ours_rate:.0f} img/s",
        flush=True,
    )

    bench = (
        test_images[:1024] if len(test_images) >= 1024 else np.resize(test_images, (1024, 50, 50))
    )
    fps_seed_1024 = inference_fps(lambda x: seed_predict(seed_model, x, 1024), bench)
    fps_seed_64 = inference_fps(lambda x: seed_predict(seed_model, x, 64), bench)
    fps_ours = inference_fps(lambda x: predictor.predict(x, batch_size=1024), bench)
    fps_ours_tta = inference_fps(
        lambda x: predictor.predict(x, tta=True, batch_size=1024), bench, 1
    )

    ratios = {
        "nose_median_ours/seed": ours_row["nose_median_px"] / seed_row["nose_median_px"],
        "tail_base_median_ours/seed": ours_row["tail_base_median_px"]
        / seed_row["tail_base_median_px"],
        "body_dir_p95_ours/seed": ours_row["body_dir_p95_deg"] / seed_row["body_dir_p95_deg"],
        "seed_cnn_train_rate_ours/published": ours_rate / seed_rate,
        "inference_fps_ours/seed(b1024)": fps_ours / fps_seed_1024,
    }
    print("\n=== side by side ===")
    print(
        f"inference frames/s: seed b1024 {fps_seed_1024:.0f}, seed b64 {fps_seed_64:.0f}, "
        f"ours b1024 {fps_ours:.0f}, ours+TTA b1024 {fps_ours_tta:.0f}"
    )
    for k, v in ratios.items():
        print(f"{k:>40}: {v:.3f}")
    print(
        "targets: error ratios <= 0.5, train-rate ratio >= 3, inference ratio >= 5 "
        "(and ours >= 1000 frames/s)"
    )
    if args.json:
        Path(args.json).write_text(
            json.dumps(
                {
                    "seed": seed_row,
                    "ours": ours_row,
                    "ours_tta": ours_tta_row,
                    "ratios": ratios,
                    "fps": {
                        "seed_b1024": fps_seed_1024,
                        "seed_b64": fps_seed_64,
                        "ours_b1024": fps_ours,
                        "ours_tta_b1024": fps_ours_tta,
                    },
                },
                indent=2,
            )
        )


if __name__ == "__main__":
    main()
