"""Every knob of training, in one dataclass, each value checked when it is set (one line naming
the option, the value and what it must be)."""

from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass, field

from ..checks import DEVICE, Rule
from ..io import DataError
from .models import check_architecture


@dataclass
class TrainConfig:
    architecture: str = "fast_heatmap_unet"
    arch_kwargs: dict = field(default_factory=dict)
    steps: int | None = None  # optimiser steps; None = automatic (see training_budget)
    # Automatic budget: `passes` over a large training set, at least `min_steps` (what a small
    # labelled set needs). 1,000 and 30 with heatmap_unet, whose steps cost 1.6x the CPU time.
    min_steps: int = 1600
    passes: float = 48.0
    # Where the weights start: "scratch" (random), "pretrained" (the workflow's start model,
    # results/pretrained/{architecture}/model.pt, given to `train` as its start model) or the
    # path of a model.pt. The workflow's default is in config/schema.yaml; a bare `train`
    # command starts from scratch unless told otherwise.
    init: str = "scratch"
    # Fine-tuning a start model (init not scratch): the output layer starts from random weights
    # instead of the start model's, keeping every feature it learnt. For labels that place a
    # keypoint unlike the synthetic animals (README, "Real animals": an 80-frame neck).
    fresh_head: bool = False
    # Automatic budget when fine-tuning a start model: `finetune_passes` over the training
    # frames, at least `finetune_min_steps` and at most half of `min_steps` (a small set needs
    # far fewer steps from a model that already knows rodents); large sets still get `passes`.
    finetune_passes: float = 640.0
    finetune_min_steps: int = 400
    eval_every: int | None = None  # steps between validations + checkpoints; None = budget / 20
    patience: int | None = 10  # validations without improvement before stopping; None = never
    batch_size: int = 64
    lr: float = 3e-3
    weight_decay: float = 1e-4
    warmup_fraction: float = 0.05  # of all steps, then cosine decay to 0
    max_minutes: float | None = None  # safety cap on wall time; never shapes the schedule
    seed: int = 0
    device: str = "auto"
    threads: int | None = None
    online_augment: bool = True
    augment_shift_px: int = 2
    augment_noise_sigma: float = 4.0  # grey levels
    augment_rotation_deg: float = 45.0  # random rotation up to this angle, besides the dihedral
    augment_scale: float = 1.1  # random scale in [1/x, x]
    # another rig's camera and arena (docs/quality_control.md, "Training for another rig")
    augment_gamma: float = 1.5  # random gamma in [1/x, x]; 1 = off
    augment_blur_px: float = 0.8  # random Gaussian blur, sigma up to this; 0 = off
    augment_walls: float = 0.5  # share of frames given a wall of another shade; 0 = off
    heatmap_sigma_px: float = 1.5  # width of the target for the heatmap regulariser
    heatmap_weight: float = 1.0
    amp: bool = True  # bf16 autocast where it is fast (CUDA, CPUs with native bf16)

    @property
    def starts_from_model(self) -> bool:
        """True unless training starts from random weights."""
        return self.init != "scratch"

    def __post_init__(self):
        for name, rule in OPTION_RULES.items():
            try:
                rule.check(getattr(self, name))
            except ValueError as err:
                raise DataError(f"training option '{name}': {err}") from None
        for name, kwargs in (("architecture", {}), ("arch_kwargs", self.arch_kwargs)):
            try:
                check_architecture(self.architecture, kwargs)
            except ValueError as err:
                raise DataError(f"training option '{name}': {err}") from None

    @classmethod
    def from_dict(cls, values: dict) -> TrainConfig:
        known = {f.name for f in dataclasses.fields(cls)}
        unknown = sorted(set(values) - known)
        if unknown:
            hint = " (training length is now steps (or automatic))" if "epochs" in unknown else ""
            raise DataError(f"unknown training option(s) {unknown}{hint}; known: {sorted(known)}")
        return cls(**values)


def _integer(v) -> bool:
    return isinstance(v, int) and not isinstance(v, bool)


def _number(v) -> bool:
    return (_integer(v) or isinstance(v, float)) and math.isfinite(v)


def _optional(rule: Rule, null_means: str) -> Rule:
    return Rule(lambda v: v is None or rule.holds(v), f"{rule.expected}, or null ({null_means})")


_POSITIVE_INT = Rule(lambda v: _integer(v) and v >= 1, "a positive integer")
_POSITIVE = Rule(lambda v: _number(v) and v > 0, "a positive number")
_NOT_NEGATIVE = Rule(lambda v: _number(v) and v >= 0, "a number >= 0")
_BOOLEAN = Rule(lambda v: isinstance(v, bool), "true or false")

# What each training option must be (architecture and arch_kwargs: models.check_architecture).
OPTION_RULES = {
    "steps": _optional(_POSITIVE_INT, "automatic"),
    "min_steps": _POSITIVE_INT,
    "passes": _POSITIVE,
    "init": Rule(
        lambda v: isinstance(v, str) and v.strip() != "",
        "'pretrained', 'scratch' or the path of a model.pt",
    ),
    "fresh_head": _BOOLEAN,
    "finetune_passes": _POSITIVE,
    "finetune_min_steps": _POSITIVE_INT,
    "eval_every": _optional(_POSITIVE_INT, "a twentieth of the budget"),
    "patience": _optional(_POSITIVE_INT, "never stop early"),
    "batch_size": _POSITIVE_INT,
    "lr": _POSITIVE,
    "weight_decay": _NOT_NEGATIVE,
    "warmup_fraction": Rule(lambda v: _number(v) and 0 <= v <= 1, "a fraction, 0 to 1"),
    "max_minutes": _optional(_POSITIVE, "no cap"),
    "seed": Rule(lambda v: _integer(v) and v >= 0, "an integer >= 0"),
    "device": DEVICE,
    "threads": _optional(_POSITIVE_INT, "all cores"),
    "online_augment": _BOOLEAN,
    "augment_shift_px": Rule(lambda v: _integer(v) and v >= 0, "an integer >= 0"),
    "augment_noise_sigma": _NOT_NEGATIVE,
    "augment_rotation_deg": Rule(lambda v: _number(v) and 0 <= v <= 180, "0 to 180 degrees"),
    "augment_scale": Rule(lambda v: _number(v) and v >= 1, "a number >= 1"),
    "augment_gamma": Rule(lambda v: _number(v) and v >= 1, "a number >= 1"),
    "augment_blur_px": _NOT_NEGATIVE,
    "augment_walls": Rule(lambda v: _number(v) and 0 <= v <= 1, "a share from 0 to 1"),
    "heatmap_sigma_px": _POSITIVE,
    "heatmap_weight": _NOT_NEGATIVE,
    "amp": _BOOLEAN,
}
