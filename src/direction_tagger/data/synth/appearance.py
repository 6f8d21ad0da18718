"""The synthetic rat's looks and the frames: floor, texture, distractors, colours, blur, noise.

`sample_appearance` draws the looks of B frames, `render` paints animals (body.py) with them.
Grey levels are 0-255; positions of floor features are in *arena* px (frame px plus a
per-frame offset: zero for independent frames, the animal's travel in a movie).
"""

from __future__ import annotations

from dataclasses import dataclass, fields

import numpy as np

from ...geometry import CENTRE
from ...io import FRAME_SIZE
from .body import (
    EAR_SIZE,
    GRID,
    HOOD_FROM,
    N_HEAD,
    N_SPINE,
    Posture,
    body_shapes,
    disc_distance,
    keypoints,
    tail_coverage,
    unit,
)

_CHUNK = 64  # frames rendered at once (bounds memory: 64 x 22 discs x 50 x 50 float32)
# Texture: sums of plane waves (low: lighting / bedding patches; grain: bedding texture).
_N_TEX_LOW, _N_TEX_GRAIN = 8, 16


# --------------------------------------------------------------------------- appearance


@dataclass
class Appearance:
    """Per-frame look: grey levels (0-255), polarity, texture, blur, noise and distractors.

    Field shapes: (B,) or (B, ...); positions are in *arena* px, which equal frame px plus a
    per-frame offset (zero for independent frames; the animal's travel in a movie).
    """

    polarity: np.ndarray  # +1 light animal on dark floor, -1 dark animal on light floor
    floor: np.ndarray  # floor grey level
    contrast: np.ndarray  # |animal - floor| grey levels
    hood: np.ndarray  # shoulders / head colour relative to the back (hooded rats)
    ear: np.ndarray  # ear colour relative to the head
    tail: np.ndarray  # tail colour relative to the back
    shade: np.ndarray  # 0..1: how much darker (in contrast) the flanks are than the spine
    blur: np.ndarray  # gaussian sigma, px
    noise: np.ndarray  # gaussian sensor noise sigma, grey levels
    gradient: np.ndarray  # (B, 2) grey levels per px along x and y
    tex_k: np.ndarray  # (B, M, 2) wave vectors, rad/px
    tex_phase: np.ndarray  # (B, M)
    tex_amp: np.ndarray  # (B, M) grey levels
    blob_c: np.ndarray  # (B, 2, 2) bedding blobs / droppings: centres
    blob_ab: np.ndarray  # (B, 2, 2) semi-axes px
    blob_angle: np.ndarray  # (B, 2)
    blob_amp: np.ndarray  # (B, 2) grey levels, 0 = absent
    spot_c: np.ndarray  # (B, 2) bright reflection
    spot_sigma: np.ndarray  # (B,)
    spot_amp: np.ndarray  # (B,) 0 = absent
    wall_c: np.ndarray  # (B, 2) arena wall: everything farther than wall_r from wall_c
    wall_r: np.ndarray  # (B,)
    wall_amp: np.ndarray  # (B,) 0 = absent
    # Widened looks (`widen_appearance`); their defaults leave the standard frames unchanged.
    ear_size: np.ndarray  # (B,) ear radius / trunk half-width
    tail_width: np.ndarray  # (B,) tail thickness, relative
    vignette: np.ndarray  # (B,) share of light lost at 35 px from the centre (lens falloff)
    gamma: np.ndarray  # (B,) camera response: 255 (I / 255) ** gamma
    wall2_c: np.ndarray  # (B, 2) a second wall (a corner of a square arena), as wall_*
    wall2_r: np.ndarray  # (B,)
    wall2_amp: np.ndarray  # (B,) 0 = absent
    pad_side: np.ndarray  # (B,) int: -1 none; 0..3 = left, top, right, bottom edge filled flat
    pad_width: np.ndarray  # (B,) px of flat fill (a crop reaching past the video's edge)
    pad_level: np.ndarray  # (B,) its grey level
    ghost_amp: np.ndarray  # (B,) a faint mirrored copy of the animal (a reflection); 0 = none
    ghost_axis: np.ndarray  # (B,) int: 0 = mirrored left-right, 1 = top-bottom
    ghost_shift: np.ndarray  # (B,) int px along that axis

    def take(self, index) -> Appearance:
        return Appearance(**{f.name: getattr(self, f.name)[index] for f in fields(self)})

    def repeat(self, n: int) -> Appearance:
        """The first frame's look for n frames (a movie)."""
        return Appearance(
            **{f.name: np.repeat(getattr(self, f.name)[:1], n, 0) for f in fields(self)}
        )


