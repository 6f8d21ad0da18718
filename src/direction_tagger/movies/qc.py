"""Label-free quality control of per-frame predictions (pure numpy functions).

`qc_flags` marks, per frame, what a lab should look at. Flags (dict keys; the tables prefix
them with ``qc_``):

- ``jump``: some keypoint moved more than `max_jump_px` since the previous frame. A one-frame
  glitch is flagged once, on the glitch: the frame that comes back to where the track was two
  frames earlier is not flagged again.
- ``spread``: the test-time-augmentation spread of some keypoint exceeds `max_spread_px`
  (never set when the spread is NaN, i.e. TTA was off).
- ``low_confidence``: some keypoint's confidence is below `min_confidence`.
- ``uncertain`` (replaces ``spread`` and ``low_confidence`` when the model is calibrated,
  `p_within_3` given): the calibrated chance that some keypoint is more than 3 px off,
  1 - prod_k P(error_k <= 3 px), exceeds `flag_risk` (`DEFAULT_FLAG_RISK`, 0.2: one in five).
- ``geometry``: tail base->neck length, neck->nose length, their sum (body length) or the head
  angle relative to the body lies outside the range seen in the training labels (`reference`
  from `geometry_reference`: its 0.5th-99.5th percentile range, widened on each side by
  `geometry_margin` of its width, at least 1 px / 10 deg). Never set without a reference.
  A body that is only *short* (a segment or the body length below the range, nothing too
  long, the head angle in range) on a frame whose points are confident (not ``uncertain`` /
  ``low_confidence``) and consistent (no ``jump`` on the frame or the next) is behaviour --
  a rat rearing or grooming, seen from above -- and is not flagged (on a real video 85 % of
  the geometry flags were such frames, their points right).
- ``swap``: head/tail swap suspected: the body direction turns by 180 +- `swap_tolerance_deg`
  between consecutive frames, or tail base and nose trade places (the crossed assignment
  base->previous nose, nose->previous base is the closer one). Like ``jump``, a one-frame swap
  is flagged on the swapped frame only; a longer one on the frames where it starts and ends.

Positions are (x, y) px, angles degrees (see geometry.py).
"""

from __future__ import annotations

import math

import numpy as np

from ..geometry import angle_difference, body_direction, head_direction
from ..io import KEYPOINT_NAMES, KEYPOINTS

FLAG_NAMES = ("jump", "spread", "low_confidence", "geometry", "swap")
REFERENCE_PERCENTILES = (0.5, 2.5, 50.0, 97.5, 99.5)
GEOMETRY_MEASURES = ("base_neck_px", "neck_nose_px", "body_length_px", "head_relative_deg")
# the reference range is widened at least this much (labels are noisy by about a pixel)
GEOMETRY_MIN_PAD_PX = 1.0
GEOMETRY_MIN_PAD_DEG = 10.0
# `uncertain`: flag a frame whose calibrated chance of a keypoint > 3 px off exceeds this
# (smooth.flag_risk's default; docs/quality_control.md measures the choice)
DEFAULT_FLAG_RISK = 0.2


def geometry_measures(locs: np.ndarray) -> dict[str, np.ndarray]:
    """Per-frame skeleton measures of (N, 3, 2) keypoints: segment lengths (px) and the head
    direction relative to the body (degrees in [-180, 180), positive = head turned
    counter-clockwise on screen)."""
    locs = np.asarray(locs, dtype=np.float64)
    base_neck = np.linalg.norm(locs[:, 1] - locs[:, 0], axis=-1)
    neck_nose = np.linalg.norm(locs[:, 2] - locs[:, 1], axis=-1)
    return {
        "base_neck_px": base_neck,
        "neck_nose_px": neck_nose,
        "body_length_px": base_neck + neck_nose,
        "head_relative_deg": angle_difference(head_direction(locs), body_direction(locs)),
    }


def geometry_reference(train_locs: np.ndarray) -> dict:
    """Percentiles of the skeleton measures over training labels (N, 3, 2), JSON-serialisable.

    Returns {"n_labels": N, "percentiles": [0.5, 2.5, 50, 97.5, 99.5],
    "base_neck_px": [...], "neck_nose_px": [...], "body_length_px": [...],
    "head_relative_deg": [...]}, one value per percentile.
    """
    train_locs = np.asarray(train_locs, dtype=np.float64)
    if train_locs.ndim != 3 or train_locs.shape[1:] != (len(KEYPOINTS), 2) or not len(train_locs):
        raise ValueError(f"train_locs have shape {train_locs.shape}; expected (N>0, 3, 2)")
    measures = geometry_measures(train_locs)
    ref = {"n_labels": int(len(train_locs)), "percentiles": list(REFERENCE_PERCENTILES)}
    for name in GEOMETRY_MEASURES:
        ref[name] = [float(v) for v in np.nanpercentile(measures[name], REFERENCE_PERCENTILES)]
    return ref


def _check_reference(reference: dict) -> None:
    missing = [k for k in ("percentiles", *GEOMETRY_MEASURES) if k not in reference]
    if missing:
        raise ValueError(f"geometry reference lacks {missing}; make it with geometry_reference()")


