"""The model on one frame at a time, set up for latency rather than throughput.

- fp32 by default: bf16 pays off on batches of frames (README, Performance), not on one.
- torch's threads: one by default. A 50x50 frame's layers are too small to split over cores
  (measured in benchmarks/bench_live.py), and a second thread would wait for a core that the
  frame reader or another job holds.
- the test-time-augmentation transforms of a frame go through the model as one batch, and
  into an input buffer made once (`_frames`): no new input tensor per frame.
- `warm_up` runs the model a few times first: oneDNN builds its kernels on the first calls,
  which would otherwise make the first frames tens of milliseconds late.

The arithmetic is `movies.predict.Predictor`'s (normalisation, channels-last, soft-argmax,
median over the transforms, RMS spread), so a frame gets the keypoints the batch path gives
it, to float rounding (tests: within 1e-4 px).
"""

from __future__ import annotations

import numpy as np
import torch

from ..dihedral import dihedral_images, inverse_dihedral_points
from ..io import FRAME_SIZE
from ..movies.predict import Predictor, tta_transforms

WARM_UP_CALLS = 20


class FrameModel:
    """A Predictor made for single frames: `model(crop)` -> (locs (3, 2), confidence (3,),
    spread (3,), NaN without TTA), float32 numpy, x = column, y = row, px of the crop."""

    def __init__(self, predictor: Predictor, tta: int = 0):
        self.predictor = predictor
        self.tta = int(tta)
        self.transforms = tta_transforms(self.tta)
        count = max(1, len(self.transforms))
        self._frames = torch.empty((count, FRAME_SIZE, FRAME_SIZE), dtype=torch.uint8)
        self._input = self._frames.numpy()  # the same memory, written with numpy
        self._nan = torch.full((3,), float("nan"))

    @torch.inference_mode()
    def __call__(self, crop: np.ndarray):
        crop = np.asarray(crop)
        if crop.shape != (FRAME_SIZE, FRAME_SIZE) or crop.dtype != np.uint8:
            raise ValueError(
                f"a crop is ({FRAME_SIZE}, {FRAME_SIZE}) uint8, got {crop.dtype} {crop.shape}"
            )
        for i, (k, flip) in enumerate(self.transforms or [(0, False)]):
            self._input[i] = dihedral_images(crop, k, flip)  # into the buffer the model reads
        coords, confs = self.predictor._run(self._frames)  # one pass: (T, 3, 2), (T, 3)
        if not self.transforms:
            return coords[0].numpy(), confs[0].numpy(), self._nan.numpy()
        coords = torch.stack(
            [inverse_dihedral_points(coords[i], k, f) for i, (k, f) in enumerate(self.transforms)]
        )
        centre = coords.quantile(0.5, dim=0)
        spread = (coords - centre).norm(dim=-1).square().mean(0).sqrt()
        return centre.numpy(), confs.mean(0).numpy(), spread.numpy()

    def warm_up(self, calls: int = WARM_UP_CALLS) -> None:
        """Run the model on noise frames so the first real frame finds its kernels built."""
        rng = np.random.default_rng(0)
        for _ in range(calls):
            self(rng.integers(0, 256, (FRAME_SIZE, FRAME_SIZE), dtype=np.uint8))


def latency_setup(threads: int | None = 1) -> None:
    """torch for one frame at a time: `threads` intra-op threads (None: leave torch's),
    one inter-op thread, denormals flushed (a slow path on x86 for near-zero activations)."""
    if threads:
        torch.set_num_threads(int(threads))
    try:
        torch.set_num_interop_threads(1)
    except RuntimeError:  # only possible before any parallel work ran in this process
        pass
    torch.set_flush_denormal(True)
