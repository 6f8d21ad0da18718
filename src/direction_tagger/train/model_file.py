"""A model file: weights as a state_dict plus JSON-able metadata, never pickled code."""

from __future__ import annotations

import json
from pathlib import Path

import torch

from ..io import DataError, atomic_path
from .models import build_model


def save_model(path: str | Path, state_dict: dict, metadata: dict) -> None:
    """Weights as a state_dict plus JSON-able metadata: loadable with weights_only=True."""
    # Round-trip through JSON: plain types only (weights_only loading refuses anything else,
    # e.g. torch's TorchVersion string subclass), and fail now rather than at load time.
    metadata = json.loads(json.dumps(metadata))
    with atomic_path(path) as tmp:
        torch.save({"state_dict": state_dict, "metadata": metadata}, tmp)


def load_model(path: str | Path, device: torch.device | str = "cpu"):
    """Load a saved model without unpickling code. Returns (model in eval mode, metadata)."""
    path = Path(path)
    try:
        bundle = torch.load(path, map_location=device, weights_only=True)
    except FileNotFoundError:
        raise
    except Exception as err:  # weights_only refuses pickled code: say so in one line
        first = str(err).strip().splitlines()[0] if str(err).strip() else type(err).__name__
        raise DataError(
            f"{path}: not a direction-tagger model file or unsafe to load ({first})"
        ) from None
    if not isinstance(bundle, dict) or "state_dict" not in bundle or "metadata" not in bundle:
        raise DataError(
            f"{path}: not a direction-tagger model file (expected state_dict + metadata)"
        )
    meta = bundle["metadata"]
    model = build_model(meta["architecture"], **meta.get("arch_kwargs", {}))
    model.load_state_dict(bundle["state_dict"])
    return model.to(device).eval(), meta
