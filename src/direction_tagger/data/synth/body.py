"""The synthetic rat's body: posture, keypoints and the shapes that are drawn.

Coordinates follow `direction_tagger.geometry`: (x, y) px, x = column, y = row, pixel centres
at integers, frame centre (24.5, 24.5). Angles here are *radians* in the same sense as the
project's degrees: 0 = toward +x, pi/2 = toward the top of the image, so the unit vector of
angle a is (cos a, -sin a).

The animal is a union of discs along a bendable spine (the trunk, thickest behind its middle),
a tapering row of discs from neck to nose (the head), two ear discs and a thin tapering tail.
It is drawn (appearance.py) as a signed distance field with coverage = clip(0.5 - distance,
0, 1), which anti-aliases every edge, so labels keep their sub-pixel meaning. Labels are the
drawn anatomy: base = rear end of the trunk, where the tail leaves it; neck = front end of the
trunk, where the head joins it; head = the nose tip (0.55 px inside the drawn outline).
"""

from __future__ import annotations

from dataclasses import dataclass, fields, replace

import numpy as np

from ...geometry import CENTRE
from ...io import FRAME_SIZE

GRID = np.arange(FRAME_SIZE, dtype=np.float32)  # pixel-centre coordinates along one axis

# Trunk: discs at N_SPINE points from base (u = 0) to neck (u = 1), radius = width * profile.
N_SPINE = 11
_ANCHOR = 6  # spine point u = 0.6: roughly the silhouette centroid, where crops are centred
_SPINE_U = np.linspace(0.0, 1.0, N_SPINE)
_TRUNK_PROFILE = np.interp(_SPINE_U, [0, 0.12, 0.35, 0.6, 0.85, 1], [0.6, 0.9, 1, 0.9, 0.68, 0.52])
HOOD_FROM = 7  # trunk discs from this index on belong to the shoulders ("hood" colour)
# Head: discs from neck (v = 0) to nose (v = 1); widest at the cheeks, tapering to a snout.
N_HEAD = 8
_HEAD_V = np.linspace(0.0, 1.0, N_HEAD)
_HEAD_PROFILE = np.interp(_HEAD_V, [0, 0.15, 0.5, 0.8, 1], [0.52, 0.6, 0.42, 0.18, 0.0])
_NOSE_RADIUS = 0.55  # px; the nose label sits this far inside the tip of the outline
# Tail: N_TAIL points spaced <= 0.6 px from base to tip; radius tapers.
N_TAIL = 64
_TAIL_RADIUS = np.linspace(0.65, 0.2, N_TAIL)
EAR_SIZE = 0.34  # ear radius / trunk half-width (a rat's)


def unit(angle: np.ndarray) -> np.ndarray:
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

    def take(self, index) -> Posture:
        return Posture(**{f.name: getattr(self, f.name)[index] for f in fields(self)})


def body_dims(total_len, head_frac, width_factor):
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


def inside_shift(locs: np.ndarray, margin: float) -> np.ndarray:
    """(B, 2) shift that moves each frame's keypoints to within [margin, 49 - margin]."""
    lo, hi = locs.min(axis=1), locs.max(axis=1)
    return np.maximum(0.0, margin - lo) - np.maximum(0.0, hi - (FRAME_SIZE - 1 - margin))


def place_inside(p: Posture, margin: float) -> Posture:
    """Shift each animal (the smallest amount) so all its keypoints lie `margin` px inside."""
    shift = inside_shift(keypoints(p), margin)
    return replace(p, cx=p.cx + shift[:, 0], cy=p.cy + shift[:, 1])


# Body proportions, (low, high) of a uniform draw per animal. Mice have a larger head for their
# size (nose to neck ~0.3-0.4 of nose to tail base), a rounder body and a tail about as long
# as the rest of them; rats are the renderer's original animal.
BUILDS = {
    "rat": {"head_frac": (0.26, 0.32), "width_factor": (0.88, 1.12), "tail_len": (8.0, 40.0)},
    "mouse": {"head_frac": (0.30, 0.40), "width_factor": (1.10, 1.60), "tail_len": (14.0, 45.0)},
}


def builds(species: np.ndarray) -> dict[str, tuple[np.ndarray, np.ndarray]]:
    """Per-animal (low, high) arrays of each BUILDS range for an array of species names."""
    return {
        key: tuple(np.array([BUILDS[s][key][i] for s in species]) for i in (0, 1))
        for key in BUILDS["rat"]
    }


