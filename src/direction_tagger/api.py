"""The public Python API: load a trained run once, then tag frames in a notebook or live.

    from direction_tagger import Tagger

    tagger = Tagger.from_run("results/demo")        # model.pt + its calibration
    result = tagger.predict(crops)                   # (N, 50, 50) uint8 crops, in time order
    result.head_direction_deg, result.locs, result.p_within_2px, result.flags["jump"]

    for frame in video_frames:                       # full frames (H, W) uint8, one at a time
        r = tagger.track(frame)                      # None while the background is learnt
        if r is not None:
            r.head_direction_deg, r.locs_video

Conventions are the tables': (x, y) px, x = column, y = row, pixel centres at integers;
keypoints in the order tail base, neck, nose; angles degrees in [0, 360), 0 = right, 90 = up
on screen. Everything a result holds is decided from its frame and the frames before it
(causal): head/tail polarity by the forward filter (movies/causal_polarity.py; with
`polarity_lag=k`, k frames later), the QC flags that need no later frame. The keypoints before polarity (`locs_raw`) are the batch
`predict` command's, to float rounding (tested within 1e-4 px).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from .io import DataError
from .live.stream import CausalStream, FrameResult, sequence_flags

__all__ = ["FrameResult", "Result", "Tagger"]


@dataclass
class Result:
    """`Tagger.predict`'s answer for N frames; the fields of FrameResult, one row per frame."""

    locs: np.ndarray  # (N, 3, 2) with the chosen polarity
    locs_raw: np.ndarray  # (N, 3, 2) the model's answer
    confidence: np.ndarray  # (N, 3), following the polarity
    spread: np.ndarray  # (N, 3) px, NaN without TTA
    p_within_2px: np.ndarray  # (N, 3) calibrated (the confidence when uncalibrated)
    p_within_3px: np.ndarray | None
    polarity_exchanged: np.ndarray  # (N,) bool
    polarity_certainty: np.ndarray  # (N,) posterior of the chosen polarity, frames so far
    body_direction_deg: np.ndarray  # (N,)
    head_direction_deg: np.ndarray  # (N,)
    flags: dict  # {qc flag: (N,) bool}

    def __len__(self) -> int:
        return len(self.locs)

    def table(self, fps: float = 30.0):
        """The tidy table of the `predict` / `smooth` commands (movies/tables.py): one row
        per frame, raw positions as *_raw columns, qc_* flags."""
        from .io import KEYPOINTS
        from .movies.tables import movie_table

        extra = {
            "polarity_exchanged": self.polarity_exchanged,
            "polarity_certainty": self.polarity_certainty,
        }
        for k, name in enumerate(KEYPOINTS):
            extra[f"{name}_p_within_2px"] = self.p_within_2px[:, k]
        return movie_table(
            self.locs,
            self.confidence,
            self.spread,
            fps,
            self.flags,
            raw_locs=self.locs_raw,
            extra=extra,
        )


def _run_calibration(run: Path, tta: int | None) -> Path | None:
    """The run's calibration for `tta` transforms; tta None: the one with the fewest
    (fastest live). None when the run has none."""
    folder = run / "calibration"
    if tta is not None:
        path = folder / f"tta{int(tta)}.json"
        if not path.is_file():
            made = sorted(p.name for p in folder.glob("tta*.json"))
            raise DataError(
                f"{path}: no calibration for TTA {tta} in this run (it has {made or 'none'}); "
                f"make one with `direction-tagger calibrate --tta {tta}`"
            )
        return path
    found = []
    for path in folder.glob("tta*.json"):
        count = path.stem.removeprefix("tta")
        if count.isdigit():
            found.append((int(count), path))
    return min(found)[1] if found else None


