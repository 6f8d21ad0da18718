"""Synthetic rats seen from above: labelled frames and continuous movies.

Coordinates follow `direction_tagger.geometry`: (x, y) px, x = column, y = row, pixel centres
at integers, frame centre (24.5, 24.5). Angles inside this module are *radians* in the same
sense as the project's degrees: 0 = toward +x, pi/2 = toward the top of the image, so the unit
vector of angle a is (cos a, -sin a).

The animal is a union of discs along a bendable spine (the trunk, thickest behind its middle),
a tapering row of discs from neck to nose (the head), two ear discs and a thin tapering tail.
It is drawn as a signed distance field with coverage = clip(0.5 - distance, 0, 1), which
anti-aliases every edge, so labels keep their sub-pixel meaning. Labels are the drawn anatomy:
base = rear end of the trunk, where the tail leaves it; neck = front end of the trunk, where
the head joins it; head = the nose tip (0.55 px inside the drawn outline).

Public API: `make_labelled_set` and `make_movie`. Everything is drawn from
`np.random.default_rng(seed)`, so the same seed and arguments give identical frames.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, fields, replace

import numpy as np

from ..io import FRAME_SIZE

CENTRE = (FRAME_SIZE - 1) / 2.0  # 24.5
_GRID = np.arange(FRAME_SIZE, dtype=np.float32)  # pixel-centre coordinates along one axis
_CHUNK = 64  # frames rendered at once (bounds memory: 64 x 22 discs x 50 x 50 float32)

# Trunk: discs at N_SPINE points from base (u = 0) to neck (u = 1), radius = width * profile.
N_SPINE = 11
_ANCHOR = 6  # spine point u = 0.6: roughly the silhouette centroid, where crops are centred
_SPINE_U = np.linspace(0.0, 1.0, N_SPINE)
_TRUNK_PROFILE = np.interp(_SPINE_U, [0, 0.12, 0.35, 0.6, 0.85, 1], [0.6, 0.9, 1, 0.9, 0.68, 0.52])
_HOOD_FROM = 7  # trunk discs from this index on belong to the shoulders ("hood" colour)
# Head: discs from neck (v = 0) to nose (v = 1); widest at the cheeks, tapering to a snout.
N_HEAD = 8
_HEAD_V = np.linspace(0.0, 1.0, N_HEAD)
_HEAD_PROFILE = np.interp(_HEAD_V, [0, 0.15, 0.5, 0.8, 1], [0.52, 0.6, 0.42, 0.18, 0.0])
_NOSE_RADIUS = 0.55  # px; the nose label sits this far inside the tip of the outline
# Tail: N_TAIL points spaced <= 0.6 px from base to tip; radius tapers.
N_TAIL = 64
_TAIL_RADIUS = np.linspace(0.65, 0.2, N_TAIL)
# Texture: sums of plane waves (low: lighting / bedding patches; grain: bedding texture).
_N_TEX_LOW, _N_TEX_GRAIN = 8, 16


def _unit(angle: np.ndarray) -> np.ndarray:
    """Unit vectors (..., 2) in image (x, y) for angles in radians (0 = +x, pi/2 = up)."""
    return np.stack([np.cos(angle), -np.sin(angle)], axis=-1)


# --------------------------------------------------------------------------- posture


@dataclass
class Posture:
    """Shape and placement of B animals; every field is a float array of shape (B,).

    Lengths in px, angles in radians (project sense, see module docstring).
    """

    cx: np.ndarray  # anchor (trunk point 60 % of the way from base to neck), x px
    cy: np.ndarray  # anchor y px
    heading: np.ndarray  # mean trunk direction (base -> neck)
    body_len: np.ndarray  # trunk arc length base -> neck
    head_len: np.ndarray  # neck -> nose
    width: np.ndarray  # largest trunk half-width
    bend: np.ndarray  # total turn of the spine from base to neck (+ = counter-clockwise)
    bend2: np.ndarray  # S-shaped spine component
    head_yaw: np.ndarray  # head direction relative to the trunk at the neck
    tail_len: np.ndarray
    tail_yaw: np.ndarray  # tail direction relative to straight behind the rump
    tail_bend: np.ndarray  # total turn along the tail

    def __len__(self) -> int:
        return len(self.cx)

    def take(self, index) -> "Posture":
        return Posture(**{f.name: getattr(self, f.name)[index] for f in fields(self)})


def _body_dims(total_len, head_frac, width_factor):
    """Trunk length, head length and trunk half-width (px) for a nose-base path length.

    Hunched animals are short and wide, stretched ones long and thin (area roughly kept).
    """
    head_len = total_len * head_frac
    width = width_factor * 4.2 * (total_len / 22.0) ** -0.6
    return total_len - head_len, head_len, width


def _spine_ends(p: Posture):
    """Spine tangent angles at the base and at the neck (radians)."""
    s = p.bend2 / 6.0  # bend2 * ((+-0.5)**2 - 1/12)
    return p.heading - 0.5 * p.bend + s, p.heading + 0.5 * p.bend + s


_SPINE_MID = (np.arange(N_SPINE - 1) + 0.5) / (N_SPINE - 1) - 0.5  # segment midpoints, centred


def _spine_complex(p: Posture) -> np.ndarray:
    """Spine points (B, N_SPINE) as complex x + iy, base to neck, anchor at (cx, cy).

    Complex numbers keep this cheap: a step of length l at angle a is l * exp(-ia).
    """
    theta = (
        p.heading[:, None]
        + p.bend[:, None] * _SPINE_MID
        + p.bend2[:, None] * (_SPINE_MID**2 - 1 / 12)
    )
    z = np.zeros((len(p.cx), N_SPINE), dtype=complex)
    np.cumsum(np.exp(-1j * theta) * (p.body_len / (N_SPINE - 1))[:, None], axis=1, out=z[:, 1:])
    z += (p.cx + 1j * p.cy - z[:, _ANCHOR])[:, None]
    return z


def _spine(p: Posture) -> np.ndarray:
    """Spine points (B, N_SPINE, 2) from base to neck, placed so the anchor is at (cx, cy)."""
    z = _spine_complex(p)
    return np.stack([z.real, z.imag], axis=-1)


def keypoints(p: Posture) -> np.ndarray:
    """Labels (B, 3, 2) float32 in KEYPOINTS order: base, neck, nose; (x, y) px."""
    z = _spine_complex(p)
    _, neck_angle = _spine_ends(p)
    nose = z[:, -1] + p.head_len * np.exp(-1j * (neck_angle + p.head_yaw))
    points = np.stack([z[:, 0], z[:, -1], nose], axis=1)
    return np.stack([points.real, points.imag], axis=-1).astype(np.float32)


def _inside_shift(locs: np.ndarray, margin: float) -> np.ndarray:
    """(B, 2) shift that moves each frame's keypoints to within [margin, 49 - margin]."""
    lo, hi = locs.min(axis=1), locs.max(axis=1)
    return np.maximum(0.0, margin - lo) - np.maximum(0.0, hi - (FRAME_SIZE - 1 - margin))


