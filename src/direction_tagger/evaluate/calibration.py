"""Calibrated confidence: the probability that a predicted keypoint is within R px of the truth.

The model's own confidence (heatmap sharpness) and the test-time-augmentation spread rank
points by how wrong they are, but their values mean nothing by themselves. A calibration
turns them into probabilities, P(error <= R px) for R = 2 and 3 px: one logistic regression per
radius on two features, logit(confidence) and log(spread + 0.05 px), fitted on the model's
validation frames with the TTA the predictions will use (without TTA the spread feature is a
constant and only confidence counts).

A lab's validation part can be 8 frames; fitted on their 24 points alone, the slopes (held
back by a small ridge penalty) stay near 0 and every frame of a video gets the same
probability (issue #24). So the slopes are fitted on many views -- turned and shifted, each
a new input to the network with labels mapped exactly (views.py) -- of those frames and of the
training frames (a good model can be right on every view of 8 easy frames, which then shows no
slope at all); and the validation frames alone then set the level: the intercept, unpenalised
but for half a pseudo-point each way, so the mean probability on them is their share within R
px and never reaches 1 (the model knows its training frames, and views are harder than frames,
so neither may set it). From 200 validation frames on, the frames fit everything.
Measured on real mice held out by recording with 8 validation frames:
benchmarks/bench_calibration_few_val.py, docs/quality_control.md.
"""

from __future__ import annotations

import numpy as np
from scipy.optimize import minimize, minimize_scalar
from scipy.special import expit

RADII_PX = (2.0, 3.0)
SLOPE_RADII_PX = (1.0, 2.0, 3.0)  # with views: the radii whose slopes may stand in for another's
MIN_MISSES = 20  # view points beyond R that its own slopes need
SPREAD_OFFSET_PX = 0.05  # keeps log(spread) finite for a spread of 0
SPREAD_WITHOUT_TTA_PX = 0.3  # the value the spread feature takes when there is no TTA
RIDGE = 1.0
RELIABILITY_BINS = (0.0, 0.2, 0.4, 0.6, 0.8, 0.9, 0.95, 1.0)


def features(confidence, spread) -> np.ndarray:
    """(..., 2): logit(confidence), log(spread + 0.05 px); a NaN spread (no TTA) -> constant."""
    c = np.clip(np.asarray(confidence, dtype=np.float64), 1e-3, 1 - 1e-3)
    s = np.asarray(spread, dtype=np.float64) if spread is not None else np.full(c.shape, np.nan)
    s = np.where(np.isfinite(s), s, SPREAD_WITHOUT_TTA_PX)
    return np.stack([np.log(c / (1 - c)), np.log(np.maximum(s, 0) + SPREAD_OFFSET_PX)], axis=-1)


def _fit_logistic(x: np.ndarray, y: np.ndarray, ridge: float) -> np.ndarray:
    """[intercept, slopes...] maximising the likelihood of y (0/1) with a ridge on the slopes.

    Half a success and half a failure at the mean features are added (Jeffreys' prior): with
    20 validation frames and no point beyond 3 px, P(within 3 px) stays a little below 1
    instead of running off to certainty."""
    x = np.vstack([x, x.mean(axis=0), x.mean(axis=0)])
    y = np.concatenate([y, [1.0, 0.0]])
    weight = np.concatenate([np.ones(len(y) - 2), [0.5, 0.5]])

    def loss(w):
        z = w[0] + x @ w[1:]
        grad_z = weight * (expit(z) - y)
        value = np.sum(weight * (np.logaddexp(0, z) - y * z)) + ridge * np.sum(w[1:] ** 2)
        grad = np.concatenate([[grad_z.sum()], x.T @ grad_z + 2 * ridge * w[1:]])
        return value, grad

    return minimize(loss, np.zeros(x.shape[1] + 1), jac=True, method="L-BFGS-B").x


