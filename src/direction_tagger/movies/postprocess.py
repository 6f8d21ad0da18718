"""From a movie's raw predictions to its cleaned, checked table, in one call:

1. calibrated confidence: P(error <= 2 px) and P(error <= 3 px) of every point, from the
   model's calibration (evaluate/calibration.py); without one, the model's confidence;
2. head/tail polarity chosen over the whole movie (polarity.py), with the tracker's evidence
   on videos (evidence.py), and each frame's certainty of it (`polarity_certainty`, flag
   ``polarity`` below POLARITY_MIN_CERTAINTY);
   On videos, a keypoint the network put off the animal's silhouette is moved onto it
   (videos/silhouette.py; flag ``off_animal``), and the tail base is taken from the
   tracker's tail root where that is likelier right than the network (tail_base.py; column
   `base_from_tail_root`);
3. smoothing (smooth.py) trusting each point by its calibrated confidence. It never deletes a
   point: a gap too long to interpolate shows the raw prediction, marked `<kp>_kept_raw` and
   flagged ``gap``;
4. quality control (qc.py) on the polarity-corrected raw predictions, its ``uncertain`` flag
   from the calibrated risk that some keypoint is more than 3 px off -- except for a keypoint
   the whole movie is unfamiliar with (familiarity.py), judged against the movie's own frames.

Smoothing starts from the model's answer (`model_answer`: in an already smoothed table, its
*_raw positions and its confidence and spread put back in the model's keypoint order), so doing
it twice gives the same table, to the byte.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from ..evaluate.calibration import p_within
from ..io import KEYPOINTS
from .evidence import (
    DEFAULT_NETWORK_ACCURACY,
    PolarityEvidence,
    exchange_log_odds,
    trusted_frames,
)
from .familiarity import calibration_columns, judged_familiarity, judged_within_movie, movie_fences
from .polarity import choose_polarity
from .qc import DEFAULT_FLAG_RISK, frame_motion, frame_risk, qc_flags, summarise_qc
from .smooth import smooth_locs
from .tables import (
    movie_table,
    table_confidence,
    table_fps,
    table_locs,
    table_spread,
)
from .tail_base import RootEstimate, base_from_root, fit_root_estimate, rump_offsets

# Frames whose chosen polarity has a posterior below this are flagged ``polarity``.
POLARITY_MIN_CERTAINTY = 0.9


def network_accuracy(calibration: dict | None) -> float:
    """The model's head/tail accuracy measured on the validation frames (calibrate); without
    that measure (no calibration, or an older one) DEFAULT_NETWORK_ACCURACY: a model never
    measured is not 99.9 % sure of a frame."""
    if calibration is None or "polarity" not in calibration:
        return DEFAULT_NETWORK_ACCURACY
    return float(calibration["polarity"]["accuracy"])


def evidence_log_odds(raw, p2, evidence: PolarityEvidence | None, calibration: dict | None):
    """(M,) nats the evidence adds to each frame's exchange cost, None without evidence; the
    votes measured on the frames where the model is sure of both ends (p2: (M, 3))."""
    if evidence is None:
        return None
    return exchange_log_odds(raw, evidence, network_accuracy(calibration), trusted_frames(p2))


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


def move_onto_animal(locs, onto_animal, exchanged):
    """(locs with the keypoints off the animal moved onto it, (T, 3) bool: which were).
    `onto_animal` (T, 3, 2) is in the model's keypoint order: it follows the exchange."""
    onto = np.where(exchanged[:, None, None], onto_animal[:, [2, 1, 0]], onto_animal)
    moved = np.isfinite(onto).all(axis=2)
    return np.where(moved[..., None], onto, locs), moved