def place_inside(p: Posture, margin: float) -> Posture:
    """Shift each animal (the smallest amount) so all its keypoints lie `margin` px inside."""
    shift = _inside_shift(keypoints(p), margin)
    return replace(p, cx=p.cx + shift[:, 0], cy=p.cy + shift[:, 1])


def sample_postures(n, rng, length_range=(14.0, 30.0), jitter=3.0, margin=2.0) -> Posture:
    """Independent random postures: any heading, hunched to stretched, bent, head turned.

    `length_range` is the nose-base path length along the body (px); the straight-line
    distance is shorter when the body bends or the head turns. The anchor is jittered
    uniformly by up to `jitter` px around the frame centre.
    """
    total = rng.uniform(*length_range, n)
    body_len, head_len, width = _body_dims(
        total, rng.uniform(0.26, 0.32, n), rng.uniform(0.88, 1.12, n)
    )
    strong = rng.random(n) < 0.35  # a third of the frames mid-turn, strongly bent
    bend = np.where(strong, rng.uniform(-2.0, 2.0, n), rng.normal(0.0, 0.3, n))
    p = Posture(
        cx=CENTRE + rng.uniform(-jitter, jitter, n),
        cy=CENTRE + rng.uniform(-jitter, jitter, n),
        heading=rng.uniform(0.0, 2 * np.pi, n),
        body_len=body_len,
        head_len=head_len,
        width=width,
        bend=bend,
        bend2=rng.normal(0.0, 0.35, n),
        head_yaw=np.clip(rng.normal(0.0, 0.45, n), -1.2, 1.2),
        tail_len=rng.uniform(8.0, 40.0, n),
        tail_yaw=rng.normal(0.0, 0.6, n),
        tail_bend=rng.normal(0.0, 1.2, n),
    )
    return place_inside(p, margin)