def _fit_intercept(offset: np.ndarray, y: np.ndarray) -> float:
    """The intercept b maximising the likelihood of y (0/1) under P = expit(b + offset), with
    Jeffreys' half success and half failure at the mean offset (as `_fit_logistic`)."""
    centre = offset.mean()

    def loss(b):
        z, zc = b + offset, b + centre
        prior = 0.5 * np.logaddexp(0, -zc) + 0.5 * np.logaddexp(0, zc)
        return np.sum(np.logaddexp(0, z) - y * z) + prior

    return float(minimize_scalar(loss, bounds=(-30, 30), method="bounded").x)


def _usable(errors, confidence, spread) -> tuple[np.ndarray, np.ndarray]:
    """(features, errors) of the points with a finite error and features."""
    errors = np.asarray(errors, dtype=np.float64).reshape(-1)
    x = features(confidence, spread).reshape(-1, 2)
    ok = np.isfinite(errors) & np.isfinite(x).all(axis=1)
    return x[ok], errors[ok]


def fit_calibration(
    errors, confidence, spread, tta: int, ridge: float = RIDGE, views=None, n_views: int = 1
) -> dict:
    """A JSON-able calibration from (N, 3) errors (px), confidences and spreads (NaN: no TTA)
    of N labelled frames.

    views: None, or a list of (errors, confidences, spreads) of labelled views (views.py):
    of these frames, `n_views` each, and of frames the model trained on. With views, they fit
    the slopes -- how the chance of being within R px moves with confidence and spread, which
    a few frames cannot show -- and the frames themselves then set the level (the intercept,
    with Jeffreys' half points): views are turned and shifted, and the model knows its
    training frames, so neither says how often it is right on new frames."""
    x, err = _usable(errors, confidence, spread)
    if len(err) < 3:
        raise ValueError(f"{len(err)} usable points to calibrate on; need at least 3")
    vx, verr = (x, err)
    if views:
        usable = [_usable(*v) for v in views]
        vx, verr = np.vstack([u[0] for u in usable]), np.concatenate([u[1] for u in usable])
    coefficients, slopes_from = {}, {}
    for radius in RADII_PX:
        w = _fit_logistic(vx, (verr <= radius).astype(float), ridge)
        slopes_from[f"{radius:g}"] = radius
        if views:
            # Views of a good model's frames may all lie within 3 px: no slope to see there.
            # The slopes of the largest smaller radius with misses stand in (the same
            # features make a point likelier to be off by 1, 2 or 3 px); only the level is R's.
            usable = [r for r in SLOPE_RADII_PX if r <= radius and (verr > r).sum() >= MIN_MISSES]
            if usable and usable[-1] != radius:
                w = _fit_logistic(vx, (verr <= usable[-1]).astype(float), ridge)
                slopes_from[f"{radius:g}"] = usable[-1]
            w[0] = _fit_intercept(x @ w[1:], (err <= radius).astype(float))
        coefficients[f"{radius:g}"] = [float(v) for v in w]
    return {
        "kind": "logistic P(error <= R px) on [logit(confidence), log(spread + 0.05 px)]",
        "tta": int(tta),
        "n_points": int(len(err)),
        "n_frames": int(len(np.asarray(errors))),
        "n_views": int(n_views if views else 1),
        "n_slope_points": int(len(verr)),
        "ridge": ridge,
        "coefficients": coefficients,
        "slopes_from_radius_px": slopes_from,
        "share_within": {f"{r:g}": float(np.mean(err <= r)) for r in RADII_PX},
        "share_within_views": {f"{r:g}": float(np.mean(verr <= r)) for r in RADII_PX},
    }


def confidence_percentiles(confidence) -> dict:
    """{keypoint: {"p5": .., "median": ..}} of the network's confidence (N, 3) on the
    calibration's frames: what a movie like them shows (movies/familiarity.py)."""
    from ..io import KEYPOINTS

    c = np.asarray(confidence, np.float64)
    return {
        k: {"p5": float(np.nanpercentile(c[:, i], 5)), "median": float(np.nanmedian(c[:, i]))}
        for i, k in enumerate(KEYPOINTS)
    }


