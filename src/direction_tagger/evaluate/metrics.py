"""Accuracy of predicted keypoints against labels: pure functions over numpy arrays.

Errors are Euclidean distances in px; angular errors are absolute smallest differences in
degrees (so 359° vs 1° is 2°). A body direction error above 90° means head and tail swapped.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from ..geometry import angle_difference, body_direction, head_direction
from ..io import KEYPOINTS

PCK_THRESHOLDS_PX = (1, 2, 3, 5)
PERCENTILES = (90, 95, 99)


def keypoint_errors(pred: np.ndarray, truth: np.ndarray) -> np.ndarray:
    """(N, 3, 2) predictions and labels -> (N, 3) Euclidean errors in px."""
    return np.linalg.norm(np.asarray(pred, np.float64) - truth, axis=-1)


def angular_errors(pred: np.ndarray, truth: np.ndarray) -> dict[str, np.ndarray]:
    """Absolute body and head direction errors in degrees, (N,) each."""
    return {
        "body": np.abs(angle_difference(body_direction(pred), body_direction(truth))),
        "head": np.abs(angle_difference(head_direction(pred), head_direction(truth))),
    }


def error_summary(errors: np.ndarray) -> dict[str, float]:
    summary = {"mean": float(np.mean(errors)), "median": float(np.median(errors))}
    for q in PERCENTILES:
        summary[f"p{q}"] = float(np.percentile(errors, q))
    for t in PCK_THRESHOLDS_PX:
        summary[f"pck@{t}px"] = float(np.mean(errors <= t))
    return summary


def angle_summary(errors: np.ndarray) -> dict[str, float]:
    return {
        "median_deg": float(np.median(errors)),
        "p95_deg": float(np.percentile(errors, 95)),
        "share_over_90deg": float(np.mean(errors > 90)),
    }


def confidence_vs_error(confidence: np.ndarray, errors: np.ndarray, bad_px: float = 3.0) -> dict:
    """Does low confidence flag bad frames? Spearman correlation (expected negative), and how
    often the least confident 10% of keypoints are bad compared with the rest."""
    conf, err = np.ravel(confidence), np.ravel(errors)
    if np.all(conf == conf[0]):  # e.g. seed_cnn reports a constant
        return {"spearman": None, "note": "confidence is constant for this model"}
    rank_c = pd.Series(conf).rank().to_numpy()
    rank_e = pd.Series(err).rank().to_numpy()
    rho = float(np.corrcoef(rank_c, rank_e)[0, 1])
    low = conf <= np.percentile(conf, 10)
    return {
        "spearman": rho,
        f"bad_share_lowest_10pct_confidence(>{bad_px}px)": float(np.mean(err[low] > bad_px)),
        f"bad_share_rest(>{bad_px}px)": float(np.mean(err[~low] > bad_px))
        if (~low).any()
        else None,
    }


def evaluate(
    pred: np.ndarray,
    confidence: np.ndarray,
    truth: np.ndarray,
    baseline_locs: np.ndarray | None = None,
) -> tuple[dict, pd.DataFrame]:
    """All metrics as a JSON-able dict, and a per-frame table.

    `baseline_locs` (3, 2), e.g. the training mean, gives the error of always predicting it:
    a model must beat that to have learnt anything.
    """
    errors = keypoint_errors(pred, truth)
    angles = angular_errors(pred, truth)
    metrics = {
        "n_frames": int(len(truth)),
        "keypoints": {name: error_summary(errors[:, k]) for k, name in enumerate(KEYPOINTS)},
        "all_keypoints": error_summary(errors),
        "body_direction": angle_summary(angles["body"]),
        "head_direction": angle_summary(angles["head"]),
        "confidence_vs_error": confidence_vs_error(confidence, errors),
    }
    if baseline_locs is not None:
        base = np.broadcast_to(np.asarray(baseline_locs, np.float64), truth.shape)
        b_err = keypoint_errors(base, truth)
        metrics["mean_baseline"] = {
            "median_px": {name: float(np.median(b_err[:, k])) for k, name in enumerate(KEYPOINTS)},
            "median_px_all": float(np.median(b_err)),
        }
    frame = pd.DataFrame({"frame": np.arange(len(truth))})
    for k, name in enumerate(KEYPOINTS):
        frame[f"{name}_x"], frame[f"{name}_y"] = pred[:, k, 0], pred[:, k, 1]
        frame[f"{name}_true_x"], frame[f"{name}_true_y"] = truth[:, k, 0], truth[:, k, 1]
        frame[f"{name}_confidence"] = confidence[:, k]
        frame[f"{name}_error_px"] = errors[:, k]
    frame["body_direction_error_deg"] = angles["body"]
    frame["head_direction_error_deg"] = angles["head"]
    frame["head_tail_swapped"] = angles["body"] > 90
    return metrics, frame