# --------------------------------------------------------------------------- shapes


def _shapes(p: Posture) -> dict[str, np.ndarray]:
    """Disc centres / radii of trunk and head, ear discs, tail polyline; all px."""
    spine = _spine(p)
    base_angle, neck_angle = _spine_ends(p)
    width = p.width[:, None]
    arc = p.body_len[:, None] * _SPINE_U
    # Rear discs never reach more than 0.5 px behind the base: the rump ends at the label.
    trunk_r = np.minimum(width * _TRUNK_PROFILE, arc + 0.5)
    rump_r = 0.8 * p.width
    rump_c = spine[:, 0] + _unit(base_angle) * (rump_r - 0.5)[:, None]

    head_angle = neck_angle + p.head_yaw
    head_dir = _unit(head_angle)
    neck = spine[:, -1]
    head_c = neck[:, None] + head_dir[:, None] * (p.head_len[:, None] * _HEAD_V)[..., None]
    head_r = width * _HEAD_PROFILE + _NOSE_RADIUS * _HEAD_V

    ear_at = neck + head_dir * (0.15 * p.head_len)[:, None]
    side = _unit(head_angle + np.pi / 2) * (0.58 * p.width)[:, None]
    ear_c = np.stack([ear_at + side, ear_at - side], axis=1)
    ear_r = np.repeat((0.34 * p.width)[:, None], 2, axis=1)

    w = (np.arange(N_TAIL - 1) + 0.5) / (N_TAIL - 1)
    tail_angle = (base_angle + np.pi + p.tail_yaw)[:, None] + p.tail_bend[:, None] * w
    steps = _unit(tail_angle) * (p.tail_len / (N_TAIL - 1))[:, None, None]
    tail = spine[:, :1] + np.concatenate([np.zeros_like(steps[:, :1]), np.cumsum(steps, 1)], 1)

    # Disc order: rear trunk (rump + discs before the hood), shoulders, head, ears.
    centres = np.concatenate([rump_c[:, None], spine, head_c, ear_c], axis=1)
    radii = np.concatenate([rump_r[:, None], trunk_r, head_r, ear_r], axis=1)
    return {"centres": centres, "radii": radii, "tail": tail}


def _disc_distance(centres: np.ndarray, radii: np.ndarray) -> np.ndarray:
    """Signed distance (B, K, 50, 50) px from every pixel centre to each disc's outline."""
    c = centres.astype(np.float32)
    dx = _GRID[None, None, None, :] - c[:, :, 0, None, None]
    dy = _GRID[None, None, :, None] - c[:, :, 1, None, None]
    d = dx * dx + dy * dy
    np.sqrt(d, out=d)
    d -= radii.astype(np.float32)[:, :, None, None]
    return d