class Tagger:
    """A trained model, loaded once, with its calibration.

    `model_path`: a model.pt from `train`; `calibration_path`: its calibration JSON (from
    `calibrate`; it sets the TTA unless `tta` is given, and then must match it); `tta`: test-
    time augmentation transforms (0, 2, 4 or 8; each costs one more pass of the model);
    `reference_path`: the labelled set's skeleton geometry (`qc-reference`) for the geometry
    flag; `fps`: frames per second (QC's jump threshold); `precision`: "fp32" (default, the
    single-frame choice), "bf16" or "auto"; `threads`: torch threads (None: leave torch's;
    1 for the lowest latency per frame); `track`: videos.track.TrackSettings for `track`
    (default: the batch tracker's, with the crop centred on each frame's own detection);
    `background`: the empty arena for `track`, an (H, W) image or (K, H, W) frames (default:
    learnt from the first frames it is given); `polarity_lag`: frames of hindsight for the
    head/tail polarity (0: decided on the frame; k: a frame's result comes when frame t + k
    has, k / fps later, `flush()` giving the last k at the end; see live/stream.py);
    `unfamiliar`: "movie" (default) judges a keypoint the stream so far is unfamiliar with
    against the stream's own frames for the `uncertain` flag, "calibration" by the
    calibration (movies/familiarity.py; the workflow's `smooth.unfamiliar`).
    """

    def __init__(
        self,
        model_path,
        calibration_path=None,
        *,
        tta: int | None = None,
        reference_path=None,
        fps: float = 30.0,
        device: str = "cpu",
        precision: str = "fp32",
        threads: int | None = None,
        track=None,
        background=None,
        warm_up: bool = True,
        polarity_lag: int = 0,
        unfamiliar: str = "movie",
    ):
        from .evaluate.calibration import load_calibration
        from .live.engine import FrameModel, latency_setup
        from .movies.predict import load_predictor

        calibration = None
        if calibration_path is not None:
            calibration = load_calibration(calibration_path, tta)
            tta = int(calibration["tta"])
        self.tta = int(tta or 0)
        reference = None
        if reference_path is not None:
            from .commands.movies import _read_reference

            reference = _read_reference(reference_path)
        if threads is not None:  # set torch up for single frames; else leave it as it is
            latency_setup(threads)
        self.predictor, self.metadata = load_predictor(model_path, device, None, precision)
        self.model = FrameModel(self.predictor, self.tta)
        self.calibration = calibration
        self.fps = float(fps)
        self.stream = CausalStream(
            calibration, reference, self.fps, polarity_lag=polarity_lag, unfamiliar=unfamiliar
        )
        self._track_settings, self._background = track, background
        self.tracker = None
        if warm_up:
            self.model.warm_up()

    @classmethod
    def from_run(cls, run, tta: int | None = None, **options) -> Tagger:
        """The model of a workflow run folder (`results/<run>`): its model.pt, the
        calibration for `tta` (None: the run's calibration with the fewest transforms) and
        its label_reference.json when there. Other options as for Tagger()."""
        run = Path(run)
        model = run / "model.pt"
        if not model.is_file():
            raise DataError(f"{run}: no model.pt in this folder (a run folder: results/<run>)")
        calibration = _run_calibration(run, tta)
        if calibration is None and tta is None:
            tta = 0
        reference = run / "label_reference.json"
        return cls(
            model,
            calibration,
            tta=tta,
            reference_path=reference if reference.is_file() else None,
            **options,
        )

    # ----------------------------------------------------------------- many crops at once

    def predict(self, frames, batch_size: int = 1024) -> Result:
        """Tag (N, 50, 50) uint8 crops, taken as consecutive frames of one movie: the batch
        path's keypoints, then the causal polarity and QC, as `predict_frame` would give them
        frame by frame. Independent of the live stream (`predict_frame`, `track`)."""
        from .geometry import body_direction, head_direction
        from .movies.causal_polarity import apply_states, live_polarity
        from .movies.familiarity import RunningFamiliarity
        from .movies.postprocess import POLARITY_MIN_CERTAINTY

        frames = np.asarray(frames)
        if frames.ndim != 3 or frames.shape[1:] != (50, 50) or frames.dtype != np.uint8:
            raise DataError(
                f"frames are (N, 50, 50) uint8 crops, got {frames.dtype} {frames.shape}"
            )
        pred = self.predictor.predict(frames, tta=self.tta, batch_size=batch_size)
        raw = pred.locs.astype(np.float64)
        confidence = pred.confidence.astype(np.float64)
        spread = pred.spread.astype(np.float64)
        p2, p3 = self.stream.calibrated(confidence, spread)
        states, certainty = np.zeros(len(raw), bool), np.ones(len(raw))
        if self.stream.polarity:
            stream = self.stream
            states, certainty = live_polarity(
                raw, p2, stream.polarity_lag, self.fps, stream.network_accuracy
            )
        locs = apply_states(raw, states)

        def follow(values):
            if values is None:
                return None
            return np.where(states[:, None], np.asarray(values)[:, [2, 1, 0]], values)

        verdict = p3  # the flags' P: as the stream's, an unfamiliar keypoint judged causally
        if p3 is not None:
            running = RunningFamiliarity(self.calibration, self.stream.unfamiliar)
            judged = np.stack([running.judged(c) for c in confidence])
            verdict = np.where(np.isnan(judged), p3, judged)
        confidence, spread, p2, p3, verdict = (
            follow(v) for v in (confidence, spread, p2, p3, verdict)
        )
        flags = sequence_flags(
            locs, confidence, spread, verdict, self.fps, self.stream.reference, self.stream.checks
        )
        flags["polarity"] = certainty < POLARITY_MIN_CERTAINTY
        return Result(
            locs,
            raw,
            confidence,
            spread,
            p2,
            p3,
            states,
            certainty,
            body_direction(locs),
            head_direction(locs),
            flags,
        )

    # ----------------------------------------------------------------- one frame at a time

    def predict_frame(self, crop) -> FrameResult | None:
        """Tag the next (50, 50) uint8 crop of the live stream (its polarity and flags
        follow from the frames given before it, since the last `reset`). With a polarity
        lag k, the result of the crop k crops back (None for the first k)."""
        return self.stream.add(*self.model(crop))

    def flush(self) -> list[FrameResult]:
        """At the end of a stream, the results still held back by the polarity lag (the last
        k frames, decided with what came before the end); [] without a lag."""
        return [self._video_px(result) for result in self.stream.flush()]

    def track(self, frame) -> FrameResult | None:
        """Find the animal in the next full video frame (H, W) uint8, crop it and tag the
        crop; keypoints also in video px (`locs_video`). None while the tracker is still
        learning the background or the animal's size (live/tracker.py)."""
        return self.tag_tracked(self.find(frame))

    def find(self, frame):
        """`track`'s first half: the tracker's live.tracker.Tracked crop of the next full
        frame (None while it learns). `live` runs it in its own thread, so that finding the
        animal in one frame overlaps tagging the one before."""
        from .live.tracker import LiveTracker

        if self.tracker is None:
            self.tracker = LiveTracker(self._track_settings, self._background)
        tracked = self.tracker.add(frame)
        if tracked is not None:
            tracked.frame = self.tracker.frames_seen - 1  # the video's frame, learning counted
        return tracked

    def tag_tracked(self, tracked) -> FrameResult | None:
        """`track`'s second half: tag a Tracked crop (None stays None; with a polarity lag,
        the result of the frame k tracked frames back)."""
        from .movies.causal_evidence import TrackedEvidence
        from .videos.crop import video_to_crop

        if tracked is None:
            return None
        det = tracked.detection
        centre, side = np.array([[tracked.x, tracked.y]]), np.array([tracked.side])
        root = video_to_crop(np.array([[[det.tail_x, det.tail_y]]]), centre, side)[0, 0]
        length = det.length if det.found else np.nan
        seen = TrackedEvidence(tuple(root), (tracked.x, tracked.y), tracked.side, length)
        return self._video_px(self.stream.add(*self.model(tracked.crop), seen, tracked))

    def _video_px(self, result: FrameResult | None) -> FrameResult | None:
        """A tracked frame's result with its crop and keypoints in video px."""
        from .videos.crop import crop_to_video

        if result is None or result.tracked is None:
            return result
        tracked = result.tracked
        result.frame = tracked.frame
        centre, side = np.array([[tracked.x, tracked.y]]), np.array([tracked.side])
        result.crop_x, result.crop_y, result.crop_side = tracked.x, tracked.y, tracked.side
        result.found = tracked.detection.found
        result.locs_video = crop_to_video(result.locs[None], centre, side)[0]
        result.locs_raw_video = crop_to_video(result.locs_raw[None], centre, side)[0]
        return result

    def use_tracker(self, tracker) -> None:
        """Track with this live.tracker.LiveTracker (e.g. LiveTracker.from_video)."""
        self.tracker = tracker

    def reset(self) -> None:
        """Start a new stream: polarity and QC forget the frames before; the tracker keeps
        its background and body length but forgets where the animal was."""
        self.stream.reset()
        if self.tracker is not None:
            self.tracker.reset()
