"""From the model's answer on each frame of a stream to a result, using only that frame and
the ones before it: calibrated P per point, polarity (movies/causal_polarity.py), directions
and the QC flags that need no future frame.

With a polarity lag of k frames, frame t's result is made when frame t + k has come (its
polarity decided with k frames of hindsight, `causal_polarity.LivePolarity`): results come
k frames late, each saying how late (`FrameResult.lag_frames`), and `flush()` gives the
last k at the end of a stream.

QC flags are `movies.qc.qc_flags`'s, which look back at most two frames (a jump or a swap is
judged against frames t-1 and t-2): run on the last three frames, its last row is exactly
what it gives that frame over the whole movie. Flags that need later frames (the smoother's
`gap`) are not made live. A keypoint the stream so far is unfamiliar with is judged against
the stream's own frames (movies/familiarity.py, `RunningFamiliarity`), as `smooth` does.
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass, field

import numpy as np

from ..evaluate.calibration import p_within
from ..geometry import body_direction, head_direction
from ..movies.causal_polarity import LivePolarity
from ..movies.familiarity import RunningFamiliarity
from ..movies.postprocess import POLARITY_MIN_CERTAINTY, network_accuracy
from ..movies.qc import DEFAULT_FLAG_RISK, qc_flags

QC_LOOKBACK = 3  # qc_flags compares a frame with the two before it
# the `smooth` command's defaults (commands/movies.py), so live flags mean what offline ones do
DEFAULT_CHECKS = {"max_jump_px": None, "max_spread_px": 2.0, "min_confidence": 0.5}


@dataclass
class FrameResult:
    """One frame's answer. Positions (x, y) px of the 50x50 crop (x = column, y = row, pixel
    centres at integers), keypoints in the order tail base, neck, nose; angles degrees in
    [0, 360), 0 = right, 90 = up on screen."""

    frame: int
    locs: np.ndarray  # (3, 2) with the chosen polarity
    locs_raw: np.ndarray  # (3, 2) the model's answer
    confidence: np.ndarray  # (3,) the model's, following the polarity
    spread: np.ndarray  # (3,) TTA spread px, NaN without TTA
    p_within_2px: np.ndarray  # (3,) calibrated P(error <= 2 px); the confidence uncalibrated
    p_within_3px: np.ndarray | None  # (3,) calibrated P(error <= 3 px); None uncalibrated
    polarity_exchanged: bool
    body_direction_deg: float  # tail base -> neck
    head_direction_deg: float  # neck -> nose
    flags: dict = field(default_factory=dict)  # {qc flag: bool}
    # posterior of the chosen polarity given the frames so far (flag `polarity` below 0.9)
    polarity_certainty: float = 1.0
    # with tracking (Tagger.track): the crop in the video, and the keypoints in video px
    crop_x: float = float("nan")
    crop_y: float = float("nan")
    crop_side: float = float("nan")
    found: bool = True
    locs_video: np.ndarray | None = None
    locs_raw_video: np.ndarray | None = None
    # frames that came after this one before its result was made (the polarity lag)
    lag_frames: int = 0
    tracked: object = None  # what CausalStream.add was given with the frame (Tagger: Tracked)


class CausalStream:
    """Results frame after frame; `reset()` before an unrelated stream. `polarity_lag`:
    frames of hindsight for the polarity (module docstring)."""

    def __init__(
        self,
        calibration: dict | None = None,
        reference: dict | None = None,
        fps: float = 30.0,
        checks: dict | None = None,
        flag_risk: float = DEFAULT_FLAG_RISK,
        polarity: bool = True,
        polarity_lag: int = 0,
        unfamiliar: str = "movie",
    ):
        self.calibration, self.reference, self.fps = calibration, reference, float(fps)
        self.unfamiliar = unfamiliar
        self.checks = dict(DEFAULT_CHECKS | (checks or {}))
        if calibration is not None:
            self.checks |= {"flag_risk": flag_risk}
        self.polarity = polarity
        self.polarity_lag = int(polarity_lag)
        if self.polarity_lag < 0:
            raise ValueError(f"the polarity lag is 0 or more frames, got {polarity_lag}")
        # the offline chain's: the model's measured polarity accuracy caps its certainty, and
        # the labelled frames' tail-root accuracy caps the tail root's (movies/postprocess.py)
        self.network_accuracy = network_accuracy(calibration)
        self.tail_accuracy = ((reference or {}).get("tail_root") or {}).get("accuracy")
        self.reset()

    def reset(self) -> None:
        self._polarity: LivePolarity | None = None  # made on the first frame (tracked or not)
        self._waiting: deque = deque()  # frames whose polarity is not decided yet
        self._history: deque = deque(maxlen=QC_LOOKBACK)  # (locs, confidence, spread, p3)
        self._frame = 0
        # a keypoint the stream so far is unfamiliar with is judged against the stream's
        # own frames, as the offline chain does (movies/familiarity.py)
        self.familiarity = RunningFamiliarity(self.calibration, self.unfamiliar)

    def calibrated(self, confidence, spread):
        """(P(error <= 2 px), P(error <= 3 px)) per point; (confidence, None) uncalibrated."""
        if self.calibration is None:
            return np.asarray(confidence, np.float64), None
        return (
            p_within(self.calibration, confidence, spread, 2.0),
            p_within(self.calibration, confidence, spread, 3.0),
        )

    def add(self, locs, confidence, spread, seen=None, tracked=None) -> FrameResult | None:
        """The result of the frame `polarity_lag` frames back (None until then) after the
        model's answer on the next frame: locs (3, 2), confidence (3,), spread (3,) (NaN
        without TTA). `seen`: the tracker's movies.causal_evidence.TrackedEvidence of the
        frame (tracked videos: tail root, crop centre), its polarity evidence; `tracked`:
        handed back with the frame's result."""
        raw = np.asarray(locs, np.float64)
        confidence = np.asarray(confidence, np.float64)
        spread = np.asarray(spread, np.float64)
        p2, p3 = self.calibrated(confidence, spread)
        if p3 is not None:  # the flags' P: the stream's own verdict for an unfamiliar keypoint
            judged = self.familiarity.judged(confidence)
            p3 = np.stack([p3, np.where(np.isnan(judged), p3, judged)])
        self._waiting.append((self._frame, raw, confidence, spread, p2, p3, tracked))
        self._frame += 1
        if not self.polarity:
            return self._result(False, 1.0)
        if self._polarity is None:
            self._polarity = LivePolarity(
                self.polarity_lag,
                self.fps,
                self.network_accuracy,
                self.tail_accuracy,
                evidence=seen is not None,
            )
        answer = self._polarity.add(raw, p2, seen)
        return None if answer is None else self._result(*answer)

    def flush(self) -> list[FrameResult]:
        """The results not made yet (the last `polarity_lag` frames), at a stream's end."""
        states = [] if self._polarity is None else self._polarity.flush()
        results = [self._result(*answer) for answer in states]
        self._polarity = None  # a stream going on after this starts the filter afresh
        return results

    def _result(self, exchanged: bool, certainty: float) -> FrameResult:
        """The oldest waiting frame's result, with its polarity decided."""
        frame, raw, confidence, spread, p2, p3, tracked = self._waiting.popleft()
        order = [2, 1, 0] if exchanged else [0, 1, 2]
        shown, confidence, spread = raw[order], confidence[order], spread[order]
        p2 = p2[order]
        p3, p3_flags = (None, None) if p3 is None else p3[:, order]
        self._history.append((shown, confidence, spread, p3_flags))
        return FrameResult(
            frame=frame,
            locs=shown,
            locs_raw=raw,
            confidence=confidence,
            spread=spread,
            p_within_2px=p2,
            p_within_3px=p3,
            polarity_exchanged=bool(exchanged),
            body_direction_deg=float(body_direction(shown[None])[0]),
            head_direction_deg=float(head_direction(shown[None])[0]),
            flags=self._flags() | {"polarity": certainty < POLARITY_MIN_CERTAINTY},
            polarity_certainty=float(certainty),
            lag_frames=self._frame - 1 - frame,
            tracked=tracked,
        )

    def _flags(self) -> dict:
        columns = zip(*self._history)
        locs, confidence, spread, p3 = (None if v[0] is None else np.stack(v) for v in columns)
        return last_flags(locs, confidence, spread, p3, self.fps, self.reference, self.checks)


def sequence_flags(locs, confidence, spread, p3, fps, reference, checks) -> dict:
    """qc_flags of a sequence of frames (T, ...) with the calibrated risk when `p3` is given."""
    options = dict(checks)
    if p3 is not None:
        options["p_within_3"] = p3
    else:
        options.pop("flag_risk", None)
    return qc_flags(locs, confidence, spread, fps, reference, **options)


def last_flags(locs, confidence, spread, p3, fps, reference, checks) -> dict:
    """The flags of the last of a few frames, as plain bools."""
    flags = sequence_flags(locs, confidence, spread, p3, fps, reference, checks)
    return {name: bool(values[-1]) for name, values in flags.items()}