def load_calibration(path, tta: int | None = None) -> dict:
    """A calibration file, checked (and made for predictions with this TTA, when given:
    another TTA has another spread)."""
    from ..checks import TTA_COUNTS
    from ..io import DataError, read_json, require_finite_lists

    calibration = read_json(path, "calibration")
    if "coefficients" not in calibration or "tta" not in calibration:
        raise DataError(f"{path}: not a calibration (make one with `direction-tagger calibrate`)")
    if calibration["tta"] not in TTA_COUNTS or isinstance(calibration["tta"], bool):
        raise DataError(
            f"{path}: key 'tta' is {calibration['tta']!r}; expected one of {TTA_COUNTS}"
        )
    coefficients = calibration["coefficients"]
    radii = [f"{r:g}" for r in RADII_PX]
    if not isinstance(coefficients, dict) or any(r not in coefficients for r in radii):
        raise DataError(f"{path}: key 'coefficients' must hold the radii {radii}")
    require_finite_lists(coefficients, path, radii, "calibration's coefficients", length=3)
    if tta is not None and int(calibration["tta"]) != int(tta):
        raise DataError(
            f"{path}: calibrated for TTA {calibration['tta']}, but these predictions use TTA "
            f"{tta}; calibrate with --tta {tta}"
        )
    return calibration


def p_within(calibration: dict, confidence, spread, radius: float = 2.0) -> np.ndarray:
    """P(error <= radius px) per point, same shape as `confidence`."""
    key = f"{radius:g}"
    if key not in calibration["coefficients"]:
        raise ValueError(f"calibration has radii {sorted(calibration['coefficients'])}, not {key}")
    w = np.asarray(calibration["coefficients"][key], dtype=np.float64)
    return expit(w[0] + features(confidence, spread) @ w[1:])


def reliability(p: np.ndarray, hit: np.ndarray, bins=RELIABILITY_BINS) -> dict:
    """Predicted probability against observed share, per probability bin (a reliability
    diagram), with the expected calibration error (|mean p - share| weighted by bin size)."""
    p, hit = np.asarray(p, float).reshape(-1), np.asarray(hit, bool).reshape(-1)
    rows = []
    for k, (lo, hi) in enumerate(zip(bins[:-1], bins[1:])):
        inside = (p >= lo) & ((p < hi) if k < len(bins) - 2 else (p <= hi))
        if inside.any():
            rows.append(
                {
                    "bin": [lo, hi],
                    "n": int(inside.sum()),
                    "mean_p": float(p[inside].mean()),
                    "observed": float(hit[inside].mean()),
                }
            )
    ece = sum(r["n"] * abs(r["mean_p"] - r["observed"]) for r in rows) / max(1, len(p))
    return {"bins": rows, "ece": float(ece), "n_points": int(len(p))}


def reliability_figure(diagrams: dict[str, dict], path, title: str) -> None:
    """One panel: observed share against predicted probability, per radius; marker area ~ n."""
    from ..figures import pyplot, save_figure

    fig, ax = pyplot().subplots(figsize=(4.6, 4.4))
    ax.plot([0, 1], [0, 1], color="grey", lw=1, ls="--", label="perfectly calibrated")
    ax.fill_between([0, 1], [-0.1, 0.9], [0.1, 1.1], color="grey", alpha=0.12, label="± 0.1")
    for (name, diagram), colour in zip(diagrams.items(), ("tab:blue", "tab:orange", "tab:green")):
        bins = diagram["bins"]
        if not bins:
            continue
        x = [b["mean_p"] for b in bins]
        y = [b["observed"] for b in bins]
        sizes = [12 + 120 * b["n"] / max(1, diagram["n_points"]) for b in bins]
        ax.plot(x, y, color=colour, lw=1)
        ax.scatter(x, y, s=sizes, color=colour, label=f"{name} (ECE {diagram['ece']:.3f})")
    ax.set(
        xlim=(0, 1),
        ylim=(0, 1.02),
        xlabel="predicted probability",
        ylabel="observed share",
        title=title,
    )
    ax.grid(alpha=0.3)
    ax.legend(loc="upper left", fontsize=8)
    save_figure(fig, path, dpi=110, bbox_inches="tight")
