"""From a movie's raw predictions to its cleaned, checked table, in one call:

1. calibrated confidence: P(error <= 2 px) and P(error <= 3 px) of every point, from the
   model's calibration (evaluate/calibration.py); without one, the model's confidence;
2. head/tail polarity chosen over the whole movie (polarity.py);
3. smoothing (smooth.py) trusting each point by its calibrated confidence. It never deletes a
   point: a gap too long to interpolate shows the raw prediction, marked `<kp>_kept_raw` and
   flagged ``gap``;
4. quality control (qc.py) on the polarity-corrected raw predictions, its ``uncertain`` flag
   from the calibrated risk that some keypoint is more than 3 px off.

Smoothing starts from the raw values (the *_raw columns of an already smoothed table, which
are the predictions as the model made them), so doing it twice gives the same table.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from ..evaluate.calibration import p_within
from ..io import KEYPOINTS
from .polarity import fix_polarity
from .qc import frame_risk, qc_flags, qc_summary
from .smooth import smooth_locs
from .tables import (
    movie_table,
    table_confidence,
    table_fps,
    table_locs,
    table_spread,
)


@dataclass
class Smoothed:
    table: pd.DataFrame  # cleaned positions and directions, raw alongside, qc_* flags
    locs: np.ndarray  # (T, 3, 2) the table's positions: never NaN where the model predicted
    likelihood: np.ndarray  # (T, 3) calibrated P(error <= 2 px) (or the model's confidence)
    qc: dict  # qc_summary, with the settings used, polarity and the expected errors


def _follow(values, exchanged: np.ndarray):
    """Per-keypoint (T, 3) values reordered on the frames whose tail base and nose were
    exchanged, so each column stays with its keypoint."""
    if values is None:
        return None
    values = np.asarray(values, dtype=np.float64)
    return np.where(exchanged[:, None], values[:, [2, 1, 0]], values)


def _expected_off(risk: np.ndarray, flagged: np.ndarray) -> dict:
    def mean(mask):
        return float(np.nanmean(risk[mask])) if mask.any() else None

    return {
        "all": mean(np.ones(len(risk), bool)),
        "flagged": mean(flagged),
        "unflagged": mean(~flagged),
    }


def smooth_and_check(
    table: pd.DataFrame,
    smoothing: dict,
    checks: dict,
    reference: dict | None = None,
    fps: float | None = None,
    calibration: dict | None = None,
    polarity: bool = True,
) -> Smoothed:
    """`smoothing`: smooth_locs keywords (method, window, polyorder, min_confidence, max_gap,
    outlier_px; min_confidence applies to the calibrated P(error <= 2 px) when there is a
    calibration); `checks`: qc_flags keywords (max_jump_px, max_spread_px, min_confidence,
    flag_risk); `reference`: the labelled set's skeleton geometry (qc-reference), or None."""
    raw = table_locs(table, "_raw")
    if raw is None:
        raw = table_locs(table)
    confidence = table_confidence(table)
    spread = table_spread(table)
    truth = table_locs(table, "_true")
    fps = fps or table_fps(table)
    m = len(raw)

    if calibration is not None:
        p2 = p_within(calibration, confidence, spread, 2.0)
        p3 = p_within(calibration, confidence, spread, 3.0)
    else:
        p2, p3 = confidence, None
    if polarity:
        locs, exchanged = fix_polarity(raw, p2)
    else:
        locs, exchanged = raw.copy(), np.zeros(m, bool)
    confidence, spread, p2, p3 = (_follow(v, exchanged) for v in (confidence, spread, p2, p3))

    smoothed = smooth_locs(locs, p2, **smoothing)
    kept_raw = ~np.isfinite(smoothed).all(axis=2) & np.isfinite(locs).all(axis=2)  # (T, 3)
    shown = np.where(kept_raw[..., None], locs, smoothed)

    flag_risk = checks.get("flag_risk", 0.2)
    qc_checks = {k: v for k, v in checks.items() if k != "flag_risk"}
    if p3 is not None:
        qc_checks |= {"p_within_3": p3, "flag_risk": flag_risk}
    flags = qc_flags(locs, confidence, spread, fps, reference, **qc_checks)
    flags["gap"] = kept_raw.any(axis=1)

    extra = {"polarity_exchanged": exchanged}
    for k, name in enumerate(KEYPOINTS):
        extra[f"{name}_kept_raw"] = kept_raw[:, k]
        if calibration is not None:
            extra[f"{name}_p_within_2px"] = p2[:, k]
    out = movie_table(
        shown, confidence, spread, fps, flags, raw_locs=raw, truth_locs=truth, extra=extra
    )

    summary = qc_summary(flags, locs, fps, smoothed=shown)
    summary["settings"] = smoothing | checks | {"polarity": polarity}
    summary["calibrated"] = calibration is not None
    summary["polarity"] = {
        "exchanged_frames": int(exchanged.sum()),
        "exchanged_share": float(exchanged.mean()) if m else None,
    }
    summary["points_kept_raw"] = int(kept_raw.sum())
    summary["frames_left_missing"] = int((~np.isfinite(shown).all(axis=(1, 2))).sum())
    if p3 is not None:
        any_flag = np.any(list(flags.values()), axis=0)
        summary["expected_share_off_3px"] = _expected_off(frame_risk(p3), any_flag)
    return Smoothed(out, shown, p2, summary)
