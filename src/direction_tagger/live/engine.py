"""The model on one frame at a time, set up for latency rather than throughput.

- fp32 by default: bf16 pays off on batches of frames (README, Performance), not on one.
- torch's threads: one by default (`live --threads`). A 50x50 frame's layers are small to
  split over cores, and the other core has work of its own: the frame reader, finding the
  animal in the next full frame, other jobs (1 against 2 threads not measured).
- the test-time-augmentation transforms of a frame go through the model as one batch, and
  into an input buffer made once (`_frames`): no new input tensor per frame.
- the model is traced and frozen by TorchScript for the batch it will always get (constants
  folded, no Python per layer): 40 % less CPU time per frame than eager (2.1 against 3.7 ms
  for fast_heatmap_unet, 2 frames, one thread, on a loaded machine), and the same
  coordinates to the last bit there. It is checked against the eager model on noise frames
  when made, and not used if the two differ by more than TRACE_TOLERANCE_PX.
- where onnxruntime is installed (`pip install 'direction-tagger[live]'`), the model runs
  there instead, exported once from the eager model for the same batch: 0.27 against 0.62 ms
  for fast_heatmap_unet on one frame, one thread (idle machine; its MLAS kernels and no
  per-layer dispatch). It is checked against the eager model like the trace, and not used
  if the two differ by more than TRACE_TOLERANCE_PX, nor on a GPU.
- `warm_up` runs the whole frame path on noise frames first (the trace has already run the
  model a few times): even then the first call took 4.8 ms of CPU against 3.3 ms later.

The arithmetic is `movies.predict.Predictor`'s (normalisation, channels-last, soft-argmax,
median over the transforms, RMS spread), so a frame gets the keypoints the batch path gives
it, to float rounding (tests: within 1e-4 px).
"""

from __future__ import annotations

import io
import warnings

import numpy as np
import torch

from ..dihedral import dihedral_images, inverse_dihedral_points
from ..io import FRAME_SIZE
from ..movies.predict import Predictor, tta_transforms
from ..train.models import normalise_frames

WARM_UP_CALLS = 20
TRACE_TOLERANCE_PX = 1e-5


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
        self.traced = None if predictor.bf16 else self._trace()
        cpu_fp32 = predictor.device.type == "cpu" and not predictor.bf16
        self.onnx = self._onnx() if cpu_fp32 else None

    @torch.inference_mode()
    def _trace(self):
        """The model traced and frozen for this batch shape, or None where it would not give
        the eager model's coordinates."""
        noise = torch.from_numpy(
            np.random.default_rng(1).integers(0, 256, tuple(self._frames.shape), dtype=np.uint8)
        )
        x = normalise_frames(noise.to(self.predictor.device))
        x = x.contiguous(memory_format=torch.channels_last)
        try:
            with warnings.catch_warnings():
                # TorchScript is deprecated from torch 2.10 on but still works; its successor
                # (torch.compile) needs a C++ compiler at run time. Where it goes, eager stays.
                warnings.simplefilter("ignore")
                traced = torch.jit.freeze(torch.jit.trace(self.predictor.model, x, strict=False))
                for _ in range(3):  # TorchScript optimises on its first runs
                    out = traced(x)
        except Exception:  # an architecture TorchScript cannot take: eager works
            return None
        eager = self.predictor.model(x)
        if (out["coords"] - eager["coords"]).abs().max() > TRACE_TOLERANCE_PX:
            return None
        return traced

    @torch.inference_mode()
    def _onnx(self):
        """An onnxruntime session of the model for this batch shape, or None (onnxruntime not
        installed, an architecture it cannot take, or not the eager model's coordinates)."""
        try:
            import onnxruntime
        except ImportError:
            return None
        noise = np.random.default_rng(2).integers(0, 256, self._input.shape, dtype=np.uint8)
        x = normalise_frames(torch.from_numpy(noise)).contiguous()
        # eval: the exporter puts back the wrapper's mode, and with it its model's
        model = _Outputs(self.predictor.model).eval()
        options = onnxruntime.SessionOptions()
        options.intra_op_num_threads = max(1, torch.get_num_threads())
        options.inter_op_num_threads = 1
        try:
            buffer = io.BytesIO()
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                torch.onnx.export(model, (x,), buffer, dynamo=False, input_names=["x"])
            session = onnxruntime.InferenceSession(
                buffer.getvalue(), options, providers=["CPUExecutionProvider"]
            )
            coords = session.run(None, {"x": x.numpy()})[0]
        except Exception:  # onnx missing, or an operator the exporter or runtime lacks
            return None
        if np.abs(coords - model(x)[0].numpy()).max() > TRACE_TOLERANCE_PX:
            return None
        return session

    def _run(self):
        """(coords (T, 3, 2), confidence (T, 3)) of the frames in the input buffer, on the CPU."""
        if self.onnx is not None:
            x = normalise_frames(self._frames).numpy()
            coords, confidence = self.onnx.run(None, {"x": x})
            return torch.from_numpy(coords), torch.from_numpy(confidence)
        frames = self._frames
        if self.predictor.device.type != "cpu":  # a GPU: one copy of the few frames there
            frames = frames.to(self.predictor.device)
        if self.traced is None:
            coords, confidence = self.predictor._run(frames)
        else:
            x = normalise_frames(frames).contiguous(memory_format=torch.channels_last)
            out = self.traced(x)
            coords, confidence = out["coords"], out["confidence"]
        return coords.cpu(), confidence.cpu()

    @torch.inference_mode()
    def __call__(self, crop: np.ndarray):
        crop = np.asarray(crop)
        if crop.shape != (FRAME_SIZE, FRAME_SIZE) or crop.dtype != np.uint8:
            raise ValueError(
                f"a crop is ({FRAME_SIZE}, {FRAME_SIZE}) uint8, got {crop.dtype} {crop.shape}"
            )
        for i, (k, flip) in enumerate(self.transforms or [(0, False)]):
            self._input[i] = dihedral_images(crop, k, flip)  # into the buffer the model reads
        coords, confs = self._run()  # one pass: (T, 3, 2), (T, 3)
        if not self.transforms:
            return coords[0].numpy(), confs[0].numpy(), self._nan.numpy()
        coords = torch.stack(
            [inverse_dihedral_points(coords[i], k, f) for i, (k, f) in enumerate(self.transforms)]
        )
        # the median as torch.quantile(0.5) interpolates it (the middle pair's lerp), from a
        # sort: quantile costs ~0.5 ms a call here, more than the rest of the arithmetic
        ordered = coords.sort(dim=0).values
        low, high = ordered[(len(ordered) - 1) // 2], ordered[len(ordered) // 2]
        centre = torch.lerp(low, high, 0.5)
        spread = (coords - centre).norm(dim=-1).square().mean(0).sqrt()
        return centre.numpy(), confs.mean(0).numpy(), spread.numpy()

    def warm_up(self, calls: int = WARM_UP_CALLS) -> None:
        """Run the model on noise frames so the first real frame finds its kernels built."""
        rng = np.random.default_rng(0)
        for _ in range(calls):
            self(rng.integers(0, 256, (FRAME_SIZE, FRAME_SIZE), dtype=np.uint8))


class _Outputs(torch.nn.Module):
    """The model with its coordinates and confidence as a tuple (what ONNX exports)."""

    def __init__(self, model: torch.nn.Module):
        super().__init__()
        self.model = model

    def forward(self, x):
        out = self.model(x)
        return out["coords"], out["confidence"]


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
