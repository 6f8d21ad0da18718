"""Is this movie like the frames the model was checked on? A movie-level warning.

On footage of a rig the model never saw, the network's confidence drops for a whole keypoint
(on a real video of another rig the neck's median confidence was 0.51, against 0.92 on the
validation frames), and the calibration -- fitted on the labelled rig -- then calls most
frames doubtful: `uncertain` flagged 69 % of that video, most of them frames whose points
looked right. No per-frame threshold can tell whether such a frame is right without labels
of the new rig; what can be said is that the footage is unlike the labelled frames, and
that labelling a few of its frames is what helps. A keypoint counts as unfamiliar when its
median confidence on the movie is below the 5th percentile of its confidence on the
calibration's (validation) frames. How many frames `uncertain` would flag with the
unfamiliar keypoints set aside is said beside it: what the flags say of the rest.
"""

from __future__ import annotations

import numpy as np

from ..io import KEYPOINT_NAMES, KEYPOINTS
from .qc import frame_risk


def familiarity(
    confidence, calibration: dict | None, p_within_3=None, flag_risk: float = 0.2
) -> dict | None:
    """{"unfamiliar": [keypoint names], keypoint: {"movie_median", "validation_median",
    "validation_p5"}} of a movie's network confidence (M, 3); None without a calibration
    that recorded its frames' confidence. With the calibrated P(within 3 px) (M, 3) and some
    keypoint unfamiliar, also "uncertain_share_without_unfamiliar": the share of frames whose
    other keypoints' risk exceeds `flag_risk` (as the `uncertain` flag counts it)."""
    reference = (calibration or {}).get("confidence")
    if not reference:
        return None
    confidence = np.asarray(confidence, np.float64)
    out, unfamiliar = {}, []
    for i, k in enumerate(KEYPOINTS):
        column = confidence[:, i]
        median = float(np.nanmedian(column)) if np.isfinite(column).any() else None
        ref = reference[k]
        out[k] = {
            "movie_median": median,
            "validation_median": ref["median"],
            "validation_p5": ref["p5"],
        }
        if median is not None and median < ref["p5"]:
            unfamiliar.append(KEYPOINT_NAMES[k])
    result = {"unfamiliar": unfamiliar, **out}
    if p_within_3 is not None and unfamiliar and len(confidence):
        rest = [i for i, k in enumerate(KEYPOINTS) if KEYPOINT_NAMES[k] not in unfamiliar]
        risk = frame_risk(np.asarray(p_within_3)[:, rest])
        result["uncertain_share_without_unfamiliar"] = float(np.mean(~(risk <= flag_risk)))
    return result


def familiarity_line(movie: str, result: dict | None) -> str | None:
    """One Markdown line for summary.md when some keypoint is unfamiliar, else None."""
    if not result or not result["unfamiliar"]:
        return None
    names = {v: k for k, v in KEYPOINT_NAMES.items()}
    parts = ", ".join(
        f"{name} {result[names[name]]['movie_median']:.2f} (validation "
        f"{result[names[name]]['validation_median']:.2f})"
        for name in result["unfamiliar"]
    )
    return (
        f"- **{movie}** is unlike the labelled frames: median confidence {parts}, below 95 % "
        "of the validation frames (another rig, light or animal?). Its `uncertain` flags "
        "are many for that reason, not frame by frame: label a few of its frames and retrain."
        + (
            f" With {' and '.join(result['unfamiliar'])} set aside, `uncertain` would flag "
            f"{result['uncertain_share_without_unfamiliar']:.1%} of its frames."
            if result.get("uncertain_share_without_unfamiliar") is not None
            else ""
        )
    )