def _max_step(locs: np.ndarray, lag: int) -> np.ndarray:
    """Largest keypoint displacement (px) between frame t and t - lag; NaN for t < lag."""
    out = np.full(len(locs), np.nan)
    if len(locs) > lag:
        out[lag:] = np.linalg.norm(locs[lag:] - locs[:-lag], axis=-1).max(axis=-1)
    return out


def _onsets(event: np.ndarray, returned: np.ndarray) -> np.ndarray:
    """Event frames, except a frame whose event only undoes the previous frame's event
    (`returned[t]`: frame t agrees with frame t - 2)."""
    prev = np.concatenate([[False], event[:-1]])
    return event & ~(prev & returned)


def _swap_events(locs: np.ndarray, lag: int, tolerance_deg: float) -> np.ndarray:
    """Frames t whose orientation is flipped relative to frame t - lag."""
    m = len(locs)
    event = np.zeros(m, bool)
    if m <= lag:
        return event
    body = body_direction(locs)
    with np.errstate(invalid="ignore"):
        flip = np.abs(angle_difference(body[lag:], body[:-lag])) >= 180.0 - tolerance_deg
        base, nose = locs[:, 0], locs[:, 2]
        straight = np.linalg.norm(base[lag:] - base[:-lag], axis=-1) + np.linalg.norm(
            nose[lag:] - nose[:-lag], axis=-1
        )
        crossed = np.linalg.norm(base[lag:] - nose[:-lag], axis=-1) + np.linalg.norm(
            nose[lag:] - base[:-lag], axis=-1
        )
        traded = crossed < straight
    event[lag:] = flip | traded
    return event


def qc_flags(
    locs,
    confidence,
    spread=None,
    fps: float = 30.0,
    reference: dict | None = None,
    *,
    max_jump_px: float | None = None,
    max_spread_px: float = 2.0,
    min_confidence: float = 0.5,
    geometry_margin: float = 0.1,
    swap_tolerance_deg: float = 30.0,
    p_within_3=None,
    flag_risk: float = DEFAULT_FLAG_RISK,
) -> dict[str, np.ndarray]:
    """Per-frame QC flags of raw predictions; returns {name: (M,) bool} for FLAG_NAMES.

    locs: (M, 3, 2) px; confidence: (M, 3); spread: (M, 3) px or None / all-NaN; fps: frames
    per second; reference: from `geometry_reference` (None: geometry never flagged).
    max_jump_px: largest plausible move of a keypoint between frames, px; None = 180 px/s at
    the movie's fps, at least 3 px (a rat's nose rarely moves faster in a 50 px crop).
    """
    locs = np.asarray(locs, dtype=np.float64)
    m = len(locs)
    if locs.shape != (m, len(KEYPOINTS), 2):
        raise ValueError(f"locs have shape {locs.shape}; expected (M, 3, 2)")
    confidence = np.asarray(confidence, dtype=np.float64)
    if confidence.shape != (m, len(KEYPOINTS)):
        raise ValueError(f"confidence has shape {confidence.shape}; expected ({m}, 3)")
    fps = float(fps)
    if not math.isfinite(fps) or fps <= 0:
        raise ValueError(f"fps is {fps}; expected a positive number")
    if max_jump_px is None:
        max_jump_px = max(3.0, 180.0 / fps)

    with np.errstate(invalid="ignore"):
        step1, step2 = _max_step(locs, 1), _max_step(locs, 2)
        jump = _onsets(step1 > max_jump_px, step2 <= max_jump_px)
        swap = _onsets(
            _swap_events(locs, 1, swap_tolerance_deg),
            ~_swap_events(locs, 2, swap_tolerance_deg) & (step2 <= max_jump_px),
        )
        low = (~(confidence >= min_confidence)).any(axis=1)
        if spread is None:
            wide = np.zeros(m, bool)
        else:
            spread = np.asarray(spread, dtype=np.float64)
            if spread.shape != (m, len(KEYPOINTS)):
                raise ValueError(f"spread has shape {spread.shape}; expected ({m}, 3)")
            wide = (spread > max_spread_px).any(axis=1)
        short, odd = np.zeros(m, bool), np.zeros(m, bool)
        if reference is not None:
            _check_reference(reference)
            pct = list(reference["percentiles"])
            lo_i, hi_i = pct.index(min(pct)), pct.index(max(pct))
            for name, values in geometry_measures(locs).items():
                lo, hi = reference[name][lo_i], reference[name][hi_i]
                floor = GEOMETRY_MIN_PAD_DEG if name.endswith("_deg") else GEOMETRY_MIN_PAD_PX
                pad = max(geometry_margin * (hi - lo), floor)
                below, above = values < lo - pad, values > hi + pad
                if name.endswith("_deg"):
                    odd |= below | above
                else:
                    short |= below
                    odd |= above
    if p_within_3 is not None:
        risk = frame_risk(p_within_3)
        uncertain = ~(risk <= flag_risk)  # NaN (a keypoint missing) counts as uncertain
        geometry = _geometry(short, odd, uncertain, jump)
        return {"jump": jump, "uncertain": uncertain, "geometry": geometry, "swap": swap}
    geometry = _geometry(short, odd, low | wide, jump)
    return {"jump": jump, "spread": wide, "low_confidence": low, "geometry": geometry, "swap": swap}