def model_answer(table: pd.DataFrame):
    """(locs (T, 3, 2), confidence (T, 3), spread (T, 3) or None) as the model gave them.

    An already smoothed table keeps the model's positions in its *_raw columns, but its
    confidence and spread columns follow the polarity it chose (tail base and nose exchanged
    where `polarity_exchanged`): exchange them back, or smoothing it again would pair each
    raw point with the other end's confidence."""
    raw = table_locs(table, "_raw")
    confidence, spread = table_confidence(table), table_spread(table)
    if raw is None:
        return table_locs(table), confidence, spread
    if "polarity_exchanged" in table.columns:
        exchanged = table["polarity_exchanged"].to_numpy().astype(bool)
        confidence, spread = _follow(confidence, exchanged), _follow(spread, exchanged)
    return raw, confidence, spread


def calibrated_confidence(calibration: dict | None, confidence, spread):
    """(P(error <= 2 px), P(error <= 3 px)) of every point from the model's calibration;
    without one, (the model's confidence, None)."""
    if calibration is None:
        return confidence, None
    return (
        p_within(calibration, confidence, spread, 2.0),
        p_within(calibration, confidence, spread, 3.0),
    )


@dataclass
class Cleaned:
    """Every per-frame result of cleaning a stretch of frames (the whole movie, or a chunk
    with its context)."""

    raw: np.ndarray  # (T, 3, 2) the model's answer
    truth: np.ndarray | None
    confidence: np.ndarray  # (T, 3), following the polarity
    spread: np.ndarray | None
    p2: np.ndarray  # (T, 3) calibrated P(error <= 2 px) (or the model's confidence)
    p3: np.ndarray | None
    exchanged: np.ndarray  # (T,) bool
    from_root: np.ndarray  # (T,) bool: the tail base is the tracker's tail root's estimate
    certainty: np.ndarray  # (T,) posterior of the chosen polarity
    locs: np.ndarray  # (T, 3, 2) raw with the chosen polarity
    smoothed: np.ndarray  # (T, 3, 2), NaN in long gaps
    shown: np.ndarray  # (T, 3, 2) smoothed, raw where the smoother left a gap
    kept_raw: np.ndarray  # (T, 3) bool
    flags: dict  # {name: (T,) bool}
    fps: float
    calibrated: bool

    def table(self, rows: slice = slice(None), first_frame: int = 0) -> pd.DataFrame:
        """The cleaned tidy table of `rows` (their speed from the rows either side);
        `first_frame`: the movie frame of this stretch's first row."""
        extra = {"polarity_exchanged": self.exchanged, "polarity_certainty": self.certainty}
        if self.from_root is not None:
            extra["base_from_tail_root"] = self.from_root
        for k, name in enumerate(KEYPOINTS):
            extra[f"{name}_kept_raw"] = self.kept_raw[:, k]
            if self.calibrated:
                extra[f"{name}_p_within_2px"] = self.p2[:, k]
        out = movie_table(
            self.shown,
            self.confidence,
            self.spread,
            self.fps,
            self.flags,
            raw_locs=self.raw,
            truth_locs=self.truth,
            extra=extra,
            first_frame=first_frame,
        )
        return out.iloc[rows]


