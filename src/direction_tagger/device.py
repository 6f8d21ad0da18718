"""Pick where to compute: CUDA, else Apple MPS, else CPU — and say so."""

from __future__ import annotations

import functools
import math
import os
import platform
import time

import torch

from .checks import DEVICE, PRECISION
from .io import DataError


def pick_device(requested: str = "auto") -> torch.device:
    """`auto` prefers CUDA > MPS > CPU; an explicit name that isn't available is a DataError."""
    if requested == "auto":
        if torch.cuda.is_available():
            return torch.device("cuda")
        if getattr(torch.backends, "mps", None) and torch.backends.mps.is_available():
            return torch.device("mps")
        return torch.device("cpu")
    try:
        device = torch.device(DEVICE.check(requested))
    except ValueError as err:
        raise DataError(f"device: {err}") from None
    if device.type == "cuda" and not torch.cuda.is_available():
        raise DataError(f"device '{requested}' requested but CUDA is not available here")
    if device.type == "cuda" and (device.index or 0) >= torch.cuda.device_count():
        raise DataError(
            f"device '{requested}' requested but this machine has "
            f"{torch.cuda.device_count()} CUDA device(s), cuda:0 to cuda:N-1"
        )
    if device.type == "mps" and not torch.backends.mps.is_available():
        raise DataError(f"device '{requested}' requested but MPS is not available here")
    return device


def describe(device: torch.device) -> str:
    if device.type == "cuda":
        return f"CUDA ({torch.cuda.get_device_name(device)})"
    if device.type == "mps":
        return "Apple MPS"
    return f"CPU ({cpu_name()}, {torch.get_num_threads()} threads)"


@functools.lru_cache(maxsize=1)
def cpu_name() -> str:
    """The CPU's model name (Linux: /proc/cpuinfo), else what `platform` knows."""
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine() or "unknown CPU"


def compute_path(device: torch.device, bf16: bool) -> str:
    """One line for logs and benchmarks: where and in which precision the model runs, and
    why (so a figure can be read as the fp32 or the bf16 one)."""
    how = os.environ.get(PRECISION_VARIABLE) or "auto"
    native = " (native bf16 kernels here)" if device.type == "cpu" and _onednn_has_bf16() else ""
    return f"{describe(device)}, {'bf16 autocast' if bf16 else 'fp32'}, precision {how}{native}"


PRECISION_VARIABLE = "DIRECTION_TAGGER_PRECISION"


def bf16_is_fast(device: torch.device, precision: str | None = None) -> bool:
    """Whether to compute in bf16 autocast on `device`.

    `precision` (default: the DIRECTION_TAGGER_PRECISION environment variable, else "auto"):
    "fp32" never uses bf16, "bf16" always does, "auto" uses it where it is faster. On CUDA
    that is where the GPU supports bf16. On CPU, where oneDNN has native bf16 kernels
    (AVX512-BF16, AMX), a small convolution is timed both ways once per process
    (`bf16_probe`): the flag says bf16 can run, not that it is faster for our layers.
    Elsewhere bf16 would be emulated, several times slower. MPS stays in fp32.
    """
    precision = check_precision(precision or os.environ.get(PRECISION_VARIABLE) or "auto")
    if precision != "auto":
        return precision == "bf16"
    if device.type == "cuda":
        return torch.cuda.is_bf16_supported()
    if device.type == "cpu":
        return _onednn_has_bf16() and bf16_pays_off(*bf16_probe())
    return False


def _onednn_has_bf16() -> bool:
    """Whether oneDNN could run bf16 natively at all; where it cannot, bf16 would be emulated
    (several times slower) and no timing is needed to say no."""
    try:
        return bool(
            torch.backends.mkldnn.is_available() and torch.ops.mkldnn._is_mkldnn_bf16_supported()
        )
    except (AttributeError, RuntimeError):
        return False


def check_precision(precision: str) -> str:
    try:
        return PRECISION.check(precision)
    except ValueError as err:
        raise DataError(f"precision (--precision or {PRECISION_VARIABLE}): {err}") from None


def bf16_pays_off(fp32_seconds: float, bf16_seconds: float) -> bool:
    """bf16 only when clearly faster (by 25 %): a near tie is not worth its lower precision,
    and the margin keeps the choice stable when timings are noisy."""
    return bf16_seconds < 0.8 * fp32_seconds


@functools.lru_cache(maxsize=1)
def bf16_probe(repeats: int = 15) -> tuple[float, float]:
    """Seconds for a typical layer of our models (32 -> 32 channels, 3x3, 25x25, batch 16,
    channels-last, no autograd, 1 thread) in fp32 and in bf16 autocast on the CPU: the best of
    `repeats` interleaved runs each, so load on the machine hits both alike and one
    undisturbed run of each is enough. ~0.1 s on an idle machine, once per process."""
    conv = torch.nn.Conv2d(32, 32, 3, padding=1).to(memory_format=torch.channels_last)
    x = torch.randn(16, 32, 25, 25).contiguous(memory_format=torch.channels_last)
    best = {False: math.inf, True: math.inf}
    threads = torch.get_num_threads()
    torch.set_num_threads(1)  # one thread: a busy machine rarely stops it mid-run
    with torch.inference_mode():
        for i in range(2 * repeats + 2):
            bf16 = bool(i % 2)
            with torch.autocast("cpu", dtype=torch.bfloat16, enabled=bf16):
                start = time.perf_counter()
                conv(x)
                elapsed = time.perf_counter() - start
            if i >= 2:  # the first of each is warm-up (oneDNN builds its kernels)
                best[bf16] = min(best[bf16], elapsed)
    torch.set_num_threads(threads)
    return best[False], best[True]


def use_threads(threads: int | None) -> None:
    """Use the CPU threads the job reserved (None: torch's default, all cores)."""
    if threads:
        torch.set_num_threads(threads)