def _polarity(n, rng, polarity: str) -> np.ndarray:
    if polarity == "random":
        return np.where(rng.random(n) < 0.5, 1.0, -1.0)
    if polarity in ("light", "dark"):
        return np.full(n, 1.0 if polarity == "light" else -1.0)
    raise ValueError(f"polarity must be 'random', 'light' or 'dark', not {polarity!r}")


def _texture(n, rng):
    """Plane-wave texture: a few slow waves (uneven floor) and many fast ones (bedding grain)."""
    k_low = rng.uniform(0.06, 0.35, (n, _N_TEX_LOW))
    k_grain = rng.uniform(0.9, 2.6, (n, _N_TEX_GRAIN))
    k = np.concatenate([k_low, k_grain], axis=1)
    angle = rng.uniform(0.0, 2 * np.pi, k.shape)
    amp_low = rng.uniform(1.0, 14.0, (n, 1)) * np.sqrt(2 / _N_TEX_LOW)
    amp_grain = rng.uniform(0.0, 6.0, (n, 1)) * np.sqrt(2 / _N_TEX_GRAIN)
    amp = np.concatenate(
        [np.repeat(amp_low, _N_TEX_LOW, 1), np.repeat(amp_grain, _N_TEX_GRAIN, 1)], 1
    )
    amp = amp * rng.uniform(0.5, 1.5, amp.shape)
    phase = rng.uniform(0.0, 2 * np.pi, k.shape)
    return np.stack([k * np.cos(angle), k * np.sin(angle)], -1), phase, amp


def _distractors(n, rng, prob, arena_radius=None) -> dict[str, np.ndarray]:
    """Blobs, a bright spot and a wall. Independent frames (arena_radius None): each present
    with probability `prob`, placed in frame px. Movie: placed in an arena of that radius."""
    if arena_radius is None:
        blob_c = rng.uniform(2.0, FRAME_SIZE - 3.0, (n, 2, 2))
        spot_c = rng.uniform(2.0, FRAME_SIZE - 3.0, (n, 2))
        # A wall is locally a large circle whose edge passes 12-30 px from the frame centre.
        normal = unit(rng.uniform(0.0, 2 * np.pi, n))
        wall_r = rng.uniform(60.0, 250.0, n)
        edge = rng.uniform(12.0, 30.0, n)
        wall_c = CENTRE - normal * (wall_r - edge)[:, None]
        present = rng.random((n, 4)) < prob
    else:
        r = arena_radius * np.sqrt(rng.random((n, 3)))
        a = rng.uniform(0.0, 2 * np.pi, (n, 3))
        spread = np.stack([r * np.cos(a), r * np.sin(a)], -1)
        blob_c, spot_c = spread[:, :2], spread[:, 2]
        wall_c, wall_r = np.zeros((n, 2)), np.full(n, float(arena_radius))
        present = rng.random((n, 4)) < np.array([prob, prob, prob, 1.0])
    blob_sign = np.where(rng.random((n, 2)) < 0.5, -1.0, 1.0)
    wall_sign = np.where(rng.random(n) < 0.5, -1.0, 1.0)
    return {
        "blob_c": blob_c,
        "blob_ab": rng.uniform(0.8, 4.0, (n, 2, 2)),
        "blob_angle": rng.uniform(0.0, np.pi, (n, 2)),
        "blob_amp": present[:, :2] * blob_sign * rng.uniform(15.0, 60.0, (n, 2)),
        "spot_c": spot_c,
        "spot_sigma": rng.uniform(0.6, 2.0, n),
        "spot_amp": present[:, 2] * rng.uniform(40.0, 140.0, n),
        "wall_c": wall_c,
        "wall_r": wall_r,
        "wall_amp": present[:, 3] * wall_sign * rng.uniform(20.0, 80.0, n),
    }


