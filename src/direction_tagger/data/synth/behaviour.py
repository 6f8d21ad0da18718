"""The synthetic rat's behaviour in a movie: bouts of walking, pausing, turning and turning
around, as per-frame postures and the crop's travel through the arena.

State variables (heading, bend, head yaw, stretch, drift) relax toward the targets of the
current bout; no keypoint moves more than `max_step` px between frames. Angles in radians
(see body.py); times in seconds.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, fields

import numpy as np

from ...geometry import CENTRE
from .body import Posture, body_dims, inside_shift, keypoints, unit


@dataclass
class _Behaviour:
    """Targets the animal's state relaxes toward; set when a new bout starts (SI units)."""

    mode: str = "pause"
    left: float = 0.0  # seconds left in this bout
    speed: float = 0.0  # px/s
    omega: float = 0.0  # rad/s
    stretch: float = 0.9  # nose-base path length relative to the animal's own
    goal: float = 0.0  # heading to reach (reversals)
    look: float = 0.0  # head yaw the animal looks toward, rad


_BOUTS, _BOUT_ODDS = ["walk", "pause", "turn", "reverse"], [0.45, 0.25, 0.18, 0.12]


def _next_bout(b: _Behaviour, heading, pos, arena_radius, rng) -> None:
    """Choose the next bout: walk, pause (look around), turn in place, or turn around."""
    facing_out = np.dot(pos, unit(heading)) > 0.3 * np.linalg.norm(pos)
    at_wall = facing_out and np.linalg.norm(pos) > arena_radius - 30.0
    b.mode = "reverse" if at_wall else str(rng.choice(_BOUTS, p=_BOUT_ODDS))
    b.speed = b.omega = 0.0
    if b.mode == "walk":
        b.left = rng.uniform(0.8, 3.0)
        b.speed = rng.uniform(15.0, 40.0)
        b.stretch = rng.uniform(0.95, 1.1)
    elif b.mode == "pause":
        b.left = rng.uniform(0.5, 2.0)
        b.stretch = rng.uniform(0.68, 0.95)
    elif b.mode == "turn":
        b.left = rng.uniform(0.4, 1.1)
        b.speed = rng.uniform(0.0, 8.0)
        b.stretch = rng.uniform(0.75, 0.9)
        b.omega = rng.choice([-1.0, 1.0]) * math.radians(rng.uniform(60.0, 160.0))
    else:  # turn around: reach a heading 160-200 degrees away, curling the body
        b.left = 1.6
        b.stretch = 0.72
        b.goal = heading + rng.choice([-1.0, 1.0]) * math.radians(rng.uniform(160.0, 200.0))


def _clip(x, limit):
    return max(-limit, min(limit, float(x)))


def _relax(x, target, dt, tau):
    return x + (target - x) * min(1.0, dt / tau)


