"""Training: one readable loop, every knob in `TrainConfig`.

Training length is counted in optimiser steps, never in passes over however many frames there
are, and never in wall time: 80 labelled frames and 80,000 both get a budget that suits them
(`training_budget`), and the same config gives the same model on an idle or a busy machine.
Online augmentation (random dihedral, shift, noise) does the multiplying of small sets.

The whole training set stays on the device as uint8 and batches are sliced there (no
per-sample Python, no DataLoader). Which frames form step s, and how they are augmented, is a
pure function of (seed, s), so a killed run resumes from its last checkpoint (written after
every validation) and, on CPU, ends with the same weights bit for bit.
"""

from __future__ import annotations

import csv
import dataclasses
import json
import math
import time
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from tqdm import tqdm

from .. import __version__
from ..device import bf16_is_fast, compute_path, describe, pick_device
from ..io import KEYPOINTS, DataError, atomic_path
from .budget import BatchStream, step_generator, training_budget
from .config import TrainConfig
from .model_file import save_model, start_weights
from .models import HALF, NORMALISATION, build_model, normalise_frames, output_layer


def coordinate_loss(pred: torch.Tensor, target: torch.Tensor, architecture: str) -> torch.Tensor:
    if architecture == "seed_cnn":  # the published loss: MSE on (t - 25) / 25
        return F.mse_loss((pred - HALF) / HALF, (target - HALF) / HALF)
    return (pred - target).square().sum(-1).add(1e-6).sqrt().mean()  # Euclidean px


def heatmap_regulariser(probs: torch.Tensor, target: torch.Tensor, stride: int, sigma: float):
    """Jensen-Shannon divergence between the predicted heatmaps and a Gaussian at the target
    (DSNT): keeps heatmaps unimodal, so the soft-argmax never averages nose and tail."""
    b, k, h, w = probs.shape
    xs = torch.arange(w, device=probs.device) * stride + (stride - 1) / 2
    ys = torch.arange(h, device=probs.device) * stride + (stride - 1) / 2
    gx = torch.exp(-((xs.view(1, 1, 1, w) - target[..., 0, None, None]) ** 2) / (2 * sigma**2))
    gy = torch.exp(-((ys.view(1, 1, h, 1) - target[..., 1, None, None]) ** 2) / (2 * sigma**2))
    q = gx * gy
    q = q / q.sum((2, 3), keepdim=True).clamp_min(1e-12)
    m = 0.5 * (probs + q)
    js = 0.5 * (probs * (probs.clamp_min(1e-12) / m.clamp_min(1e-12)).log()).sum((2, 3))
    js = js + 0.5 * (q * (q.clamp_min(1e-12) / m.clamp_min(1e-12)).log()).sum((2, 3))
    return js.mean()


def learning_rate(progress: float, cfg: TrainConfig) -> float:
    """Linear warm-up, then cosine decay to 0; `progress` (steps done / budget) runs 0 to 1."""
    if progress < cfg.warmup_fraction:
        return cfg.lr * max(progress / cfg.warmup_fraction, 0.01)
    rest = (progress - cfg.warmup_fraction) / max(1e-9, 1 - cfg.warmup_fraction)
    return cfg.lr * 0.5 * (1 + math.cos(math.pi * min(1.0, rest)))


def augment_batch(frames: torch.Tensor, locs: torch.Tensor, generator, cfg: TrainConfig):
    """Online augmentation on the training device: random tone, blur and walls (another
    rig's), rotation and scale, dihedral, shift and pixel noise."""
    from .augment import random_augment_batch, random_photometric, random_rotate_scale, random_walls

    frames = random_photometric(frames, generator, cfg.augment_gamma, cfg.augment_blur_px)
    frames = random_walls(frames, locs, generator, cfg.augment_walls)
    if cfg.augment_rotation_deg > 0 or cfg.augment_scale > 1:
        frames, locs = random_rotate_scale(
            frames, locs, generator, cfg.augment_rotation_deg, cfg.augment_scale
        )
    return random_augment_batch(
        frames, locs, generator, shift_px=cfg.augment_shift_px, noise_sigma=cfg.augment_noise_sigma
    )