def sample_appearance(
    n,
    rng,
    polarity="random",
    blur_range=(0.4, 1.3),
    noise_range=(1.0, 8.0),
    distractor_prob=0.15,
    arena_radius=None,
) -> Appearance:
    """Random looks for n frames (see `Appearance`); grey levels keep 10+ levels of headroom."""
    pol = _polarity(n, rng, polarity)
    floor = np.where(pol > 0, rng.uniform(15.0, 110.0, n), rng.uniform(130.0, 240.0, n))
    room = np.where(pol > 0, 245.0 - floor, floor - 10.0)
    contrast = rng.uniform(0.0, 1.0, n) * (np.minimum(room, 200.0) - 40.0) + 40.0
    hooded = rng.random(n) < 0.3
    tex_k, tex_phase, tex_amp = _texture(n, rng)
    return Appearance(
        polarity=pol,
        floor=floor,
        contrast=contrast,
        hood=np.where(hooded, rng.uniform(0.55, 1.35, n), rng.uniform(0.9, 1.1, n)),
        ear=rng.uniform(0.6, 1.2, n),
        tail=rng.uniform(0.35, 0.9, n),
        shade=rng.uniform(0.1, 0.45, n),
        blur=rng.uniform(*blur_range, n),
        noise=rng.uniform(*noise_range, n),
        gradient=rng.normal(0.0, 0.6, (n, 2)),
        tex_k=tex_k,
        tex_phase=tex_phase,
        tex_amp=tex_amp,
        **_distractors(n, rng, distractor_prob, arena_radius),
        **_standard_extras(n),
    )


def _standard_extras(n) -> dict[str, np.ndarray]:
    """The widened looks switched off: the renderer's original frames, no random draw."""
    zeros, ints = np.zeros(n), np.zeros(n, dtype=int)
    return {
        "ear_size": np.full(n, EAR_SIZE),
        "tail_width": np.ones(n),
        "vignette": zeros,
        "gamma": np.ones(n),
        "wall2_c": np.zeros((n, 2)),
        "wall2_r": np.ones(n),
        "wall2_amp": zeros,
        "pad_side": ints - 1,
        "pad_width": zeros,
        "pad_level": zeros,
        "ghost_amp": zeros,
        "ghost_axis": ints,
        "ghost_shift": ints,
    }