def _tail_coverage(points: np.ndarray, sigma: float = 0.5) -> np.ndarray:
    """Coverage (B, 50, 50) in [0, 1] of a thin tail through dense points (B, N_TAIL, 2).

    Each point deposits its share of the tail's area (spacing x width) as a small normalised
    gaussian (sigma px) on a 4 x 4 pixel neighbourhood: an anti-aliased line whose cross-section
    integrates to its width, far cheaper than a distance field for a thin curve.
    """
    b, m, _ = points.shape
    spacing = np.linalg.norm(points[:, 1] - points[:, 0], axis=-1)  # (B,)
    mass = spacing[:, None] * 2.0 * _TAIL_RADIUS[None, :]  # (B, M) px^2
    taps = np.arange(-1, 3)
    cols = np.floor(points[..., 0])[..., None] + taps  # (B, M, 4)
    rows = np.floor(points[..., 1])[..., None] + taps
    wx = np.exp(-((cols - points[..., 0, None]) ** 2) / (2 * sigma**2))
    wy = np.exp(-((rows - points[..., 1, None]) ** 2) / (2 * sigma**2))
    wx /= wx.sum(-1, keepdims=True)
    wy /= wy.sum(-1, keepdims=True)
    weight = (mass[..., None, None] * wy[..., :, None] * wx[..., None, :]).ravel()
    r = np.broadcast_to(rows[..., :, None], (b, m, 4, 4)).ravel()
    c = np.broadcast_to(cols[..., None, :], (b, m, 4, 4)).ravel()
    frame = np.broadcast_to(np.arange(b)[:, None, None, None], (b, m, 4, 4)).ravel()
    ok = (r >= 0) & (r < FRAME_SIZE) & (c >= 0) & (c < FRAME_SIZE)
    flat = (frame[ok] * FRAME_SIZE + r[ok]) * FRAME_SIZE + c[ok]
    density = np.bincount(flat.astype(np.int64), weights=weight[ok], minlength=b * FRAME_SIZE**2)
    return np.minimum(density, 1.0).astype(np.float32).reshape(b, FRAME_SIZE, FRAME_SIZE)


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

    def take(self, index) -> "Appearance":
        return Appearance(**{f.name: getattr(self, f.name)[index] for f in fields(self)})

    def repeat(self, n: int) -> "Appearance":
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
        normal = _unit(rng.uniform(0.0, 2 * np.pi, n))
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
    )


# --------------------------------------------------------------------------- rendering


def _floor(app: Appearance, offset: np.ndarray) -> np.ndarray:
    """Floor grey levels (B, 50, 50): level + gradient + texture + distractors."""
    f32 = np.float32
    xs = _GRID[None, :] + offset[:, :1].astype(f32)  # arena x of each column, (B, 50)
    ys = _GRID[None, :] + offset[:, 1:].astype(f32)
    k, amp = app.tex_k.astype(f32), app.tex_amp.astype(f32)[..., None]
    a = k[..., 0, None] * xs[:, None, :] + app.tex_phase.astype(f32)[..., None]  # (B, M, 50)
    b = k[..., 1, None] * ys[:, None, :]
    # sum_m amp cos(a_m(x) + b_m(y)) as one batched product of (y, 2M) and (2M, x) factors
    rows = np.concatenate([amp * np.cos(b), -amp * np.sin(b)], axis=1).transpose(0, 2, 1)
    cols = np.concatenate([np.cos(a), np.sin(a)], axis=1)
    img = rows @ cols
    centred = _GRID - f32(CENTRE)
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
    idx = np.flatnonzero(app.wall_amp)
    if idx.size:
        d = np.sqrt(
            (xs[idx, None, :] - app.wall_c[idx, 0, None, None]) ** 2
            + (ys[idx, :, None] - app.wall_c[idx, 1, None, None]) ** 2
        )
        outside = np.clip(0.5 + d - app.wall_r[idx, None, None], 0.0, 1.0)
        img[idx] += app.wall_amp[idx, None, None] * outside


def _blur(img: np.ndarray, sigma: np.ndarray) -> np.ndarray:
    """Gaussian blur with a per-frame sigma (px), as G @ img @ G.T; rows renormalised at edges."""
    diff = (_GRID[:, None] - _GRID[None, :]) ** 2
    g = np.exp(-diff[None] / (2.0 * sigma.astype(np.float32)[:, None, None] ** 2))
    g /= g.sum(axis=2, keepdims=True)
    return g @ img @ g.transpose(0, 2, 1)


def _draw_animal(img: np.ndarray, p: Posture, app: Appearance) -> None:
    """Paint tail, ears, trunk and head over the floor image in place (anti-aliased)."""
    shapes = _shapes(p)
    d = _disc_distance(shapes["centres"], shapes["radii"])
    rear = d[:, : 1 + _HOOD_FROM].min(axis=1)
    front = d[:, 1 + _HOOD_FROM : 1 + N_SPINE + N_HEAD].min(axis=1)
    ears = d[:, 1 + N_SPINE + N_HEAD :].min(axis=1)
    body = np.minimum(rear, front)

    def level(tint):  # grey level of animal parts with relative colour `tint`, (B, 50, 50)
        return app.floor[:, None, None] + (app.polarity * app.contrast)[:, None, None] * tint

    def over(alpha, value):
        img[...] += alpha * (value - img)

    over(_tail_coverage(shapes["tail"]), level(app.tail[:, None, None]))
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
        _draw_animal(img, pc, ac)
        img = _blur(img, ac.blur)
        img += ac.noise.astype(np.float32)[:, None, None] * rng.standard_normal(
            img.shape, dtype=np.float32
        )
        out[sl] = np.clip(np.rint(img), 0, 255)
    return out


