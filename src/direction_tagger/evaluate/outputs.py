"""Evaluate a model on a labelled set: metrics JSON, per-frame CSV and figures."""

from __future__ import annotations

import numpy as np

from ..figures import pyplot, save_figure
from ..io import KEYPOINT_NAMES, KEYPOINTS, atomic_path, write_json
from .calibration import p_within, reliability, reliability_figure
from .metrics import evaluate


def error_figure(frame, path, title: str) -> None:
    """Cumulative error per keypoint (left) and error against confidence (right)."""
    fig, (left, right) = pyplot().subplots(1, 2, figsize=(10, 4))
    colours = {"base": "tab:blue", "neck": "tab:green", "head": "tab:red"}
    for name in KEYPOINTS:
        err = np.sort(frame[f"{name}_error_px"].to_numpy())
        left.plot(err, np.linspace(0, 1, len(err)), color=colours[name], label=KEYPOINT_NAMES[name])
        right.scatter(
            frame[f"{name}_confidence"],
            frame[f"{name}_error_px"],
            s=4,
            alpha=0.4,
            color=colours[name],
            label=KEYPOINT_NAMES[name],
        )
    left.set(
        xlabel="error (px)",
        ylabel="share of frames with error ≤ x",
        xlim=(0, 6),
        title=f"{title}: cumulative error",
    )
    left.grid(alpha=0.3)
    left.legend()
    right.set(
        xlabel="confidence", ylabel="error (px)", yscale="symlog", title="error vs confidence"
    )
    right.grid(alpha=0.3)
    save_figure(fig, path, dpi=110, bbox_inches="tight")


def calibrated_columns(frame, confidence, spread, calibration: dict) -> dict:
    """Add each keypoint's calibrated P(error <= 2 px) to the per-frame table; return the
    reliability of the calibration on these frames, per radius."""
    out = {}
    for radius in ("2", "3"):
        p = p_within(calibration, confidence, spread, float(radius))
        errors = frame[[f"{k}_error_px" for k in KEYPOINTS]].to_numpy()
        out[radius] = {"reliability": reliability(p, errors <= float(radius))}
        if radius == "2":
            for k, name in enumerate(KEYPOINTS):
                frame[f"{name}_p_within_2px"] = p[:, k]
    # what the calibration rests on, for the summary (older files lack the views)
    out["fitted_on"] = {
        "subset": calibration.get("subset", "val"),
        "n_frames": calibration.get("n_frames"),
        "n_views": calibration.get("n_views", 1),
        "viewed": calibration.get("viewed", {}),
    }
    return out


def evaluate_to_files(
    pred,
    confidence,
    truth,
    images,
    name: str,
    metrics_json,
    frames_csv,
    figure_png=None,
    worst_png=None,
    baseline_locs=None,
    extra=None,
    spread=None,
    calibration=None,
    reliability_png=None,
) -> dict:
    metrics, frame = evaluate(pred, confidence, truth, baseline_locs)
    metrics = {"set": name} | (extra or {}) | metrics
    if calibration is not None:
        metrics["calibration"] = calibrated_columns(frame, confidence, spread, calibration)
        if reliability_png:
            reliability_figure(
                {f"within {r} px": metrics["calibration"][r]["reliability"] for r in ("2", "3")},
                reliability_png,
                f"{name}: calibrated confidence",
            )
    write_json(metrics_json, metrics)
    with atomic_path(frames_csv) as tmp:
        frame.to_csv(tmp, index=False, float_format="%.4f")
    if figure_png:
        error_figure(frame, figure_png, name)
    if worst_png:
        from ..montage import save_montage

        worst = np.argsort(-frame[[f"{k}_error_px" for k in KEYPOINTS]].max(axis=1).to_numpy())[:24]
        titles = [
            f"#{i}: {frame.loc[i, [f'{k}_error_px' for k in KEYPOINTS]].max():.1f}px" for i in worst
        ]
        save_montage(worst_png, images[worst], locs=truth[worst], pred=pred[worst], titles=titles)
    return metrics