def clean_frames(
    table: pd.DataFrame,
    smoothing: dict,
    checks: dict,
    reference: dict | None,
    fps: float,
    calibration: dict | None,
    exchanged: np.ndarray | None,
    certainty: np.ndarray | None = None,
    evidence: PolarityEvidence | None = None,
    root_estimate: RootEstimate | None = None,
    familiar: dict | None = None,
) -> Cleaned:
    """Steps 1, 3 and 4 of the module docstring on the frames of `table`, with the polarity
    already chosen (`exchanged`: (T,) bool and its `certainty`; None = choose it here, over
    these frames, with the `evidence` of these frames). `root_estimate` (measured on the whole
    movie, `measure_root_estimate`) takes tail bases from the `evidence`'s tail roots.
    `familiar` (the whole movie's `movie_familiarity`): its unfamiliar keypoints are judged
    against the movie's own frames by the ``uncertain`` flag."""
    raw, confidence, spread = model_answer(table)
    judged = judged_within_movie(confidence, familiar)
    truth = table_locs(table, "_true")
    p2, p3 = calibrated_confidence(calibration, confidence, spread)
    if exchanged is None:
        exchanged, certainty = choose_polarity(
            raw,
            p2,
            evidence_log_odds(raw, p2, evidence, calibration),
            network_accuracy(calibration),
        )
    exchanged = np.asarray(exchanged, bool)
    certainty = np.ones(len(raw)) if certainty is None else np.asarray(certainty, np.float64)
    locs = np.where(exchanged[:, None, None], raw[:, [2, 1, 0]], raw)
    confidence, spread, p2, p3, judged = (
        _follow(v, exchanged) for v in (confidence, spread, p2, p3, judged)
    )
    from_root = off_animal = None
    if evidence is not None and evidence.onto_animal is not None:
        locs, off_animal = move_onto_animal(locs, evidence.onto_animal, exchanged)
    if evidence is not None:
        locs, p2, p3, from_root = base_from_root(locs, p2, p3, evidence.tail_root, root_estimate)

    # an unfamiliar keypoint is trusted, by the smoother as by the flags, where the movie
    # itself does not doubt it (familiarity.py); the table keeps the calibrated P
    trust = p2 if judged is None else np.where(np.isnan(judged), p2, judged)
    smoothed = smooth_locs(locs, trust, **smoothing)
    kept_raw = ~np.isfinite(smoothed).all(axis=2) & np.isfinite(locs).all(axis=2)  # (T, 3)
    shown = np.where(kept_raw[..., None], locs, smoothed)

    flag_risk = checks.get("flag_risk", DEFAULT_FLAG_RISK)
    qc_checks = {k: v for k, v in checks.items() if k not in ("flag_risk", "unfamiliar")}
    if p3 is not None:
        verdict = p3 if judged is None else np.where(np.isnan(judged), p3, judged)  # as trust
        qc_checks |= {"p_within_3": verdict, "flag_risk": flag_risk}
    flags = qc_flags(locs, confidence, spread, fps, reference, **qc_checks)
    flags["gap"] = kept_raw.any(axis=1)
    flags["polarity"] = certainty < POLARITY_MIN_CERTAINTY
    if off_animal is not None:
        flags["off_animal"] = off_animal.any(axis=1)
    return Cleaned(
        raw,
        truth,
        confidence,
        spread,
        p2,
        p3,
        exchanged,
        from_root,
        certainty,
        locs,
        smoothed,
        shown,
        kept_raw,
        flags,
        fps,
        calibration is not None,
    )


def movie_familiarity(confidence, p3, calibration, checks: dict) -> dict | None:
    """familiarity.py's verdict on the whole movie's (M, 3) network confidence and calibrated
    P(within 3 px), before polarity; "judged" says how `uncertain` treats an unfamiliar
    keypoint (`checks["unfamiliar"]`: "movie", the default, or "calibration")."""
    return judged_familiarity(
        confidence,
        calibration,
        p3,
        checks.get("flag_risk", DEFAULT_FLAG_RISK),
        checks.get("unfamiliar", "movie"),
    )


def calibrated_risk(p3, familiar: dict | None) -> np.ndarray | None:
    """(M,) the calibrated chance that some keypoint is more than 3 px off, over the keypoints
    the calibration judges on this movie (not those the movie judges itself)."""
    return None if p3 is None else frame_risk(np.asarray(p3)[:, calibration_columns(familiar)])


def root_offsets(table: pd.DataFrame, calibration: dict | None, evidence) -> np.ndarray | None:
    """tail_base.rump_offsets of the frames of `table` (None: nothing to measure: no tail
    roots, or no calibration to say where the network is sure)."""
    if evidence is None or calibration is None:
        return None
    raw, confidence, spread = model_answer(table)
    _, p3 = calibrated_confidence(calibration, confidence, spread)
    return rump_offsets(raw, p3, evidence.tail_root)


