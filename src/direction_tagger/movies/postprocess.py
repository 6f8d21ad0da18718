"""From a movie's raw predictions to its smoothed, checked table: smoothing + QC in one call.

Smoothing starts from the raw values (the *_raw columns of an already smoothed table), so
doing it twice gives the same table. QC flags are computed on the raw predictions.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from .qc import qc_flags, qc_summary
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
    table: pd.DataFrame  # smoothed positions and directions, raw alongside, qc_* flags
    dlc_locs: np.ndarray  # (T, 3, 2) smoothed, the raw prediction where smoothing left a gap
    confidence: np.ndarray  # (T, 3)
    qc: dict  # qc_summary, with the settings used and the frames left missing


def smooth_and_check(
    table: pd.DataFrame,
    smoothing: dict,
    checks: dict,
    reference: dict | None = None,
    fps: float | None = None,
) -> Smoothed:
    """`smoothing`: smooth_locs keywords (method, window, polyorder, min_confidence, max_gap,
    outlier_px); `checks`: qc_flags keywords (max_jump_px, max_spread_px, min_confidence);
    `reference`: the labelled set's skeleton geometry (qc-reference), or None."""
    raw = table_locs(table, "_raw")
    if raw is None:
        raw = table_locs(table)
    confidence = table_confidence(table)
    spread = table_spread(table)
    truth = table_locs(table, "_true")
    fps = fps or table_fps(table)

    smoothed = smooth_locs(raw, confidence, **smoothing)
    flags = qc_flags(raw, confidence, spread, fps, reference, **checks)
    out = movie_table(smoothed, confidence, spread, fps, flags, raw_locs=raw, truth_locs=truth)
    summary = qc_summary(flags, raw, fps, smoothed=smoothed)
    summary["settings"] = smoothing | checks
    summary["frames_left_missing"] = int((~np.isfinite(smoothed).all(axis=(1, 2))).sum())
    dlc_locs = np.where(np.isfinite(smoothed), smoothed, raw)
    return Smoothed(out, dlc_locs, confidence, summary)