def widen_appearance(
    app: Appearance, rng, mouse: np.ndarray, noise_range=(0.5, 14.0)
) -> Appearance:
    """Looks varied as widely as real rigs vary them (for pretraining): fainter contrast, any
    tail and ear shade (light ears on a dark mouse), mouse-sized ears (`mouse`: (B,) bool),
    thin or thick tails, uneven light (strong gradients, lens falloff, camera gamma), straight
    walls and corners of square arenas, crops reaching past the video's edge, reflections;
    sensor noise log-uniform in `noise_range` (grey levels), as most cameras are clean.

    Redraws some fields of `app` in place and returns it; the polarity and floor level stay.
    """
    n = len(app.floor)
    room = np.where(app.polarity > 0, 245.0 - app.floor, app.floor - 10.0)
    app.contrast = rng.uniform(0.0, 1.0, n) * (np.minimum(room, 200.0) - 20.0) + 20.0
    app.ear = np.where(mouse, rng.uniform(-0.4, 1.1, n), rng.uniform(0.4, 1.2, n))
    app.tail = rng.uniform(0.2, 1.0, n)
    lo, hi = noise_range
    app.noise = np.exp(rng.uniform(np.log(lo), np.log(hi), n))  # most cameras are clean
    app.shade = rng.uniform(0.0, 0.5, n)
    app.gradient = rng.normal(0.0, 1.0, (n, 2))
    app.ear_size = np.where(mouse, rng.uniform(0.40, 0.60, n), rng.uniform(0.28, 0.40, n))
    app.tail_width = rng.uniform(0.5, 1.3, n)
    app.vignette = (rng.random(n) < 0.5) * rng.uniform(0.0, 0.35, n)
    app.gamma = np.exp(rng.uniform(np.log(0.6), np.log(1.6), n))
    # Walls: from gently curved to straight (a square arena), and a corner now and then.
    # The edge stays where it was (12-30 px from the centre); only its curvature changes.
    curved = np.exp(rng.uniform(np.log(60.0), np.log(3000.0), n))
    away = app.wall_c - CENTRE
    distance = np.linalg.norm(away, axis=1)
    edge = app.wall_r - distance
    app.wall_c = CENTRE + away / distance[:, None] * (curved - edge)[:, None]
    app.wall_r = curved
    app.wall_amp = np.where(
        rng.random(n) < 0.35, np.sign(app.polarity) * rng.uniform(15.0, 80.0, n), app.wall_amp
    )
    normal = unit(rng.uniform(0.0, 2 * np.pi, n))
    toward = unit(np.arctan2(-(app.wall_c[:, 1] - CENTRE), app.wall_c[:, 0] - CENTRE))
    side = np.where(rng.random(n) < 0.5, 1.0, -1.0)[:, None]
    corner = np.stack([toward[:, 1], -toward[:, 0]], -1) * side  # perpendicular to wall 1
    normal = np.where((app.wall_amp != 0)[:, None], corner, normal)
    edge = rng.uniform(10.0, 30.0, n)
    app.wall2_r = np.full(n, 3000.0)
    app.wall2_c = CENTRE - normal * (app.wall2_r - edge)[:, None]
    app.wall2_amp = (rng.random(n) < 0.15) * np.where(app.wall_amp != 0, app.wall_amp, 40.0)
    app.pad_side = np.where(rng.random(n) < 0.15, rng.integers(0, 4, n), -1)
    app.pad_width = rng.uniform(2.0, 12.0, n)
    app.pad_level = rng.uniform(60.0, 200.0, n)
    app.ghost_amp = (rng.random(n) < 0.1) * rng.uniform(0.15, 0.5, n)
    app.ghost_axis = rng.integers(0, 2, n)
    app.ghost_shift = np.where(rng.random(n) < 0.5, -1, 1) * rng.integers(22, 35, n)
    return app


# --------------------------------------------------------------------------- rendering


def _floor(app: Appearance, offset: np.ndarray) -> np.ndarray:
    """Floor grey levels (B, 50, 50): level + gradient + texture + distractors."""
    f32 = np.float32
    xs = GRID[None, :] + offset[:, :1].astype(f32)  # arena x of each column, (B, 50)
    ys = GRID[None, :] + offset[:, 1:].astype(f32)
    k, amp = app.tex_k.astype(f32), app.tex_amp.astype(f32)[..., None]
    a = k[..., 0, None] * xs[:, None, :] + app.tex_phase.astype(f32)[..., None]  # (B, M, 50)
    b = k[..., 1, None] * ys[:, None, :]
    # sum_m amp cos(a_m(x) + b_m(y)) as one batched product of (y, 2M) and (2M, x) factors
    rows = np.concatenate([amp * np.cos(b), -amp * np.sin(b)], axis=1).transpose(0, 2, 1)
    cols = np.concatenate([np.cos(a), np.sin(a)], axis=1)
    img = rows @ cols
    centred = GRID - f32(CENTRE)
    grad = app.gradient.astype(f32)
    img += app.floor.astype(f32)[:, None, None]
    img += grad[:, 0, None, None] * centred[None, None, :]
    img += grad[:, 1, None, None] * centred[None, :, None]
    _add_distractors(img, app, xs, ys)
    return img