def simulate(n_frames, fps, rng, length_range, margin, max_step, arena_radius):
    """Per-frame postures (n,) and frame->arena offsets (n, 2) of one freely moving animal.

    State variables relax toward bout targets; every frame's keypoints move at most
    `max_step` px (the step is scaled down where a posture change would exceed it).
    """
    dt = 1.0 / fps
    lo, hi = length_range
    own_len = rng.uniform(min(lo / 0.68, hi / 1.1), max(lo / 0.68, hi / 1.1))
    build = (own_len, rng.uniform(0.27, 0.31), rng.uniform(0.9, 1.1))
    tail_len = rng.uniform(15.0, 40.0)
    radius = rng.uniform(0.1, 0.5) * arena_radius
    pos = radius * unit(rng.uniform(0, 2 * np.pi))
    # posture state: heading, bend, bend2, head_yaw, stretch, drift x, drift y
    state = np.array([rng.uniform(0, 2 * np.pi), 0.0, 0.0, 0.0, 0.9, 0.0, 0.0])
    omega = speed = tail_yaw = tail_bend = bias = 0.0
    b = _Behaviour()
    rows, offsets, prev = [], [], None
    for _ in range(n_frames):
        if b.left <= 0.0 or (b.mode == "reverse" and abs(b.goal - state[0]) < math.radians(4)):
            _next_bout(b, state[0], pos, arena_radius, rng)
        b.left -= dt
        if b.mode == "walk":  # wander
            b.omega += -2.0 * b.omega * dt + math.radians(80) * math.sqrt(dt) * rng.normal()
        if b.mode == "reverse":
            b.omega = _clip(6.0 * (b.goal - state[0]), math.radians(330))
        if rng.random() < dt / (0.5 if b.mode == "pause" else 1.0):  # look somewhere else
            b.look = _clip(rng.normal(0, 0.6 if b.mode == "pause" else 0.15), 1.0)
        omega = _relax(omega, b.omega, dt, 0.1)
        speed = _relax(speed, b.speed, dt, 0.25)
        bias += -bias * dt + 0.25 * math.sqrt(dt) * rng.normal()
        bend_goal = _clip(omega * 0.36 + bias, 2.0)  # bends into the turn
        yaw_goal = _clip(b.look + 0.15 * omega, 1.2)  # and looks ahead of it
        target = np.array(
            [
                state[0] + omega * dt,
                _relax(state[1], bend_goal, dt, 0.15),
                _relax(state[2], 0.3 * bias, dt, 0.5),
                _relax(state[3], yaw_goal, dt, 0.12),
                _relax(state[4], b.stretch, dt, 0.4),
                state[5] - state[5] * dt / 1.5 + 0.8 * math.sqrt(dt) * rng.normal(),
                state[6] - state[6] * dt / 1.5 + 0.8 * math.sqrt(dt) * rng.normal(),
            ]
        )
        state, values, prev = _bounded_step(state, target, prev, build, margin, max_step)
        pos = pos + speed * dt * unit(state[0])
        if np.linalg.norm(pos) > arena_radius - 15.0:  # the wall stops the animal
            pos = pos * (arena_radius - 15.0) / np.linalg.norm(pos)
        tail_yaw = _relax(tail_yaw, -0.6 * state[1], dt, 0.4)
        tail_bend = _relax(tail_bend, -0.8 * state[1] + bias, dt, 0.6)
        rows.append(values + [tail_len, tail_yaw, tail_bend])
        offsets.append(pos - np.array(values[:2]))
    cols = np.array(rows).T
    names = [f.name for f in fields(Posture)]
    return Posture(**dict(zip(names, cols))), np.array(offsets)


def _movie_frame(state, build, margin) -> tuple[list[float], np.ndarray]:
    """Posture values cx .. head_yaw and keypoints (3, 2) of one movie state, inside the frame.

    `state` = heading, bend, bend2, head_yaw, stretch, drift x, drift y; `build` = the
    animal's own path length, head fraction and width factor.
    """
    heading, bend, bend2, head_yaw, stretch, drift_x, drift_y = state
    own_len, head_frac, width_factor = build
    body_len, head_len, width = body_dims(own_len * stretch, head_frac, width_factor)
    values = [
        CENTRE + drift_x,
        CENTRE + drift_y,
        heading,
        body_len,
        head_len,
        width,
        bend,
        bend2,
        head_yaw,
    ]
    locs = keypoints(Posture(*(np.array([v], dtype=float) for v in values + [0.0, 0.0, 0.0])))
    shift = inside_shift(locs, margin)[0]
    values[0], values[1] = values[0] + shift[0], values[1] + shift[1]
    return values, locs[0] + shift


def _bounded_step(state, target, prev, build, margin, max_step):
    """Move state toward target, shortening the step until no keypoint moves > max_step px.

    Returns the new state, its posture values (see `_movie_frame`) and keypoints.
    """
    step = target - state
    for _ in range(6):
        values, locs = _movie_frame(state + step, build, margin)
        moved = 0.0 if prev is None else float(np.linalg.norm(locs - prev, axis=1).max())
        if moved <= max_step:
            return state + step, values, locs
        step = step * (0.95 * max_step / moved)
    values, locs = _movie_frame(state, build, margin)  # could not move safely: hold still
    return state, values, locs
