"""Pick where to compute: CUDA, else Apple MPS, else CPU — and say so."""

from __future__ import annotations

import torch


def pick_device(requested: str = "auto") -> torch.device:
    """`auto` prefers CUDA > MPS > CPU; an explicit name that isn't available is an error."""
    if requested == "auto":
        if torch.cuda.is_available():
            return torch.device("cuda")
        if getattr(torch.backends, "mps", None) and torch.backends.mps.is_available():
            return torch.device("mps")
        return torch.device("cpu")
    device = torch.device(requested)
    if device.type == "cuda" and not torch.cuda.is_available():
        raise RuntimeError(f"device '{requested}' requested but CUDA is not available here")
    if device.type == "mps" and not torch.backends.mps.is_available():
        raise RuntimeError(f"device '{requested}' requested but MPS is not available here")
    return device


def describe(device: torch.device) -> str:
    if device.type == "cuda":
        return f"CUDA ({torch.cuda.get_device_name(device)})"
    if device.type == "mps":
        return "Apple MPS"
    return f"CPU ({torch.get_num_threads()} threads)"
