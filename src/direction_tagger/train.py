"""Training: one readable loop, every knob in `TrainConfig`.

The whole training set stays on the device as uint8 and batches are sliced there (no
per-sample Python, no DataLoader). Each epoch ends with a validation pass and an atomic
checkpoint (model, optimiser, schedule, RNG state), so a killed run resumes at its last
completed epoch and, on CPU, ends with the same weights bit for bit.
"""

from __future__ import annotations

import csv
import dataclasses
import json
import math
import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from tqdm import tqdm

from . import __version__
from .device import bf16_is_fast, describe, pick_device
from .io import KEYPOINTS, DataError, atomic_path
from .models import HALF, NORMALISATION, build_model, normalise_frames


@dataclass
class TrainConfig:
    architecture: str = "heatmap_unet"
    arch_kwargs: dict = field(default_factory=dict)
    epochs: int = 30
    batch_size: int = 256
    lr: float = 3e-3
    weight_decay: float = 1e-4
    warmup_fraction: float = 0.05  # of all steps, then cosine decay to 0
    patience: int = 8  # epochs without validation improvement before stopping early
    max_minutes: float | None = None  # stop after this wall-clock budget (keeps best so far)
    seed: int = 0
    device: str = "auto"
    threads: int | None = None
    online_augment: bool = True
    augment_shift_px: int = 2
    augment_noise_sigma: float = 4.0  # grey levels
    heatmap_sigma_px: float = 1.5  # width of the target for the heatmap regulariser
    heatmap_weight: float = 1.0
    amp: bool = True  # bf16 autocast where it is fast (CUDA, CPUs with native bf16)

    @classmethod
    def from_dict(cls, values: dict) -> "TrainConfig":
        known = {f.name for f in dataclasses.fields(cls)}
        unknown = sorted(set(values) - known)
        if unknown:
            raise ValueError(f"unknown training option(s) {unknown}; known: {sorted(known)}")
        return cls(**values)


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
    """Linear warm-up, then cosine decay to 0; `progress` runs from 0 to 1 over training."""
    if progress < cfg.warmup_fraction:
        return cfg.lr * max(progress / cfg.warmup_fraction, 0.01)
    rest = (progress - cfg.warmup_fraction) / max(1e-9, 1 - cfg.warmup_fraction)
    return cfg.lr * 0.5 * (1 + math.cos(math.pi * min(1.0, rest)))


def training_progress(step: int, total_steps: int, seconds: float, cfg: TrainConfig) -> float:
    """How far training is, 0 to 1: by steps, or by the time budget if that runs out first
    (so a time-limited run still ends with a fully decayed learning rate)."""
    progress = step / total_steps
    if cfg.max_minutes:
        progress = max(progress, seconds / (60 * cfg.max_minutes))
    return min(progress, 1.0)


def augment_batch(frames: torch.Tensor, locs: torch.Tensor, generator, cfg: TrainConfig):
    """Online augmentation on the training device: random dihedral, shift and pixel noise."""
    from .augment_torch import random_augment_batch

    return random_augment_batch(
        frames, locs, generator, shift_px=cfg.augment_shift_px, noise_sigma=cfg.augment_noise_sigma
    )


@torch.no_grad()
def validate(model, images: torch.Tensor, locs: torch.Tensor, cfg: TrainConfig, batch: int = 1024):
    model.eval()
    losses, errors = [], []
    for start in range(0, len(images), batch):
        x = normalise_frames(images[start : start + batch]).contiguous(memory_format=torch.channels_last)
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


def _rng_state(generator: torch.Generator) -> dict:
    state = {"generator": generator.get_state(), "torch": torch.get_rng_state()}
    if torch.cuda.is_available():
        state["cuda"] = torch.cuda.get_rng_state_all()
    return state