def sample_postures(
    n, rng, length_range=(14.0, 30.0), jitter=3.0, margin=2.0, build=None
) -> Posture:
    """Independent random postures: any heading, hunched to stretched, bent, head turned.

    `length_range` is the nose-base path length along the body (px); the straight-line
    distance is shorter when the body bends or the head turns. The anchor is jittered
    uniformly by up to `jitter` px around the frame centre. `build`: the (low, high) ranges
    of head_frac, width_factor and tail_len, scalars or per-animal arrays (`builds`); None
    = a rat's.
    """
    build = BUILDS["rat"] if build is None else build
    total = rng.uniform(*length_range, n)
    body_len, head_len, width = body_dims(
        total, rng.uniform(*build["head_frac"], n), rng.uniform(*build["width_factor"], n)
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
        tail_len=rng.uniform(*build["tail_len"], n),
        tail_yaw=rng.normal(0.0, 0.6, n),
        tail_bend=rng.normal(0.0, 1.2, n),
    )
    return place_inside(p, margin)


# --------------------------------------------------------------------------- shapes


def body_shapes(p: Posture, ear_size=None) -> dict[str, np.ndarray]:
    """Disc centres / radii of trunk and head, ear discs, tail polyline; all px.

    `ear_size`: ear radius as a fraction of the trunk's half-width, per animal (B,) or one
    number; None = a rat's 0.34 (a mouse's ears are larger)."""
    ear_size = EAR_SIZE if ear_size is None else np.asarray(ear_size, dtype=float)
    spine = _spine(p)
    base_angle, neck_angle = _spine_ends(p)
    width = p.width[:, None]
    arc = p.body_len[:, None] * _SPINE_U
    # Rear discs never reach more than 0.5 px behind the base: the rump ends at the label.
    trunk_r = np.minimum(width * _TRUNK_PROFILE, arc + 0.5)
    rump_r = 0.8 * p.width
    rump_c = spine[:, 0] + unit(base_angle) * (rump_r - 0.5)[:, None]

    head_angle = neck_angle + p.head_yaw
    head_dir = unit(head_angle)
    neck = spine[:, -1]
    head_c = neck[:, None] + head_dir[:, None] * (p.head_len[:, None] * _HEAD_V)[..., None]
    head_r = width * _HEAD_PROFILE + _NOSE_RADIUS * _HEAD_V

    ear_at = neck + head_dir * (0.15 * p.head_len)[:, None]
    side = unit(head_angle + np.pi / 2) * (0.58 * p.width)[:, None]
    ear_c = np.stack([ear_at + side, ear_at - side], axis=1)
    ear_r = np.repeat((ear_size * p.width)[:, None], 2, axis=1)

    w = (np.arange(N_TAIL - 1) + 0.5) / (N_TAIL - 1)
    tail_angle = (base_angle + np.pi + p.tail_yaw)[:, None] + p.tail_bend[:, None] * w
    steps = unit(tail_angle) * (p.tail_len / (N_TAIL - 1))[:, None, None]
    tail = spine[:, :1] + np.concatenate([np.zeros_like(steps[:, :1]), np.cumsum(steps, 1)], 1)

    # Disc order: rear trunk (rump + discs before the hood), shoulders, head, ears.
    centres = np.concatenate([rump_c[:, None], spine, head_c, ear_c], axis=1)
    radii = np.concatenate([rump_r[:, None], trunk_r, head_r, ear_r], axis=1)
    return {"centres": centres, "radii": radii, "tail": tail}


def disc_distance(centres: np.ndarray, radii: np.ndarray) -> np.ndarray:
    """Signed distance (B, K, 50, 50) px from every pixel centre to each disc's outline."""
    c = centres.astype(np.float32)
    dx = GRID[None, None, None, :] - c[:, :, 0, None, None]
    dy = GRID[None, None, :, None] - c[:, :, 1, None, None]
    d = dx * dx + dy * dy
    np.sqrt(d, out=d)
    d -= radii.astype(np.float32)[:, :, None, None]
    return d


def tail_coverage(points: np.ndarray, sigma: float = 0.5, width=None) -> np.ndarray:
    """Coverage (B, 50, 50) in [0, 1] of a thin tail through dense points (B, N_TAIL, 2);
    `width` (B,) scales its thickness per animal (None: 1).

    Each point deposits its share of the tail's area (spacing x width) as a small normalised
    gaussian (sigma px) on a 4 x 4 pixel neighbourhood: an anti-aliased line whose cross-section
    integrates to its width, far cheaper than a distance field for a thin curve.
    """
    b, m, _ = points.shape
    spacing = np.linalg.norm(points[:, 1] - points[:, 0], axis=-1)  # (B,)
    mass = spacing[:, None] * 2.0 * _TAIL_RADIUS[None, :]  # (B, M) px^2
    if width is not None:
        mass = mass * np.asarray(width, dtype=float)[:, None]
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
