"""Confidence-aware smoothing of keypoint tracks and direction traces (pure numpy functions).

Keypoints, per keypoint and coordinate over time:

1. points with confidence below `min_confidence` (or non-finite) are dropped (NaN);
2. points farther than `outlier_px` from the running median of their track (window `window`)
   are dropped too -- a confident but isolated jump (e.g. a one-frame head/tail swap) would
   otherwise be smeared over the neighbouring frames by the filter;
3. gaps of at most `max_gap` frames with data on both sides are filled by linear
   interpolation; longer gaps, and gaps at the start or end, stay NaN;
4. each run of finite values is filtered: Savitzky-Golay (`method="savgol"`, polynomial
   `polyorder`) or a running median (`method="median"`); runs shorter than the window get the
   largest odd window that fits (and are left as they are below 3 frames).

Directions (degrees, [0, 360)) are smoothed as unit vectors (cos, sin), then turned back into
an angle with atan2, so a trace crossing 0/360 does not jump.
"""

from __future__ import annotations

import warnings

import numpy as np
from scipy.ndimage import median_filter
from scipy.signal import savgol_filter

from ..io import DataError

METHODS = ("savgol", "median")


def _runs(valid: np.ndarray) -> list[tuple[int, int]]:
    """[start, stop) of the runs of True in a 1-D bool array."""
    padded = np.concatenate([[False], valid, [False]])
    edges = np.flatnonzero(np.diff(padded.astype(np.int8)))
    return list(zip(edges[::2], edges[1::2]))


def fill_gaps(x: np.ndarray, max_gap: int) -> np.ndarray:
    """Linearly interpolate NaN gaps of at most `max_gap` samples along axis 0 that have
    finite values on both sides; other NaN stay. x: (T,) or (T, ...)."""
    x = np.array(x, dtype=np.float64)
    flat = x.reshape(len(x), -1)
    t = np.arange(len(x))
    for col in flat.T:
        missing = ~np.isfinite(col)
        if not missing.any() or missing.all():
            continue
        for start, stop in _runs(missing):
            if start == 0 or stop == len(col) or stop - start > max_gap:
                continue
            col[start:stop] = np.interp(
                t[start:stop], [start - 1, stop], [col[start - 1], col[stop]]
            )
    return x


def _filter_runs(x: np.ndarray, method: str, window: int, polyorder: int) -> np.ndarray:
    """Filter each run of finite samples of a 1-D array; NaN stay NaN."""
    out = x.copy()
    for start, stop in _runs(np.isfinite(x)):
        n = stop - start
        w = min(window, n if n % 2 else n - 1)
        if w < 3:
            continue
        seg = x[start:stop]
        if method == "savgol":
            out[start:stop] = savgol_filter(seg, w, min(polyorder, w - 1), mode="interp")
        else:
            out[start:stop] = median_filter(seg, size=w, mode="nearest")
    return out


def check_settings(method: str, window: int, polyorder: int) -> None:
    """DataError (a ValueError) unless the filter settings work together."""
    if method not in METHODS:
        raise DataError(f"smoothing method is {method!r}; expected one of {METHODS}")
    if int(window) != window or window < 1:
        raise DataError(f"smoothing window is {window}; expected a positive integer (frames)")
    if method == "savgol" and window > 1 and polyorder >= (window if window % 2 else window - 1):
        raise DataError(
            f"smoothing polyorder {polyorder} must be smaller than the window ({window} frames)"
        )


def _odd(window: int) -> int:
    return int(window) if window % 2 else int(window) + 1


def drop_outliers(track: np.ndarray, window: int, outlier_px: float) -> np.ndarray:
    """Set to NaN the points of a (T, 2) track farther than `outlier_px` from the running
    median (per coordinate, NaN-aware, `window` frames) of the track."""
    track = np.array(track, dtype=np.float64)
    w = max(3, _odd(window))
    half = w // 2
    padded = np.pad(track, ((half, half), (0, 0)), mode="constant", constant_values=np.nan)
    windows = np.lib.stride_tricks.sliding_window_view(padded, w, axis=0)  # (T, 2, w)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # all-NaN windows give NaN: fine
        centre = np.nanmedian(windows, axis=-1)
    dist = np.hypot(*(track - centre).T)
    track[dist > outlier_px] = np.nan
    return track


def smooth_locs(
    locs,
    confidence=None,
    method: str = "savgol",
    window: int = 7,
    polyorder: int = 2,
    min_confidence: float = 0.5,
    max_gap: int = 5,
    outlier_px: float | None = 6.0,
) -> np.ndarray:
    """Smooth (T, K, 2) keypoint tracks (x, y px) over time; returns float64 (T, K, 2).

    confidence: (T, K) in [0, 1] or None (all trusted). Points below `min_confidence` and
    points farther than `outlier_px` (px; None = off) from the running median of their track
    are dropped; gaps of at most `max_gap` frames are interpolated; then each coordinate is
    filtered with `method` ("savgol" with `polyorder`, or "median") over `window` frames
    (made odd). Frames inside longer gaps are NaN in the result.
    """
    check_settings(method, window, polyorder)
    locs = np.array(locs, dtype=np.float64)
    if locs.ndim != 3 or locs.shape[2] != 2:
        raise ValueError(f"locs have shape {locs.shape}; expected (T, K, 2)")
    if confidence is not None:
        confidence = np.asarray(confidence, dtype=np.float64)
        if confidence.shape != locs.shape[:2]:
            raise ValueError(f"confidence has shape {confidence.shape}; expected {locs.shape[:2]}")
        with np.errstate(invalid="ignore"):
            low = ~(confidence >= min_confidence)  # NaN confidence counts as low
        locs[low] = np.nan
    window = _odd(window)
    out = np.empty_like(locs)
    for k in range(locs.shape[1]):
        track = locs[:, k]
        if outlier_px is not None:
            track = drop_outliers(track, window, outlier_px)
        track = fill_gaps(track, max_gap)
        for c in range(2):
            out[:, k, c] = _filter_runs(track[:, c], method, window, polyorder)
    return out


def smooth_angles(
    deg, window: int = 7, method: str = "savgol", polyorder: int = 2, max_gap: int = 0
) -> np.ndarray:
    """Smooth a direction trace in degrees; returns degrees in [0, 360), NaN where input is NaN
    (gaps up to `max_gap` frames are interpolated on the unit circle first).

    The unit vector (cos, sin) is filtered, not the angle, so 359 -> 1 is a 2-degree step.
    """
    check_settings(method, window, polyorder)
    rad = np.radians(np.asarray(deg, dtype=np.float64))
    vec = np.stack([np.cos(rad), np.sin(rad)], axis=-1)
    if max_gap:
        vec = fill_gaps(vec, max_gap)
    window = _odd(window)
    smoothed = np.stack(
        [_filter_runs(vec[:, c], method, window, polyorder) for c in range(2)], axis=-1
    )
    return np.degrees(np.arctan2(smoothed[:, 1], smoothed[:, 0])) % 360.0