def make_labelled_set(
    n: int,
    seed: int,
    *,
    polarity: str = "random",
    length_range: tuple[float, float] = (14.0, 30.0),
    jitter: float = 3.0,
    margin: float = 2.0,
    blur_range: tuple[float, float] = (0.4, 1.3),
    noise_range: tuple[float, float] = (1.0, 8.0),
    distractor_prob: float = 0.15,
) -> tuple[np.ndarray, np.ndarray]:
    """Independent labelled frames of synthetic rats.

    Returns images (n, 50, 50) uint8 and locs (n, 3, 2) float32 (base, neck, nose; (x, y) px).
    Options: `polarity` 'random' | 'light' (light animal on dark floor) | 'dark';
    `length_range` nose-base path length (px); `jitter` max offset of the body centre from the
    frame centre (px); `margin` min distance of every label from the frame edge (px);
    `blur_range` gaussian sigma (px); `noise_range` sensor noise sigma (grey levels);
    `distractor_prob` chance of each distractor (2 blobs, a bright spot, a wall edge).
    """
    if n < 1:
        raise ValueError(f"need n >= 1 frames, got {n}")
    rng = np.random.default_rng(seed)
    p = sample_postures(n, rng, length_range, jitter, margin)
    app = sample_appearance(n, rng, polarity, blur_range, noise_range, distractor_prob)
    return render(p, app, rng), keypoints(p)


# --------------------------------------------------------------------------- movies


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
    facing_out = np.dot(pos, _unit(heading)) > 0.3 * np.linalg.norm(pos)
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


def _simulate(n_frames, fps, rng, length_range, margin, max_step, arena_radius):
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
    pos = radius * _unit(rng.uniform(0, 2 * np.pi))
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
        pos = pos + speed * dt * _unit(state[0])
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
    body_len, head_len, width = _body_dims(own_len * stretch, head_frac, width_factor)
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
    shift = _inside_shift(locs, margin)[0]
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


def make_movie(
    n_frames: int,
    seed: int,
    fps: float = 30.0,
    *,
    polarity: str = "random",
    length_range: tuple[float, float] = (14.0, 30.0),
    margin: float = 2.0,
    blur_range: tuple[float, float] = (0.4, 1.3),
    noise_range: tuple[float, float] = (1.0, 8.0),
    distractor_prob: float = 0.5,
    max_speed: float = 90.0,
    arena_radius: float | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """A continuous movie of one animal, cropped around it, with ground-truth labels.

    The animal walks along its heading, pauses and looks around, turns in place and now
    and then turns around (over ~0.5-1 s, curling its body). No keypoint moves more than
    `max_speed` / fps px between frames (3 px at 30 fps). The crop follows the animal, so
    its body centre drifts by ~1 px while the floor texture slides past as it walks.
    Look (polarity, floor, blur, noise level, arena wall and distractors) is fixed for the
    movie; sensor noise is fresh each frame. `arena_radius` (px) defaults to 80-160 at random;
    other options as in `make_labelled_set`. Returns images (n, 50, 50) uint8, locs (n, 3, 2).
    """
    if n_frames < 1 or not fps > 0:
        raise ValueError(f"need n_frames >= 1 and fps > 0, got {n_frames} and {fps}")
    rng = np.random.default_rng(seed)
    arena_radius = float(rng.uniform(80.0, 160.0) if arena_radius is None else arena_radius)
    p, offset = _simulate(n_frames, fps, rng, length_range, margin, max_speed / fps, arena_radius)
    app = sample_appearance(
        1, rng, polarity, blur_range, noise_range, distractor_prob, arena_radius
    )
    return render(p, app.repeat(n_frames), rng, offset), keypoints(p)
