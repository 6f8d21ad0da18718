"""The tracker's head/tail evidence (evidence.py) frame by frame, as the frames come, for the
live polarity filter (causal_polarity.py).

Offline, a frame's evidence looks at frames on both sides and its weights at the whole movie:
its tail root is checked against the median of the ROOT_WINDOW roots around it
(`steady_roots`), its direction of travel is the central difference of the crop centres
TRAVEL_HALF_WINDOW frames each side (`travel_directions`), and each vote's weight is the
logit of its accuracy measured on all the movie's trusted frames (`movie_accuracy`).

Live, frame s is judged `lookahead` frames later, with what has come by then: the same
windows, cut at the newest frame (the root's median over the frames s - 7 ... s + lookahead;
the travel over the 2 x TRAVEL_HALF_WINDOW frames ending min(lookahead, 3) frames after s),
and the votes weighed by their accuracy measured on the trusted frames so far (frame s
included). From lookahead 7 on, a frame's root and travel are the offline ones; the weights
converge on the movie's as the frames add up. The body length (the root's tolerance and the
travel's speed threshold) is the median of the last LENGTH_FRAMES measured lengths, offline
the movie's median.

Positions: tail roots in crop px, crop centres and body lengths in video px (the track
table's columns); pixel centres at integers.
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass

import numpy as np

from ..io import FRAME_SIZE as CROP_PX
from .evidence import (
    ROOT_MAX_OFF,
    ROOT_WINDOW,
    TRAVEL_HALF_WINDOW,
    TRAVEL_MIN_SPEED,
    accuracy_from_votes,
    logit,
    tail_votes,
    travel_votes,
    trusted_frames,
)

ROOT_HALF = ROOT_WINDOW // 2
FULL_LOOKAHEAD = max(ROOT_HALF, TRAVEL_HALF_WINDOW)  # from here on, the offline windows
LENGTH_FRAMES = 1000  # measured body lengths the running median looks back over


@dataclass
class TrackedEvidence:
    """What the tracker saw on one frame (a row of the track table)."""

    tail_root: tuple[float, float]  # crop px, NaN where no tail was seen
    centre: tuple[float, float]  # the crop centre, video px
    crop_side: float  # video px
    body_length_px: float  # video px, NaN where the animal was not found


class CausalEvidence:
    """`add` per frame, in order -> what the evidence adds to the exchange cost (nats) of
    the frame `lookahead` frames back (None until then); `flush` at the end of a stream."""

    def __init__(
        self,
        fps: float,
        network_accuracy: float | None = None,
        tail_accuracy: float | None = None,
        lookahead: int = 0,
    ):
        self.fps = float(fps)
        self.network_accuracy, self.tail_accuracy = network_accuracy, tail_accuracy
        self.lookahead = int(lookahead)
        back = max(ROOT_HALF, 2 * TRAVEL_HALF_WINDOW)
        self._size = self.lookahead + back + 1  # the frames a judgement reads
        self.reset()

    def reset(self) -> None:
        self._frames: deque = deque(maxlen=self._size)  # (locs, trusted, root, centre)
        self._newest = -1  # index of the newest frame
        self._lengths = np.zeros((LENGTH_FRAMES, 2))  # a ring of measured lengths: video, crop px
        self._measured = 0  # lengths measured so far
        self._counts = [0, 0, 0, 0]  # tail keep, tail votes, travel keep, travel votes
        self.weights = (0.0, 0.0)  # the weights of the last frame judged (nats)
        self.votes = (0, 0)  # its tail root's and travel's votes (+1 keep, -1 exchange, 0)

    def add(self, locs, p_within, seen: TrackedEvidence) -> float | None:
        """locs (3, 2) the model's keypoints (crop px), p_within (3,) calibrated P(within
        2 px), `seen` the tracker's evidence of this frame."""
        self._newest += 1
        length = float(seen.body_length_px)
        if np.isfinite(length):
            here = self._measured % LENGTH_FRAMES
            self._lengths[here] = (length, length * CROP_PX / seen.crop_side)
            self._measured += 1
        trusted = bool(trusted_frames(np.asarray(p_within, np.float64)[None])[0])
        root = np.asarray(seen.tail_root, np.float64)
        centre = np.asarray(seen.centre, np.float64)
        self._frames.append((np.asarray(locs, np.float64), trusted, root, centre))
        if self._newest < self.lookahead:
            return None
        return self._judge(self._newest - self.lookahead)

    def flush(self) -> list[float]:
        """The frames not judged yet (the last `lookahead`), with the windows cut at the end."""
        first = max(0, self._newest - self.lookahead + 1)
        return [self._judge(s) for s in range(first, self._newest + 1)]

    def _row(self, s: int):
        return self._frames[s - (self._newest - len(self._frames) + 1)]

    def _judge(self, s: int) -> float:
        """Frame s's log odds, from the frames up to the newest."""
        oldest = self._newest - len(self._frames) + 1
        body, crop_body = np.nan, np.nan  # no length measured yet: no vote
        if self._measured:
            body, crop_body = np.median(self._lengths[: self._measured], axis=0)
        locs, trusted, root, _ = self._row(s)
        root = self._steady(s, root, oldest, crop_body)
        travel = self._travel(s, oldest, body)
        tail = int(tail_votes(locs[None], root[None])[0])
        moving = int(travel_votes(locs[None], travel[None])[0])
        if trusted:  # the votes' accuracies, measured on the trusted frames so far
            self._counts[0] += tail == 1
            self._counts[1] += tail != 0
            self._counts[2] += moving == 1
            self._counts[3] += moving != 0
        keep_t, votes_t, keep_m, votes_m = self._counts
        a_tail = accuracy_from_votes(keep_t, votes_t, self.network_accuracy)
        if self.tail_accuracy is not None:
            a_tail = min(a_tail, max(0.5, self.tail_accuracy))
        a_move = accuracy_from_votes(keep_m, votes_m, self.network_accuracy)
        self.weights = (logit(a_tail), logit(a_move))
        self.votes = (tail, moving)
        return self.weights[0] * tail + self.weights[1] * moving

    def _steady(self, s: int, root, oldest: int, crop_body: float) -> np.ndarray:
        """The root, or NaN where it strays from its neighbours' median (steady_roots)."""
        if not np.isfinite(crop_body) or not np.isfinite(root).all():
            return root
        first, last = max(oldest, s - ROOT_HALF), min(self._newest, s + ROOT_HALF)
        roots = np.array([self._row(i)[2] for i in range(first, last + 1)])
        roots = roots[np.isfinite(roots).all(axis=1)]  # the frame's own is among them
        median = np.median(roots, axis=0)
        if np.linalg.norm(root - median) > ROOT_MAX_OFF * crop_body:
            return np.full(2, np.nan)
        return root

    def _travel(self, s: int, oldest: int, body: float) -> np.ndarray:
        """Unit direction of travel (travel_directions) over the frames ending
        min(lookahead, TRAVEL_HALF_WINDOW) after s; NaN when slow or not yet known."""
        h = TRAVEL_HALF_WINDOW
        end = min(s + h, self._newest)
        start = end - 2 * h
        if start < max(0, oldest) or not np.isfinite(body) or body <= 0:
            return np.full(2, np.nan)
        velocity = (self._row(end)[3] - self._row(start)[3]) * (self.fps / (2 * h))
        speed = float(np.linalg.norm(velocity))
        if not speed >= TRAVEL_MIN_SPEED * body:
            return np.full(2, np.nan)
        return velocity / speed


def evidence_rows(track) -> list[TrackedEvidence]:
    """The track table's (videos/track.py) rows as TrackedEvidence, as `live`'s tracker
    sees them frame by frame (no tail root columns: no tail seen)."""
    m = len(track)
    if "tail_root_x_crop" in track.columns:
        root = track[["tail_root_x_crop", "tail_root_y_crop"]].to_numpy(np.float64)
    else:
        root = np.full((m, 2), np.nan)
    centre = track[["crop_x", "crop_y"]].to_numpy(np.float64)
    side = track["crop_side"].to_numpy(np.float64)
    length = track["body_length_px"].to_numpy(np.float64)
    return [
        TrackedEvidence(tuple(root[t]), tuple(centre[t]), float(side[t]), float(length[t]))
        for t in range(m)
    ]