def _add_distractors(img, app: Appearance, xs, ys) -> None:
    """Add blobs, spots and walls in place, computing them only for frames that have them."""
    for k in range(app.blob_amp.shape[1]):
        idx = np.flatnonzero(app.blob_amp[:, k])
        if idx.size:
            dx = xs[idx, None, :] - app.blob_c[idx, k, 0, None, None]
            dy = ys[idx, :, None] - app.blob_c[idx, k, 1, None, None]
            c, s = np.cos(app.blob_angle[idx, k]), np.sin(app.blob_angle[idx, k])
            u = (c[:, None, None] * dx + s[:, None, None] * dy) / app.blob_ab[idx, k, 0, None, None]
            v = (c[:, None, None] * dy - s[:, None, None] * dx) / app.blob_ab[idx, k, 1, None, None]
            sd = (np.sqrt(u * u + v * v) - 1.0) * app.blob_ab[idx, k].min(-1)[:, None, None]
            img[idx] += app.blob_amp[idx, k, None, None] * np.clip(0.5 - sd, 0.0, 1.0)
    idx = np.flatnonzero(app.spot_amp)
    if idx.size:
        d2 = (xs[idx, None, :] - app.spot_c[idx, 0, None, None]) ** 2 + (
            ys[idx, :, None] - app.spot_c[idx, 1, None, None]
        ) ** 2
        img[idx] += app.spot_amp[idx, None, None] * np.exp(
            -d2 / (2 * app.spot_sigma[idx, None, None] ** 2)
        )
    for c, r, amp in (
        (app.wall_c, app.wall_r, app.wall_amp),
        (app.wall2_c, app.wall2_r, app.wall2_amp),
    ):
        idx = np.flatnonzero(amp)
        if idx.size:
            d = np.sqrt(
                (xs[idx, None, :] - c[idx, 0, None, None]) ** 2
                + (ys[idx, :, None] - c[idx, 1, None, None]) ** 2
            )
            outside = np.clip(0.5 + d - r[idx, None, None], 0.0, 1.0)
            img[idx] += amp[idx, None, None] * outside


def _blur(img: np.ndarray, sigma: np.ndarray) -> np.ndarray:
    """Gaussian blur with a per-frame sigma (px), as G @ img @ G.T; rows renormalised at edges."""
    diff = (GRID[:, None] - GRID[None, :]) ** 2
    g = np.exp(-diff[None] / (2.0 * sigma.astype(np.float32)[:, None, None] ** 2))
    g /= g.sum(axis=2, keepdims=True)
    return g @ img @ g.transpose(0, 2, 1)


def _draw_animal(img: np.ndarray, p: Posture, app: Appearance) -> None:
    """Paint tail, ears, trunk and head over the floor image in place (anti-aliased)."""
    shapes = body_shapes(p, app.ear_size)
    d = disc_distance(shapes["centres"], shapes["radii"])
    rear = d[:, : 1 + HOOD_FROM].min(axis=1)
    front = d[:, 1 + HOOD_FROM : 1 + N_SPINE + N_HEAD].min(axis=1)
    ears = d[:, 1 + N_SPINE + N_HEAD :].min(axis=1)
    body = np.minimum(rear, front)

    def level(tint):  # grey level of animal parts with relative colour `tint`, (B, 50, 50)
        return app.floor[:, None, None] + (app.polarity * app.contrast)[:, None, None] * tint

    def over(alpha, value):
        img[...] += alpha * (value - img)

    over(tail_coverage(shapes["tail"], width=app.tail_width), level(app.tail[:, None, None]))
    hood = app.hood[:, None, None]
    over(np.clip(0.5 - ears, 0, 1), level(hood * app.ear[:, None, None]))
    # Hood colour fades in over ~2 px where the shoulders take over from the back.
    tint = 1.0 + (hood - 1.0) * np.clip(0.5 + 0.5 * (rear - front), 0.0, 1.0)
    dome = np.sqrt(np.clip(-body / p.width[:, None, None].astype(np.float32), 0.0, 1.0))
    shade = app.shade[:, None, None]
    over(np.clip(0.5 - body, 0, 1), level(tint * (1.0 - shade + shade * dome)))


