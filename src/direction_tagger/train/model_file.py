"""A model file: weights as a state_dict plus JSON-able metadata, never pickled code."""

from __future__ import annotations

import json
from pathlib import Path

import torch

from ..io import DataError, atomic_path
from .models import build_model, check_architecture


def save_model(path: str | Path, state_dict: dict, metadata: dict) -> None:
    """Weights as a state_dict plus JSON-able metadata: loadable with weights_only=True."""
    # Round-trip through JSON: plain types only (weights_only loading refuses anything else,
    # e.g. torch's TorchVersion string subclass), and fail now rather than at load time.
    metadata = json.loads(json.dumps(metadata))
    with atomic_path(path) as tmp:
        torch.save({"state_dict": state_dict, "metadata": metadata}, tmp)


def load_model(path: str | Path, device: torch.device | str = "cpu"):
    """Load a saved model without unpickling code. Returns (model in eval mode, metadata).

    Anything that is not one of our model files -- truncated, foreign, another architecture
    than its metadata says -- is a one-line DataError naming the file."""
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
    if not isinstance(meta, dict):
        raise DataError(f"{path}: its metadata is a {type(meta).__name__}; expected a mapping")
    require_metadata(meta, path, "architecture")
    architecture, arch_kwargs = meta["architecture"], meta.get("arch_kwargs", {})
    try:
        check_architecture(architecture, arch_kwargs)
    except ValueError as err:
        raise DataError(f"{path}: {err}") from None
    model = build_model(architecture, **arch_kwargs)
    try:
        model.load_state_dict(bundle["state_dict"])
    except (RuntimeError, TypeError, AttributeError, KeyError) as err:
        detail = "; ".join(line.strip() for line in str(err).splitlines()[1:3]) or str(err)
        raise DataError(
            f"{path}: its weights do not fit architecture '{architecture}' with arch_kwargs "
            f"{arch_kwargs} ({detail})"
        ) from None
    return model.to(device).eval(), meta


def require_metadata(meta: dict, path, *keys: str) -> None:
    """DataError naming the model file unless its metadata has every one of `keys`."""
    missing = [k for k in keys if k not in meta]
    if missing:
        raise DataError(
            f"{path}: model metadata lacks {', '.join(repr(k) for k in missing)} "
            "(a model file from `direction-tagger train` has it)"
        )
