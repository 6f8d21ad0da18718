"""Is this movie like the frames the model was checked on? A movie-level warning.

On footage of a rig the model never saw, the network's confidence drops for a whole keypoint
(on a real video of another rig the neck's median confidence was 0.51, against 0.92 on the
validation frames), and the calibration -- fitted on the labelled rig -- then calls most
frames doubtful: `uncertain` flagged 69 % of that video, most of them frames whose points
looked right. No per-frame threshold can tell whether such a frame is right without labels
of the new rig; what can be said is that the footage is unlike the labelled frames, and
that labelling a few of its frames is what helps. A keypoint counts as unfamiliar when its
median confidence on the movie is below the 5th percentile of its confidence on the
calibration's (validation) frames.
"""

from __future__ import annotations

import numpy as np

from ..io import KEYPOINT_NAMES, KEYPOINTS


def familiarity(confidence, calibration: dict | None) -> dict | None:
    """{"unfamiliar": [keypoint names], keypoint: {"movie_median", "validation_median",
    "validation_p5"}} of a movie's network confidence (M, 3); None without a calibration
    that recorded its frames' confidence."""
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
    return {"unfamiliar": unfamiliar, **out}


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
    )