def _geometry(short, odd, doubtful, jump) -> np.ndarray:
    """The geometry flag: a skeleton out of range, except a short body with confident and
    consistent points (behaviour, see the module docstring)."""
    unsteady = jump | np.concatenate([jump[1:], [False]])
    return odd | (short & (doubtful | unsteady))


def frame_risk(p_within_3) -> np.ndarray:
    """(M,) calibrated chance that some keypoint of the frame is more than 3 px off."""
    return 1.0 - np.prod(np.asarray(p_within_3, dtype=np.float64), axis=1)


def _longest_run(flag: np.ndarray) -> tuple[int, int]:
    """(length, start) of the longest run of True; (0, -1) when none."""
    if not flag.any():
        return 0, -1
    padded = np.concatenate([[False], flag, [False]])
    edges = np.flatnonzero(np.diff(padded.astype(np.int8)))
    starts, stops = edges[::2], edges[1::2]
    i = int(np.argmax(stops - starts))
    return int(stops[i] - starts[i]), int(starts[i])


def _num(x) -> float | None:
    x = float(x)
    return x if math.isfinite(x) else None


def frame_motion(locs, smoothed=None) -> dict[str, np.ndarray | None]:
    """Per-frame motion of (M, 3, 2) keypoints for `summarise_qc`: step (M-1, 3), the move
    from each frame to the next, px; jitter (M-2, 3), each inner frame's distance from the
    midpoint of its neighbours, px; shift (M, 3), raw-to-`smoothed` distance, px (None
    without `smoothed`)."""
    locs = np.asarray(locs, dtype=np.float64)
    m = len(locs)
    step = np.linalg.norm(np.diff(locs, axis=0), axis=-1) if m > 1 else np.full((0, 3), np.nan)
    if m > 2:
        jitter = np.linalg.norm(locs[1:-1] - (locs[:-2] + locs[2:]) / 2, axis=-1)
    else:
        jitter = np.full((0, 3), np.nan)
    shift = None
    if smoothed is not None:
        shift = np.linalg.norm(np.asarray(smoothed, np.float64) - locs, axis=-1)
    return {"step": step, "jitter": jitter, "shift": shift}


def qc_summary(flags: dict[str, np.ndarray], locs, fps: float, smoothed=None) -> dict:
    """JSON-able summary of `qc_flags` output for a movie.

    Keys: n_frames, fps, duration_s; flagged_share and flagged_frames per flag and "any";
    longest_flagged_run (frames, seconds, start_frame, over "any"); median_step_px (median
    frame-to-frame move of each keypoint, px); median_jitter_px (median distance of each
    keypoint from the midpoint of its neighbours in time, px: high-frequency noise); and with
    `smoothed` (M, 3, 2), median_smoothing_shift_px (median raw-to-smoothed distance).
    Keypoints are named tail_base, neck, nose.
    """
    return summarise_qc(flags, len(locs), fps, **frame_motion(locs, smoothed))


def summarise_qc(flags: dict[str, np.ndarray], m: int, fps: float, step, jitter, shift=None):
    """`qc_summary` from the flags of M frames and their `frame_motion` (which may come in
    pieces, concatenated: medians do not depend on the order)."""
    names = {k: KEYPOINT_NAMES[k].replace(" ", "_") for k in KEYPOINTS}
    flags = {
        k.removeprefix("qc_"): np.asarray(v, bool)
        for k, v in flags.items()
        if k not in ("any", "qc_any")
    }
    any_flag = np.any(list(flags.values()), axis=0) if flags else np.zeros(m, bool)
    share = {k: _num(v.mean()) if m else None for k, v in flags.items()}
    count = {k: int(v.sum()) for k, v in flags.items()}
    share["any"] = _num(any_flag.mean()) if m else None
    count["any"] = int(any_flag.sum())
    run, start = _longest_run(any_flag)

    def per_keypoint(values):  # (T, 3) distances -> {name: median}
        with np.errstate(all="ignore"):
            med = [
                np.nanmedian(values[:, k]) if np.isfinite(values[:, k]).any() else np.nan
                for k in range(len(KEYPOINTS))
            ]
        return {names[kp]: _num(v) for kp, v in zip(KEYPOINTS, med)}

    summary = {
        "n_frames": int(m),
        "fps": float(fps),
        "duration_s": _num(m / fps),
        "flagged_share": share,
        "flagged_frames": count,
        "longest_flagged_run": {
            "frames": run,
            "seconds": _num(run / fps),
            "start_frame": start if run else None,
        },
        "median_step_px": per_keypoint(step),
        "median_jitter_px": per_keypoint(jitter),
    }
    if shift is not None:
        summary["median_smoothing_shift_px"] = per_keypoint(shift)
    return summary
