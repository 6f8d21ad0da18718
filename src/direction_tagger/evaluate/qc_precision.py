"""How often each QC flag points at a real error, measured on held-out labelled frames.

A flag is worth a lab's time when the frames it marks are wrong. On labelled frames the
model never trained on, a frame is *wrong* when some keypoint lies more than `radius_px`
(3 px) from its label; each flag's **precision** is the share of the frames it marks that
are wrong, and **caught** counts the wrong frames it marks. Only the flags a single frame can
raise are measured (``uncertain``, ``geometry``; ``jump`` and ``swap`` need neighbours).
"""

from __future__ import annotations

import numpy as np


def flag_precision(flags: dict, errors, radius_px: float = 3.0) -> dict:
    """flags: {name: (N,) bool}; errors: (N, 3) px. JSON-able {frames, wrong_frames,
    radius_px, flags: {name: {flagged, flagged_share, precision, caught}}, any: {...}}."""
    errors = np.asarray(errors, np.float64)
    wrong = ~(errors <= radius_px).all(axis=1)  # a missing prediction counts as wrong
    n = len(errors)

    def measure(flag):
        flag = np.asarray(flag, bool)
        k = int(flag.sum())
        return {
            "flagged": k,
            "flagged_share": k / n if n else None,
            "precision": float(wrong[flag].mean()) if k else None,
            "caught": int((wrong & flag).sum()),
        }

    any_flag = np.any(list(flags.values()), axis=0) if flags else np.zeros(n, bool)
    return {
        "frames": n,
        "wrong_frames": int(wrong.sum()),
        "radius_px": radius_px,
        "flags": {name: measure(flag) for name, flag in flags.items()},
        "any": measure(any_flag),
    }


def single_frame_flags(locs, confidence, spread, calibration, reference) -> dict:
    """The flags the movie chain would raise on isolated frames (N, 3, 2): ``uncertain`` from
    the calibration (with none: ``low_confidence`` and ``spread``) and ``geometry`` from the
    label reference; ``jump`` and ``swap`` left out (they need neighbours)."""
    from ..movies.postprocess import calibrated_confidence
    from ..movies.qc import qc_flags

    _, p3 = calibrated_confidence(calibration, confidence, spread)
    extra = {} if p3 is None else {"p_within_3": p3}
    flags = qc_flags(locs, confidence, spread, reference=reference, **extra)
    return {k: v for k, v in flags.items() if k not in ("jump", "swap")}