def measure_root_estimate(table, calibration, evidence) -> RootEstimate | None:
    """How the tracker's tail roots predict the tail base on this movie (tail_base.py)."""
    offsets = root_offsets(table, calibration, evidence)
    return None if offsets is None else fit_root_estimate(offsets)


def root_summary(estimate: RootEstimate | None, from_root) -> dict | None:
    if estimate is None:
        return None
    return estimate.summary(int(np.sum(from_root)))


def movie_summary(
    flags: dict,
    m: int,
    fps: float,
    motion: dict,
    settings: dict,
    calibrated: bool,
    exchanged: np.ndarray,
    certainty: np.ndarray,
    risk: np.ndarray | None,
    kept_raw: int,
    left_missing: int,
    tail_base: dict | None = None,
    familiar: dict | None = None,
) -> dict:
    """The QC summary JSON of a movie from its per-frame values (`motion`: qc.frame_motion's
    step, jitter and shift, each (n, 3) over the frames where it is defined)."""
    summary = summarise_qc(flags, m, fps, **motion)
    summary["settings"] = settings
    summary["calibrated"] = calibrated
    summary["polarity"] = {
        "exchanged_frames": int(exchanged.sum()),
        "exchanged_share": float(exchanged.mean()) if m else None,
        "doubtful_frames": int((certainty < POLARITY_MIN_CERTAINTY).sum()),
        "min_certainty": float(certainty.min()) if m else None,
    }
    summary["points_kept_raw"] = int(kept_raw)
    summary["frames_left_missing"] = int(left_missing)
    if tail_base is not None:
        summary["tail_base_from_root"] = tail_base
    if familiar is not None:
        summary["familiarity"] = familiar
    if risk is not None:
        any_flag = np.any(list(flags.values()), axis=0)
        summary["expected_share_off_3px"] = _expected_off(risk, any_flag)
        if movie_fences(familiar):  # the calibration does not speak for these here
            summary["expected_share_off_3px"]["without"] = familiar["unfamiliar"]
    return summary


def smooth_and_check(
    table: pd.DataFrame,
    smoothing: dict,
    checks: dict,
    reference: dict | None = None,
    fps: float | None = None,
    calibration: dict | None = None,
    polarity: bool = True,
    evidence: PolarityEvidence | None = None,
) -> Smoothed:
    """`smoothing`: smooth_locs keywords (method, window, polyorder, min_confidence, max_gap,
    outlier_px; min_confidence applies to the calibrated P(error <= 2 px) when there is a
    calibration); `checks`: qc_flags keywords (max_jump_px, max_spread_px, min_confidence,
    flag_risk); `reference`: the labelled set's skeleton geometry (qc-reference), or None;
    `evidence`: polarity evidence of a tracked video (evidence.py), or None.
    The whole movie in memory; chunked.smooth_file gives the same a chunk at a time."""
    fps = fps or table_fps(table)
    m = len(table)
    exchanged = None if polarity else np.zeros(m, bool)
    estimate = measure_root_estimate(table, calibration, evidence)
    _, confidence, spread = model_answer(table)
    familiar = movie_familiarity(
        confidence, calibrated_confidence(calibration, confidence, spread)[1], calibration, checks
    )
    c = clean_frames(
        table,
        smoothing,
        checks,
        reference,
        fps,
        calibration,
        exchanged,
        evidence=evidence,
        root_estimate=estimate,
        familiar=familiar,
    )
    summary = movie_summary(
        c.flags,
        m,
        fps,
        frame_motion(c.locs, c.shown),
        smoothing | checks | {"polarity": polarity},
        c.calibrated,
        c.exchanged,
        c.certainty,
        calibrated_risk(c.p3, familiar),
        c.kept_raw.sum(),
        (~np.isfinite(c.shown).all(axis=(1, 2))).sum(),
        root_summary(estimate, c.from_root),
        familiar,
    )
    return Smoothed(c.table(), c.shown, c.p2, summary)