def _save_checkpoint(path: Path, state: dict) -> None:
    with atomic_path(path) as tmp:
        torch.save(state, tmp)


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
) -> dict:
    """Train, keep the best epoch by validation median px error, save it to `model_path`.

    Returns the model metadata. Resumes from `checkpoint_path` when it holds a run with the
    same configuration and data.
    """
    model_path, log_csv = Path(model_path), Path(log_csv)
    checkpoint_path = Path(checkpoint_path or model_path.with_suffix(".ckpt"))
    if cfg.threads:
        torch.set_num_threads(cfg.threads)
    device = pick_device(cfg.device)
    precision = "bf16 autocast" if cfg.amp and bf16_is_fast(device) else "fp32"
    print(f"training {cfg.architecture} on {describe(device)}, {precision}", flush=True)
    torch.manual_seed(cfg.seed)
    generator = torch.Generator(device="cpu").manual_seed(cfg.seed)

    # channels-last: oneDNN (CPU) and cuDNN (GPU) convolutions are fastest in that layout
    model = build_model(cfg.architecture, **cfg.arch_kwargs).to(device, memory_format=torch.channels_last)
    optimiser = torch.optim.AdamW(model.parameters(), lr=cfg.lr, weight_decay=cfg.weight_decay)

    images = torch.from_numpy(np.ascontiguousarray(train_images)).to(device)  # uint8 on device
    locs = torch.from_numpy(np.asarray(train_locs, dtype=np.float32)).to(device)
    v_images = torch.from_numpy(np.ascontiguousarray(val_images)).to(device)
    v_locs = torch.from_numpy(np.asarray(val_locs, dtype=np.float32)).to(device)
    steps_per_epoch = max(1, len(images) // cfg.batch_size)
    total_steps = steps_per_epoch * cfg.epochs

    fingerprint = json.dumps({"config": dataclasses.asdict(cfg), "data": data_sha256,
                              "n_train": len(images), "n_val": len(v_images)}, sort_keys=True)
    history, best, start_epoch, stale, elapsed = [], None, 0, 0, 0.0
    if checkpoint_path.exists():
        ckpt = torch.load(checkpoint_path, map_location="cpu", weights_only=True)
        if ckpt.get("fingerprint") == fingerprint:
            model.load_state_dict(ckpt["model"])
            optimiser.load_state_dict(ckpt["optimiser"])
            generator.set_state(ckpt["rng"]["generator"])
            torch.set_rng_state(ckpt["rng"]["torch"])
            if "cuda" in ckpt["rng"] and torch.cuda.is_available():
                torch.cuda.set_rng_state_all(ckpt["rng"]["cuda"])
            history, best = ckpt["history"], ckpt["best"]
            start_epoch, stale, elapsed = ckpt["epoch"] + 1, ckpt["stale"], ckpt["elapsed"]
            print(f"resuming from {checkpoint_path} at epoch {start_epoch + 1}", flush=True)
        else:
            print(f"ignoring {checkpoint_path}: it belongs to another configuration", flush=True)

    model.train()
    clock = time.monotonic() - elapsed
    session_images, session_start = 0, time.monotonic()  # throughput of this process
    for epoch in range(start_epoch, cfg.epochs):
        if stale >= cfg.patience:
            break
        if training_progress(epoch * steps_per_epoch, total_steps, time.monotonic() - clock, cfg) >= 1:
            print(f"time budget of {cfg.max_minutes} min reached; stopping", flush=True)
            break
        order = torch.randperm(len(images), generator=generator).to(device)
        running, seen = 0.0, 0
        bar = tqdm(range(steps_per_epoch), desc=f"epoch {epoch + 1}/{cfg.epochs}", leave=False,
                   mininterval=2.0)
        for step_in_epoch in bar:
            step = epoch * steps_per_epoch + step_in_epoch
            progress = training_progress(step, total_steps, time.monotonic() - clock, cfg)
            if progress >= 1 and step_in_epoch > 0:
                break  # time budget spent: validate what we have
            lr = learning_rate(progress, cfg)
            for group in optimiser.param_groups:
                group["lr"] = lr
            idx = order[step_in_epoch * cfg.batch_size : (step_in_epoch + 1) * cfg.batch_size]
            frames, target = images[idx].float(), locs[idx]
            if cfg.online_augment:
                frames, target = augment_batch(frames, target, generator, cfg)
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
            running += loss.item() * len(idx)
            seen += len(idx)
            session_images += len(idx)
            bar.set_postfix(loss=f"{running / seen:.4f}")

        row = {"epoch": epoch + 1, "train_loss": running / max(1, seen), "lr": lr}
        row |= validate(model, v_images, v_locs, cfg)
        row["seconds"] = time.monotonic() - clock
        row["images_per_s"] = session_images / max(1e-9, time.monotonic() - session_start)
        history.append(row)
        improved = best is None or row["val_median_px"] < best["val_median_px"]
        if improved:
            best = {"epoch": row["epoch"], "val_median_px": row["val_median_px"],
                    "state": {k: v.detach().cpu().clone() for k, v in model.state_dict().items()}}
        stale = 0 if improved else stale + 1
        print(
            f"epoch {row['epoch']}: train loss {row['train_loss']:.4f}, val median "
            f"{row['val_median_px']:.2f} px, mean {row['val_mean_px']:.2f} px"
            f"{' (best)' if improved else ''}, {row['images_per_s']:.0f} img/s",
            flush=True,
        )
        _save_checkpoint(checkpoint_path, {
            "fingerprint": fingerprint, "epoch": epoch, "model": model.state_dict(),
            "optimiser": optimiser.state_dict(), "rng": _rng_state(generator),
            "history": history, "best": best, "stale": stale, "elapsed": row["seconds"],
        })

    write_log(log_csv, history)
    metadata = {
        "architecture": cfg.architecture,
        "arch_kwargs": cfg.arch_kwargs,
        "keypoints": list(KEYPOINTS),
        "normalisation": NORMALISATION,
        "config": dataclasses.asdict(cfg),
        "data_sha256": data_sha256,
        "package_version": __version__,
        "torch_version": torch.__version__,
        "device": describe(device),
        "best_epoch": best["epoch"] if best else None,
        "val_median_px": best["val_median_px"] if best else None,
        "train_mean_locs": np.asarray(train_locs, dtype=np.float64).mean(0).tolist(),
        "n_train": len(images),
        "n_val": len(v_images),
    } | (extra_metadata or {})
    save_model(model_path, best["state"] if best else model.state_dict(), metadata)
    return metadata


def write_log(path: Path, history: list[dict]) -> None:
    fields = ["epoch", "train_loss", "val_loss", "val_mean_px", "val_median_px", "lr", "seconds",
              "images_per_s"]
    with atomic_path(path) as tmp, open(tmp, "w", newline="") as f:
        writer = csv.DictWriter(f, fieldnames=fields, extrasaction="ignore")
        writer.writeheader()
        writer.writerows(history)


def save_model(path: str | Path, state_dict: dict, metadata: dict) -> None:
    """Weights as a state_dict plus JSON-able metadata: loadable with weights_only=True."""
    # Round-trip through JSON: plain types only (weights_only loading refuses anything else,
    # e.g. torch's TorchVersion string subclass), and fail now rather than at load time.
    metadata = json.loads(json.dumps(metadata))
    with atomic_path(path) as tmp:
        torch.save({"state_dict": state_dict, "metadata": metadata}, tmp)


def load_model(path: str | Path, device: torch.device | str = "cpu"):
    """Load a saved model without unpickling code. Returns (model in eval mode, metadata)."""
    path = Path(path)
    try:
        bundle = torch.load(path, map_location=device, weights_only=True)
    except FileNotFoundError:
        raise
    except Exception as err:  # weights_only refuses pickled code: say so in one line
        first = str(err).strip().splitlines()[0] if str(err).strip() else type(err).__name__
        raise DataError(f"{path}: not a direction-tagger model file or unsafe to load ({first})") from None
    if not isinstance(bundle, dict) or "state_dict" not in bundle or "metadata" not in bundle:
        raise DataError(f"{path}: not a direction-tagger model file (expected state_dict + metadata)")
    meta = bundle["metadata"]
    model = build_model(meta["architecture"], **meta.get("arch_kwargs", {}))
    model.load_state_dict(bundle["state_dict"])
    return model.to(device).eval(), meta
