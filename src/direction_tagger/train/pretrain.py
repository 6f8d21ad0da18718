"""The pretrained start model: one architecture trained on the renderer's rats and mice, looks
varied as widely as real rigs vary them (`data.synth.make_pretraining_set`), made once and
fine-tuned by every run with `train.init: pretrained`.

Nothing is downloaded: the frames are rendered here from a seed, so the same settings give the
same frames, and on the same machine the same model.
"""

from __future__ import annotations

import dataclasses
import hashlib
import math
from dataclasses import dataclass
from pathlib import Path

from ..checks import Rule
from ..io import DataError
from .config import TrainConfig
from .models import check_architecture

# The seed of the validation frames is the training frames' seed + this (never the same frames).
VALIDATION_SEED_OFFSET = 1_000_003


@dataclass
class PretrainConfig:
    """What the pretrained model depends on (config section `pretrain`)."""

    architecture: str = "fast_heatmap_unet"
    frames: int = 60000  # rendered training frames (each seen in new augmentations every pass)
    val_frames: int = 1000
    steps: int = 20000  # optimiser steps of `batch_size` frames (the schema's default too)
    batch_size: int = 64
    lr: float = 3e-3
    seed: int = 0

    def __post_init__(self):
        for name, rule in _RULES.items():
            try:
                rule.check(getattr(self, name))
            except ValueError as err:
                raise DataError(f"pretraining option '{name}': {err}") from None
        try:
            check_architecture(self.architecture, {})
        except ValueError as err:
            raise DataError(f"pretraining option 'architecture': {err}") from None

    @classmethod
    def from_dict(cls, values: dict) -> PretrainConfig:
        known = {f.name for f in dataclasses.fields(cls)}
        unknown = sorted(set(values) - known)
        if unknown:
            raise DataError(f"unknown pretraining option(s) {unknown}; known: {sorted(known)}")
        return cls(**values)

    def train_config(self, threads: int | None = None) -> TrainConfig:
        """The training run: the default options but these, all steps done (no early stop)."""
        return TrainConfig(
            architecture=self.architecture,
            steps=self.steps,
            batch_size=self.batch_size,
            lr=self.lr,
            seed=self.seed,
            patience=None,
            threads=threads,
            # the renderer varies tone, blur and surroundings itself; these are for real frames
            augment_gamma=1.0,
            augment_blur_px=0.0,
            augment_walls=0.0,
        )


def _integer(v) -> bool:
    return isinstance(v, int) and not isinstance(v, bool)


_COUNT = Rule(lambda v: _integer(v) and v >= 1, "a positive integer")
_RULES = {
    "frames": _COUNT,
    "val_frames": _COUNT,
    "steps": _COUNT,
    "batch_size": _COUNT,
    "lr": Rule(lambda v: isinstance(v, (int, float)) and math.isfinite(v) and v > 0, "> 0"),
    "seed": Rule(lambda v: _integer(v) and v >= 0, "an integer >= 0"),
}


def pretrain(
    cfg: PretrainConfig,
    model_path: str | Path,
    log_csv: str | Path,
    checkpoint_path: str | Path | None = None,
    threads: int | None = None,
) -> dict:
    """Render the pretraining frames, train `cfg.architecture` on them from random weights,
    save the model (validated on other rendered frames). Returns its metadata."""
    from ..data.synth import make_pretraining_set
    from .loop import train

    print(
        f"rendering {cfg.frames} + {cfg.val_frames} synthetic rats and mice (seed {cfg.seed})",
        flush=True,
    )
    images, locs = make_pretraining_set(cfg.frames, cfg.seed)
    val_images, val_locs = make_pretraining_set(cfg.val_frames, cfg.seed + VALIDATION_SEED_OFFSET)
    digest = hashlib.sha256(images.tobytes())
    digest.update(locs.tobytes())
    facts = {
        "frames": "data.synth.make_pretraining_set: rats and mice, both polarities, looks, "
        "sizes, tails and lighting varied widely",
        "settings": dataclasses.asdict(cfg),
    }
    return train(
        images,
        locs,
        val_images,
        val_locs,
        cfg.train_config(threads),
        model_path,
        log_csv,
        checkpoint_path=checkpoint_path,
        data_sha256=digest.hexdigest(),
        extra_metadata={"pretraining": facts},
    )
