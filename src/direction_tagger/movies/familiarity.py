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

Per frame (`smooth.unfamiliar: movie`, the default), an unfamiliar keypoint is then judged
against the movie itself instead of the calibration: a frame is doubtful for it where its
confidence is a low outlier among the movie's frames (below the lower Tukey fence, Q1 - 1.5
IQR, of the confidence's log-odds). On the real open-field video this took the flagged share
from 85 % to 6 %, every frame with a point off the animal still flagged; what it cannot do is
say how far off the unfamiliar keypoint is on an ordinary frame of that rig -- the
`*_p_within_2px` columns keep the calibration's doubt, and the movie's warning says so.
`smooth.unfamiliar: calibration` keeps the calibration's per-frame verdict for every keypoint;
so does a movie where every keypoint is unfamiliar (it may not show the animal at all).
Live streams (`RunningFamiliarity`) measure the same on the frames seen so far: from the
150th frame on, again every 30 frames, over the last 9,000.
"""

from __future__ import annotations

import numpy as np

from ..io import KEYPOINT_NAMES, KEYPOINTS
from .qc import DEFAULT_FLAG_RISK, frame_risk

UNFAMILIAR_CHOICES = ("movie", "calibration")
_TUKEY = 1.5  # the fence's distance below the first quartile, in interquartile ranges


def familiarity(
    confidence, calibration: dict | None, p_within_3=None, flag_risk: float = DEFAULT_FLAG_RISK
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
            out[k]["movie_fence"] = low_fence(column)
            out[k]["below_fence_share"] = float(np.mean(~(column >= out[k]["movie_fence"])))
    result = {"unfamiliar": unfamiliar, **out}
    rest = _columns_except(unfamiliar)
    if p_within_3 is not None and unfamiliar and rest and len(confidence):
        risk = frame_risk(np.asarray(p_within_3)[:, rest])
        result["uncertain_share_without_unfamiliar"] = float(np.mean(~(risk <= flag_risk)))
    return result


def low_fence(confidence: np.ndarray) -> float:
    """The lower Tukey fence of a movie's confidence for one keypoint, on the log-odds scale
    (a confidence near 0 or 1 is spread out as the network's own logits are)."""
    c = np.clip(confidence[np.isfinite(confidence)], 1e-4, 1 - 1e-4)
    logit = np.log(c / (1 - c))
    q1, q3 = np.percentile(logit, [25, 75])
    return float(1 / (1 + np.exp(-(q1 - _TUKEY * (q3 - q1)))))


def judged_familiarity(
    confidence,
    calibration: dict | None,
    p_within_3=None,
    flag_risk: float = DEFAULT_FLAG_RISK,
    judge="movie",
) -> dict | None:
    """`familiarity`, and with some keypoint unfamiliar, "judged": who judges it per frame,
    `judge` ("movie" or "calibration"), except that a movie where every keypoint is
    unfamiliar keeps the calibration (it may show no animal at all)."""
    check_judge(judge)
    result = familiarity(confidence, calibration, p_within_3, flag_risk)
    if result is not None and result["unfamiliar"]:
        every = len(result["unfamiliar"]) == len(KEYPOINTS)
        result["judged"] = "calibration" if every else judge
    return result


def check_judge(judge: str) -> None:
    if judge not in UNFAMILIAR_CHOICES:
        raise ValueError(f"unfamiliar is {judge!r}; expected one of {UNFAMILIAR_CHOICES}")


def movie_fences(result: dict | None) -> list[tuple[int, float]]:
    """(keypoint column, movie fence) of the keypoints `result` (judged_familiarity's) has
    the movie judge; [] when the calibration judges every keypoint."""
    if not result or result.get("judged") != "movie":
        return []
    return [
        (i, result[k]["movie_fence"])
        for i, k in enumerate(KEYPOINTS)
        if KEYPOINT_NAMES[k] in result["unfamiliar"]
    ]


def calibration_columns(result: dict | None) -> list[int]:
    """The keypoint columns the calibration judges per frame on the movie of `result`."""
    return _columns_except([KEYPOINT_NAMES[KEYPOINTS[i]] for i, _ in movie_fences(result)])


def _columns_except(names) -> list[int]:
    return [i for i, k in enumerate(KEYPOINTS) if KEYPOINT_NAMES[k] not in names]


def judged_within_movie(confidence, result: dict | None) -> np.ndarray | None:
    """(M, 3) per-frame verdicts for the keypoints `result` has the movie judge, in place of
    their calibrated P(within 3 px): 1 where the confidence is at or above the movie's fence,
    0 below it or missing, NaN for the keypoints the calibration judges. None when it judges
    every keypoint."""
    fences = movie_fences(result)
    if not fences:
        return None
    confidence = np.asarray(confidence, np.float64)
    judged = np.full(confidence.shape, np.nan)
    for i, fence in fences:
        judged[:, i] = confidence[:, i] >= fence
    return judged


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
    head = (
        f"- **{movie}** is unlike the labelled frames: median confidence {parts}, below 95 % "
        "of the validation frames (another rig, light or animal?). "
    )
    if result.get("judged") == "movie":
        fences = ", ".join(
            f"{name} below {result[names[name]]['movie_fence']:.2f}, "
            f"{result[names[name]]['below_fence_share']:.1%} of frames"
            for name in result["unfamiliar"]
        )
        return head + (
            "The calibration, fitted on those frames, cannot say how far off "
            f"{' and '.join(result['unfamiliar'])} is here, so per frame `uncertain` judges it "
            f"against this movie's own frames: it flags the low outliers of its confidence: "
            f"{fences} (smooth.unfamiliar)."
            # no share of the other keypoints here: counted before polarity and the tail
            # bases taken from the tracker's root, it was up to twice what the flags count
            " The `*_p_within_2px` columns keep the calibration's doubt: label a few of its "
            "frames and retrain (`snakemake refine`) to measure it."
        )
    rest = result.get("uncertain_share_without_unfamiliar")
    return head + (
        "Its `uncertain` flags are many for that reason, not frame by frame: label a few of "
        "its frames and retrain."
        + (
            f" With {' and '.join(result['unfamiliar'])} set aside, `uncertain` would flag "
            f"{rest:.1%} of its frames."
            if rest is not None
            else ""
        )
    )


class RunningFamiliarity:
    """The causal version, for live streams: the familiarity of the frames seen so far (the
    last `window`), measured again every `every` frames once `warm_up` frames have come;
    before that every keypoint is judged by the calibration."""

    def __init__(
        self,
        calibration: dict | None,
        judge: str = "movie",
        warm_up: int = 150,
        every: int = 30,
        window: int = 9000,
    ):
        check_judge(judge)
        self.calibration, self.judge = calibration, judge
        self.warm_up, self.every = warm_up, every
        self._seen = np.empty((window, len(KEYPOINTS)))  # a ring: quantiles need no order
        self._count = 0
        self.result: dict | None = None  # familiarity of the frames so far, when measured
        self._fences: list[tuple[int, float]] = []  # (keypoint index, fence) of the result

    def judged(self, confidence) -> np.ndarray:
        """(3,) the next frame's verdicts (judged_within_movie's row: NaN where the
        calibration judges), after counting its network confidence (3,)."""
        confidence = np.asarray(confidence, np.float64)
        if self.judge == "movie" and self.calibration is not None:
            self._seen[self._count % len(self._seen)] = confidence
            self._count += 1
            n = self._count
            if n >= self.warm_up and (n - self.warm_up) % self.every == 0:
                self._measure(self._seen[: min(n, len(self._seen))])
        judged = np.full(len(KEYPOINTS), np.nan)
        for i, fence in self._fences:
            judged[i] = confidence[i] >= fence  # as judged_within_movie, one frame
        return judged

    def _measure(self, seen: np.ndarray) -> None:
        self.result = judged_familiarity(seen, self.calibration, judge=self.judge)
        self._fences = movie_fences(self.result)
