"""Pick where to compute: CUDA, else Apple MPS, else CPU — and say so."""

from __future__ import annotations

import torch

from .checks import DEVICE
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
    return f"CPU ({torch.get_num_threads()} threads)"


def bf16_is_fast(device: torch.device) -> bool:
    """Whether bf16 autocast pays off here: CUDA with bf16 support, or a CPU whose oneDNN has
    native bf16 kernels (AVX512-BF16 / AMX); about 2x faster convolutions on such CPUs.
    Elsewhere (older CPUs, MPS) it would be emulated and slower, so we stay in fp32."""
    if device.type == "cuda":
        return torch.cuda.is_bf16_supported()
    if device.type == "cpu":
        try:
            return bool(
                torch.backends.mkldnn.is_available()
                and torch.ops.mkldnn._is_mkldnn_bf16_supported()
            )
        except (AttributeError, RuntimeError):
            return False
    return False


def use_threads(threads: int | None) -> None:
    """Use the CPU threads the job reserved (None: torch's default, all cores)."""
    if threads:
        torch.set_num_threads(threads)