def render(p: Posture, app: Appearance, rng, offset: np.ndarray | None = None) -> np.ndarray:
    """Frames (B, 50, 50) uint8 of the animals `p` with looks `app`; fresh noise from `rng`.

    `offset` (B, 2) px maps frame to arena coordinates (arena = frame + offset); default 0.
    """
    n = len(p)
    offset = np.zeros((n, 2)) if offset is None else offset
    out = np.empty((n, FRAME_SIZE, FRAME_SIZE), dtype=np.uint8)
    for start in range(0, n, _CHUNK):
        sl = slice(start, min(start + _CHUNK, n))
        pc, ac = p.take(sl), app.take(sl)
        img = _floor(ac, offset[sl])
        before = img.copy() if ac.ghost_amp.any() else None
        _draw_animal(img, pc, ac)
        if before is not None:
            _add_ghost(img, img - before, ac)
        if ac.vignette.any():
            r2 = ((GRID[None, :] - CENTRE) ** 2 + (GRID[:, None] - CENTRE) ** 2) / 35.0**2
            img *= 1.0 - ac.vignette.astype(np.float32)[:, None, None] * r2
        img = _blur(img, ac.blur)
        if (ac.gamma != 1).any():
            g = ac.gamma.astype(np.float32)[:, None, None]
            img = 255.0 * (np.clip(img, 0.0, 255.0) / 255.0) ** g
        img += ac.noise.astype(np.float32)[:, None, None] * rng.standard_normal(
            img.shape, dtype=np.float32
        )
        out[sl] = np.clip(np.rint(img), 0, 255)
        if (ac.pad_side >= 0).any():
            _pad(out[sl], keypoints(pc), ac)
    return out


def _add_ghost(img: np.ndarray, animal: np.ndarray, app: Appearance) -> None:
    """Add a faint, mirrored and shifted copy of each animal's layer (a reflection in a wall)."""
    for i in np.flatnonzero(app.ghost_amp):
        axis = 2 if app.ghost_axis[i] == 0 else 1  # mirrored left-right, or top-bottom
        copy = np.flip(animal[i], axis=axis - 1)
        shift = int(app.ghost_shift[i])
        moved = np.zeros_like(copy)
        if axis == 2:
            if shift > 0:
                moved[:, shift:] = copy[:, :-shift]
            else:
                moved[:, :shift] = copy[:, -shift:]
        elif shift > 0:
            moved[shift:] = copy[:-shift]
        else:
            moved[:shift] = copy[-shift:]
        img[i] += np.float32(app.ghost_amp[i]) * moved


def _pad(frames: np.ndarray, locs: np.ndarray, app: Appearance) -> None:
    """Fill a strip along one edge with one grey level (a crop past the video's edge), never
    reaching within 2 px of a keypoint."""
    last = FRAME_SIZE - 1
    for i in np.flatnonzero(app.pad_side >= 0):
        side = int(app.pad_side[i])
        x, y = locs[i, :, 0], locs[i, :, 1]
        room = (x.min(), y.min(), last - x.max(), last - y.max())[side] - 2.0
        width = int(min(app.pad_width[i], room))
        if width < 1:
            continue
        level = np.uint8(round(float(app.pad_level[i])))
        if side == 0:
            frames[i, :, :width] = level
        elif side == 1:
            frames[i, :width, :] = level
        elif side == 2:
            frames[i, :, -width:] = level
        else:
            frames[i, -width:, :] = level
