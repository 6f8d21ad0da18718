"""Apply a trained model to frames, optionally with test-time augmentation (TTA).

TTA runs the model on dihedral transforms of each frame (up to all 8: 4 rotations x vertical
flip), maps each answer back exactly, and takes the coordinate-wise median. The spread of
the answers (RMS distance to the median, px) is a per-keypoint uncertainty. Fewer transforms
cost less: 2 (the frame and its 180° rotation) already expose head/tail hesitation.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass

import numpy as np
import torch
from tqdm import tqdm

from ..checks import TTA_COUNTS
from ..device import bf16_is_fast
from ..dihedral import dihedral_images, inverse_dihedral_points
from ..train.models import normalise_frames, prepare_for_inference


@dataclass
class Predictions:
    locs: np.ndarray  # (M, 3, 2) float32 (x, y) px
    confidence: np.ndarray  # (M, 3) float32 in [0, 1]
    spread: np.ndarray  # (M, 3) float32 px; NaN without TTA

    def __len__(self) -> int:
        return len(self.locs)

    def __getitem__(self, rows: slice) -> Predictions:
        return Predictions(self.locs[rows], self.confidence[rows], self.spread[rows])


# Most informative first: identity, 180°, then flipped and quarter turns.
TTA_ORDER = [
    (0, False),
    (2, False),
    (1, True),
    (3, True),
    (1, False),
    (3, False),
    (0, True),
    (2, True),
]


def tta_transforms(tta: bool | int) -> list[tuple[int, bool]]:
    """True = all 8 transforms, False/0/1 = none, n = the first n of TTA_ORDER."""
    n = 8 if tta is True else int(tta)
    if n not in TTA_COUNTS:
        raise ValueError(f"tta must be 0, 1, 2, 4 or 8 transforms, got {tta}")
    return TTA_ORDER[:n] if n > 1 else []


class Predictor:
    """A model ready for inference: batch norm folded, channels-last, no autograd."""

    def __init__(
        self, model: torch.nn.Module, device: torch.device | str = "cpu", bf16: bool | None = None
    ):
        self.device = torch.device(device)
        # bf16 autocast where it is faster (None = decide by `bf16_is_fast`); coordinates
        # are still decoded in fp32 by the soft-argmax.
        self.bf16 = bf16_is_fast(self.device) if bf16 is None else bf16
        # A copy: folding batch norm rewrites modules, and the caller may keep training.
        self.model = prepare_for_inference(copy.deepcopy(model), self.device)
        self.forward_frames = forward_frames(self.device)

    @torch.inference_mode()
    def _run(self, frames: torch.Tensor):
        x = normalise_frames(frames).contiguous(memory_format=torch.channels_last)
        with torch.autocast(self.device.type, dtype=torch.bfloat16, enabled=self.bf16):
            out = self.model(x)
        return out["coords"].float(), out["confidence"].float()

    def _passes(self, images, batch_size: int):
        """The frames of each forward pass: batches of `batch_size`, each cut into pieces of at
        most `forward_frames` (the cut restarts at every batch, so a movie predicted a chunk of
        whole batches at a time runs exactly the passes of the whole movie)."""
        step = min(batch_size, self.forward_frames or batch_size)
        for start in range(0, len(images), batch_size):
            stop = min(start + batch_size, len(images))
            for first in range(start, stop, step):
                yield images[first : min(first + step, stop)]

    @torch.inference_mode()
    def predict(
        self,
        images: np.ndarray,
        tta: bool | int = False,
        batch_size: int = 1024,
        progress: bool = False,
    ) -> Predictions:
        transforms = tta_transforms(tta)
        locs, conf, spread = [], [], []
        bar = tqdm(total=len(images), desc="predicting", unit="frame", disable=not progress)
        for frames in self._passes(images, batch_size):
            bar.update(len(frames))
            frames = torch.from_numpy(np.ascontiguousarray(frames)).to(self.device)
            if not transforms:
                c, p = self._run(frames)
                locs.append(c.cpu())
                conf.append(p.cpu())
                spread.append(torch.full(p.shape, float("nan")))
                continue
            coords, confs = [], []
            for k, flip in transforms:
                c, p = self._run(dihedral_images(frames, k, flip))
                coords.append(inverse_dihedral_points(c, k, flip))
                confs.append(p)
            coords = torch.stack(coords)  # (8, B, 3, 2)
            centre = coords.quantile(0.5, dim=0)  # interpolated: unbiased for an even count
            locs.append(centre.cpu())
            conf.append(torch.stack(confs).mean(0).cpu())
            spread.append((coords - centre).norm(dim=-1).square().mean(0).sqrt().cpu())
        bar.close()
        return Predictions(
            locs=torch.cat(locs).numpy().astype(np.float32),
            confidence=torch.cat(conf).numpy().astype(np.float32),
            spread=torch.cat(spread).numpy().astype(np.float32),
        )


# Frames per forward pass on CPU, whatever the batch size asked: a pass's activations grow
# with its frames (heatmap_unet: ~0.2 MB a frame in bf16, ~0.5 in fp32; passes of 1,024
# frames took predict to 590-760 MB, on top of ~330 MB of libraries) while frames/s does not
# (no slower in passes of 128 with sleeping OpenMP threads: benchmarks/bench_scale.py).
CPU_FORWARD_FRAMES = 128


def forward_frames(device: torch.device) -> int | None:
    """The most frames one forward pass takes on `device` (None: the batch size, on GPUs,
    whose memory is sized for the batches asked of them)."""
    return CPU_FORWARD_FRAMES if device.type == "cpu" else None


def load_predictor(
    model_path, device: str = "auto", threads: int | None = None, precision: str | None = None
):
    """A saved model, ready for inference on `device`, with its metadata. `precision`: "auto"
    (bf16 where it is faster), "fp32" or "bf16"; None reads DIRECTION_TAGGER_PRECISION."""
    from ..device import pick_device, use_threads
    from ..train.model_file import load_model

    use_threads(threads)
    device = pick_device(device)
    model, meta = load_model(model_path, device)
    return Predictor(model, device, bf16_is_fast(device, precision)), meta
