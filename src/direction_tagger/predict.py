"""Apply a trained model to frames, optionally with test-time augmentation (TTA).

TTA runs the model on all 8 dihedral transforms of each frame (4 rotations x vertical
flip), maps each answer back exactly, and takes the coordinate-wise median. The spread of
the 8 answers (RMS distance to the median, px) is a per-keypoint uncertainty.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass

import numpy as np
import torch
from tqdm import tqdm

from .geometry import DIHEDRAL
from .io import FRAME_SIZE
from .models import normalise_frames, prepare_for_inference


@dataclass
class Predictions:
    locs: np.ndarray  # (M, 3, 2) float32 (x, y) px
    confidence: np.ndarray  # (M, 3) float32 in [0, 1]
    spread: np.ndarray  # (M, 3) float32 px; NaN without TTA

    def __len__(self) -> int:
        return len(self.locs)


def transform_frames(frames: torch.Tensor, k: int, flip: bool) -> torch.Tensor:
    """(B, H, W) frames: optional vertical flip (rows reversed), then k x 90° counter-clockwise;
    same as geometry.dihedral_images."""
    out = frames.flip(-2) if flip else frames
    return torch.rot90(out, k, dims=(-2, -1))


def untransform_points(points: torch.Tensor, k: int, flip: bool, size: int = FRAME_SIZE):
    """Map (..., 2) points predicted on a transformed frame back to the original frame."""
    last = size - 1
    x, y = points[..., 0], points[..., 1]
    for _ in range(k % 4):
        x, y = last - y, x
    if flip:
        y = last - y
    return torch.stack([x, y], dim=-1)


class Predictor:
    """A model ready for inference: batch norm folded, channels-last, no autograd."""

    def __init__(self, model: torch.nn.Module, device: torch.device | str = "cpu"):
        self.device = torch.device(device)
        # A copy: folding batch norm rewrites modules, and the caller may keep training.
        self.model = prepare_for_inference(copy.deepcopy(model), self.device)

    @torch.inference_mode()
    def _run(self, frames: torch.Tensor):
        x = normalise_frames(frames).contiguous(memory_format=torch.channels_last)
        out = self.model(x)
        return out["coords"].float(), out["confidence"].float()

    @torch.inference_mode()
    def predict(self, images: np.ndarray, tta: bool = False, batch_size: int = 1024,
                progress: bool = False) -> Predictions:
        locs, conf, spread = [], [], []
        starts = range(0, len(images), batch_size)
        for start in tqdm(starts, desc="predicting", disable=not progress, mininterval=2.0):
            frames = torch.from_numpy(np.ascontiguousarray(images[start : start + batch_size]))
            frames = frames.to(self.device)
            if not tta:
                c, p = self._run(frames)
                locs.append(c.cpu())
                conf.append(p.cpu())
                spread.append(torch.full(p.shape, float("nan")))
                continue
            coords, confs = [], []
            for k, flip in DIHEDRAL:
                c, p = self._run(transform_frames(frames, k, flip))
                coords.append(untransform_points(c, k, flip))
                confs.append(p)
            coords = torch.stack(coords)  # (8, B, 3, 2)
            centre = coords.median(dim=0).values
            locs.append(centre.cpu())
            conf.append(torch.stack(confs).mean(0).cpu())
            spread.append((coords - centre).norm(dim=-1).square().mean(0).sqrt().cpu())
        return Predictions(
            locs=torch.cat(locs).numpy().astype(np.float32),
            confidence=torch.cat(conf).numpy().astype(np.float32),
            spread=torch.cat(spread).numpy().astype(np.float32),
        )
