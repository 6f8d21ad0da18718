"""A model file: weights as a state_dict plus JSON-able metadata, never pickled code."""

from __future__ import annotations

import json
from pathlib import Path

import torch

from ..io import DataError, atomic_path
from .model_facts import add_metadata_record
from .models import build_model, check_architecture


def save_model(path: str | Path, state_dict: dict, metadata: dict) -> None:
    """Weights as a state_dict plus JSON-able metadata: loadable with weights_only=True; the
    metadata also as a JSON record, readable without torch (model_facts)."""
    # Round-trip through JSON: plain types only (weights_only loading refuses anything else,
    # e.g. torch's TorchVersion string subclass), and fail now rather than at load time.
    metadata = json.loads(json.dumps(metadata))
    with atomic_path(path) as tmp:
        torch.save({"state_dict": state_dict, "metadata": metadata}, tmp)
        add_metadata_record(tmp, metadata)


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


def start_weights(path: str | Path, architecture: str, arch_kwargs: dict) -> tuple[dict, dict]:
    """The weights a training starts from (train.init), and what to record about them.

    Loaded with weights_only=True (`load_model`). A file that is missing, not a model, or a
    model of another architecture, widths or keypoints is a one-line DataError: its weights
    could not be fine-tuned into this run's network.
    Returns (state_dict, facts: path, sha256, architecture, its own metadata's highlights).
    """
    from ..io import KEYPOINTS, sha256_file

    path = Path(path)
    if not path.is_file():
        raise DataError(
            f"train.init: no model file at {path} (expected pretrained, scratch or the path of "
            "a model.pt)"
        )
    model, meta = load_model(path)
    theirs = (meta["architecture"], meta.get("arch_kwargs", {}), meta.get("keypoints"))
    ours = (architecture, arch_kwargs, list(KEYPOINTS))
    if theirs != ours:
        raise DataError(
            f"train.init: {path} is a {_describe(*theirs)} model; this run trains a "
            f"{_describe(*ours)} model: start from scratch or from a model of that architecture"
        )
    facts = {
        "path": str(path),
        "sha256": sha256_file(path),
        "architecture": meta["architecture"],
        "val_median_px": meta.get("val_median_px"),
        "steps_done": meta.get("steps_done"),
        "data_sha256": meta.get("data_sha256"),
        "pretraining": meta.get("pretraining"),
    }
    return model.state_dict(), facts


def _describe(architecture: str, arch_kwargs: dict, keypoints) -> str:
    widths = f" {arch_kwargs}" if arch_kwargs else ""
    names = "/".join(keypoints) if isinstance(keypoints, list) else "unknown keypoints"
    return f"{architecture}{widths} ({names})"