@torch.no_grad()
def validate(model, images: torch.Tensor, locs: torch.Tensor, cfg: TrainConfig, batch: int = 1024):
    model.eval()
    losses, errors = [], []
    for start in range(0, len(images), batch):
        x = normalise_frames(images[start : start + batch]).contiguous(
            memory_format=torch.channels_last
        )
        y = locs[start : start + batch]
        with autocast(x.device, cfg):
            out = model(x)
        coords = out["coords"].float()
        losses.append(coordinate_loss(coords, y, cfg.architecture).item() * len(y))
        errors.append((coords - y).norm(dim=-1).cpu())
    model.train()
    errors = torch.cat(errors)
    return {
        "val_loss": sum(losses) / len(images),
        "val_mean_px": errors.mean().item(),
        "val_median_px": errors.median().item(),
    }


def autocast(device: torch.device, cfg: TrainConfig):
    enabled = cfg.amp and bf16_is_fast(device)
    return torch.autocast(device_type=device.type, dtype=torch.bfloat16, enabled=enabled)


def _save_checkpoint(path: Path, state: dict) -> None:
    with atomic_path(path) as tmp:
        torch.save(state, tmp)


def _load_checkpoint(path: Path, fingerprint: str) -> dict | None:
    """The checkpoint to resume from, or None. A damaged one is kept aside, not deleted."""
    if not path.exists():
        return None
    try:
        ckpt = torch.load(path, map_location="cpu", weights_only=True)
        if not isinstance(ckpt, dict):
            raise ValueError("not a checkpoint dictionary")
    except Exception as err:  # truncated, empty or foreign: start over, keep the evidence
        aside = path.with_name(path.name + ".damaged")
        path.replace(aside)
        first = (str(err).strip().splitlines() or [type(err).__name__])[0]
        print(f"{path}: damaged checkpoint ({first}); moved to {aside}, starting over", flush=True)
        return None
    if ckpt.get("fingerprint") != fingerprint:
        print(f"ignoring {path}: it belongs to another configuration", flush=True)
        return None
    return ckpt


