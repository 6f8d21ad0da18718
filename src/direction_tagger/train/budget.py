"""How long to train, and on which frames at each step: both pure functions of the config,
the training set's size and the seed (never of wall time or load)."""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np
import torch

if TYPE_CHECKING:
    from .config import TrainConfig


@dataclass(frozen=True)
class Budget:
    steps: int
    eval_every: int
    reason: str

    def as_dict(self, batch_size: int, n_train: int) -> dict:
        images = self.steps * batch_size
        return {
            "steps": self.steps,
            "eval_every": self.eval_every,
            "batch_size": batch_size,
            "images": images,
            "passes": images / max(1, n_train),
            "reason": self.reason,
        }


def training_budget(cfg: TrainConfig, n_train: int) -> Budget:
    """How many optimiser steps to train, and why.

    Set explicitly (`steps`), or automatic: `passes` over the training frames, but never fewer
    than `min_steps` -- so by default a lab's 80 frames get 1,600 augmented steps (every frame
    seen in over a thousand random transforms), and 80,000 frames get 48 passes.

    Fine-tuning a start model (`init` not scratch), a small set needs far fewer: the floor is
    then `finetune_passes` over the frames, between `finetune_min_steps` and half of
    `min_steps` (up to 40 frames: 400 steps by default, 80 or more: 800); large sets still get
    `passes`.
    """
    if cfg.steps is not None:
        steps, reason = cfg.steps, f"train.steps = {cfg.steps}"
    else:
        by_passes = math.ceil(cfg.passes * n_train / cfg.batch_size)
        if cfg.starts_from_model:
            scaled = math.ceil(cfg.finetune_passes * n_train / cfg.batch_size)
            ceiling = max(cfg.finetune_min_steps, cfg.min_steps // 2)
            floor = min(max(cfg.finetune_min_steps, scaled), ceiling)
            steps = max(floor, by_passes)
            reason = (
                f"automatic, fine-tuning: {cfg.finetune_passes:g} passes over {n_train} "
                f"training frames = {scaled} steps, within train.finetune_min_steps = "
                f"{cfg.finetune_min_steps} and half of train.min_steps = {ceiling}; "
                f"{cfg.passes:g} passes = {by_passes} steps when more"
            )
        else:
            steps = max(cfg.min_steps, by_passes)
            reason = (
                f"automatic: {cfg.passes:g} passes over {n_train} training frames at batch "
                f"{cfg.batch_size} = {by_passes} steps, floor train.min_steps = {cfg.min_steps}"
            )
    eval_every = cfg.eval_every or max(1, math.ceil(steps / 20))
    return Budget(steps=steps, eval_every=min(eval_every, steps), reason=reason)


class BatchStream:
    """Step s -> which training frames form its batch, as a pure function of (seed, s).

    The frames are walked in a fresh random order each pass, passes follow each other without
    a break, so every frame is seen equally often whatever the batch size (even one larger
    than the set), and a resumed run picks up exactly where the killed one was.
    """

    def __init__(self, n: int, batch_size: int, seed: int):
        self.n, self.batch_size, self.seed = n, batch_size, seed
        self._orders: dict[int, np.ndarray] = {}

    def _order(self, p: int) -> np.ndarray:
        if p not in self._orders:
            if len(self._orders) > 64:
                self._orders.clear()
            self._orders[p] = np.random.default_rng([self.seed, 0, p]).permutation(self.n)
        return self._orders[p]

    def indices(self, step: int) -> np.ndarray:
        start, end = step * self.batch_size, (step + 1) * self.batch_size
        parts = []
        for p in range(start // self.n, (end - 1) // self.n + 1):
            lo, hi = max(start - p * self.n, 0), min(end - p * self.n, self.n)
            parts.append(self._order(p)[lo:hi])
        return np.concatenate(parts)


def step_generator(seed: int, step: int) -> torch.Generator:
    """The random generator of one step's augmentation, independent of every other step."""
    state = int(np.random.SeedSequence([seed, 1, step]).generate_state(1, dtype=np.uint64)[0])
    return torch.Generator(device="cpu").manual_seed(state)