def train(
    train_images: np.ndarray,
    train_locs: np.ndarray,
    val_images: np.ndarray,
    val_locs: np.ndarray,
    cfg: TrainConfig,
    model_path: str | Path,
    log_csv: str | Path,
    checkpoint_path: str | Path | None = None,
    data_sha256: str | None = None,
    extra_metadata: dict | None = None,
    start_model: str | Path | None = None,
    fine_tune: dict | None = None,
) -> dict:
    """Train for the step budget, keep the best validation (median px error), save it to
    `model_path`. Returns the model metadata. Resumes from `checkpoint_path` when it holds a
    run with the same configuration and data.

    `cfg.init` says where the weights start: random ("scratch"), or a model file --
    `start_model` when given (the workflow's pretrained model), else the path in `cfg.init`.
    Which one, with its sha256, goes into the metadata (`init`).

    `fine_tune` (the `refine` loop, `train --fine-tune`): start from this model instead, whatever
    `cfg.init` says -- {"state": a state_dict of the same architecture, "sha256": its file's
    checksum, "path", ...}; recorded as `fine_tuned_from` (everything but the state).
    """
    model_path, log_csv = Path(model_path), Path(log_csv)
    checkpoint_path = Path(checkpoint_path or model_path.with_suffix(".ckpt"))
    if len(train_images) == 0 or len(val_images) == 0:
        raise DataError(
            f"training needs frames to train on and to validate on; got "
            f"{len(train_images)} training and {len(val_images)} validation frames"
        )
    if cfg.threads:
        torch.set_num_threads(cfg.threads)
    device = pick_device(cfg.device)
    precision = "bf16 autocast" if cfg.amp and bf16_is_fast(device) else "fp32"
    start_state, init = None, {"choice": cfg.init, "kind": "scratch"}
    if fine_tune is not None:
        start_state = fine_tune["state"]
        init = {"choice": "fine-tune", "kind": "file"}
        init |= {k: fine_tune[k] for k in ("path", "sha256")}
    elif cfg.starts_from_model:
        if start_model is None and cfg.init == "pretrained":
            raise DataError(
                "train.init is 'pretrained': give the start model (`train --start-model`; the "
                "workflow builds it as results/pretrained/<architecture>/model.pt)"
            )
        start_state, facts = start_weights(
            start_model if start_model is not None else cfg.init, cfg.architecture, cfg.arch_kwargs
        )
        init = {"choice": cfg.init, "kind": "pretrained" if cfg.init == "pretrained" else "file"}
        init |= facts | ({"fresh_head": True} if cfg.fresh_head else {})
        print(f"starting from {facts['path']} (sha256 {facts['sha256'][:12]}...)", flush=True)
    budget = training_budget(cfg, len(train_images))
    print(f"training {cfg.architecture} on {compute_path(device, precision != 'fp32')}", flush=True)
    print(
        f"budget: {budget.steps} steps of {cfg.batch_size} frames "
        f"({budget.steps * cfg.batch_size / len(train_images):.0f} passes over "
        f"{len(train_images)} frames), validation every {budget.eval_every} steps; "
        f"{budget.reason}",
        flush=True,
    )
    torch.manual_seed(cfg.seed)

    # channels-last: oneDNN (CPU) and cuDNN (GPU) convolutions are fastest in that layout
    model = build_model(cfg.architecture, **cfg.arch_kwargs)
    if start_state is not None:
        model.load_state_dict(start_state)
        if cfg.fresh_head and fine_tune is None:
            output_layer(model).reset_parameters()  # drawn after torch.manual_seed: reproducible
    model = model.to(device, memory_format=torch.channels_last)
    optimiser = torch.optim.AdamW(model.parameters(), lr=cfg.lr, weight_decay=cfg.weight_decay)

    images = torch.from_numpy(np.ascontiguousarray(train_images)).to(device)  # uint8 on device
    locs = torch.from_numpy(np.asarray(train_locs, dtype=np.float32)).to(device)
    v_images = torch.from_numpy(np.ascontiguousarray(val_images)).to(device)
    v_locs = torch.from_numpy(np.asarray(val_locs, dtype=np.float32)).to(device)
    stream = BatchStream(len(images), cfg.batch_size, cfg.seed)

    # What the weights depend on; not the safety cap, so raising it resumes a capped run.
    shaping = {k: v for k, v in dataclasses.asdict(cfg).items() if k != "max_minutes"}
    facts = {"config": shaping, "data": data_sha256, "n_train": len(images), "n_val": len(v_images)}
    fingerprint = json.dumps(facts | {"start": init.get("sha256")}, sort_keys=True)
    history, best, step, stale, elapsed = [], None, 0, 0, 0.0
    if (ckpt := _load_checkpoint(checkpoint_path, fingerprint)) is not None:
        model.load_state_dict(ckpt["model"])
        optimiser.load_state_dict(ckpt["optimiser"])
        history, best, step = ckpt["history"], ckpt["best"], ckpt["step"]
        stale, elapsed = ckpt["stale"], ckpt["elapsed"]
        print(f"resuming from {checkpoint_path} at step {step} of {budget.steps}", flush=True)

    model.train()
    clock = time.monotonic() - elapsed  # training time across resumes, for the safety cap
    session_images, session_start = 0, time.monotonic()  # throughput of this process
    running, seen, stopped_by = 0.0, 0, "budget"
    bar = tqdm(total=budget.steps, initial=step, desc="training", unit="step", mininterval=2.0)
    while step < budget.steps:
        if cfg.patience is not None and stale >= cfg.patience:
            stopped_by = "early_stopping"
            break
        lr = learning_rate(step / budget.steps, cfg)
        for group in optimiser.param_groups:
            group["lr"] = lr
        idx = torch.from_numpy(stream.indices(step)).to(device)
        frames, target = images[idx].float(), locs[idx]
        if cfg.online_augment:
            frames, target = augment_batch(frames, target, step_generator(cfg.seed, step), cfg)
        x = normalise_frames(frames).contiguous(memory_format=torch.channels_last)
        with autocast(device, cfg):
            out = model(x)
        loss = coordinate_loss(out["coords"].float(), target, cfg.architecture)
        if "heatmaps" in out and cfg.heatmap_weight > 0:
            loss = loss + cfg.heatmap_weight * heatmap_regulariser(
                out["heatmaps"].float(), target, model.stride, cfg.heatmap_sigma_px
            )
        optimiser.zero_grad(set_to_none=True)
        loss.backward()
        optimiser.step()
        step += 1
        running += loss.item() * len(idx)
        seen += len(idx)
        session_images += len(idx)
        bar.update(1)
        bar.set_postfix(loss=f"{running / seen:.4f}", refresh=False)

        over_time = cfg.max_minutes is not None and time.monotonic() - clock > 60 * cfg.max_minutes
        if step % budget.eval_every and step < budget.steps and not over_time:
            continue
        row = {
            "step": step,
            "images_seen": step * cfg.batch_size,
            "passes": step * cfg.batch_size / len(images),
            "train_loss": running / max(1, seen),
            "lr": lr,
        }
        row |= validate(model, v_images, v_locs, cfg)
        row["seconds"] = time.monotonic() - clock
        row["images_per_s"] = session_images / max(1e-9, time.monotonic() - session_start)
        history.append(row)
        running, seen = 0.0, 0
        improved = best is None or row["val_median_px"] < best["val_median_px"]
        if improved:
            best = {
                "step": step,
                "val_median_px": row["val_median_px"],
                "state": {k: v.detach().cpu().clone() for k, v in model.state_dict().items()},
            }
        stale = 0 if improved else stale + 1
        bar.write(
            f"step {step}/{budget.steps}: train loss {row['train_loss']:.4f}, val median "
            f"{row['val_median_px']:.2f} px, mean {row['val_mean_px']:.2f} px"
            f"{' (best)' if improved else ''}, {row['images_per_s']:.0f} img/s"
        )
        _save_checkpoint(
            checkpoint_path,
            {
                "fingerprint": fingerprint,
                "step": step,
                "model": model.state_dict(),
                "optimiser": optimiser.state_dict(),
                "history": history,
                "best": best,
                "stale": stale,
                "elapsed": row["seconds"],
            },
        )
        if over_time and step < budget.steps:
            stopped_by = "max_minutes"
            print(
                f"WARNING: the safety cap train.max_minutes = {cfg.max_minutes:g} was reached "
                f"after {step} of {budget.steps} steps; keeping the best model so far",
                flush=True,
            )
            break
    bar.close()

    write_log(log_csv, history)
    metadata = {
        "architecture": cfg.architecture,
        "arch_kwargs": cfg.arch_kwargs,
        "keypoints": list(KEYPOINTS),
        "normalisation": NORMALISATION,
        "config": dataclasses.asdict(cfg),
        "init": init,
        "data_sha256": data_sha256,
        "package_version": __version__,
        "torch_version": torch.__version__,
        "device": describe(device),
        "precision": precision,
        "budget": budget.as_dict(cfg.batch_size, len(images)),
        "steps_done": step,
        "stopped_by": stopped_by,
        "best_step": best["step"] if best else None,
        "val_median_px": best["val_median_px"] if best else None,
        "train_mean_locs": np.asarray(train_locs, dtype=np.float64).mean(0).tolist(),
        "n_train": len(images),
        "n_val": len(v_images),
    }
    if fine_tune is not None:
        metadata["fine_tuned_from"] = {k: v for k, v in fine_tune.items() if k != "state"}
    metadata |= extra_metadata or {}
    save_model(model_path, best["state"] if best else model.state_dict(), metadata)
    return metadata


def write_log(path: Path, history: list[dict]) -> None:
    fields = [
        "step",
        "images_seen",
        "passes",
        "train_loss",
        "val_loss",
        "val_mean_px",
        "val_median_px",
        "lr",
        "seconds",
        "images_per_s",
    ]
    with atomic_path(path) as tmp, open(tmp, "w", newline="") as f:
        writer = csv.DictWriter(f, fieldnames=fields, extrasaction="ignore")
        writer.writeheader()
        writer.writerows(history)
