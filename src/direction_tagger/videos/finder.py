"""Find the animal in a full video frame: a background model, then the largest blob of the
animal's contrast, with thin parts (tail, tether, cable) opened away.

Coarse to fine: the blob is found on a block-averaged copy of the frame (cheap, and block
averaging suppresses sensor noise), then measured again at full resolution in a window around
it. The centre reported is the midpoint of the blob's two ends along its long axis, which
estimates the nose - tail base midpoint far better than the centre of mass (the rump is
heavier than the head). Frames where the animal sits still are no problem: the background is
a floor-side quantile of frames spread over the whole video, so it only holds the animal if
the animal sat in one place for most of the video (then `mend_background`).
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache

import cv2
import numpy as np
from scipy import ndimage

# OpenCV's morphology and distance transform give scipy.ndimage's results to the bit (same
# disc, same borders; tests/test_videos.py checks) at 10-40 x the speed. One thread: the
# windows are small, and the other core decodes the video.
cv2.setNumThreads(1)

# Threshold: the larger of NOISE_SIGMAS x the background noise and PEAK_FRACTION x the frame's
# strongest contrast (shadows and reflections are weaker than the animal itself).
NOISE_SIGMAS = 6.0
PEAK_FRACTION = 0.35
MIN_CONTRAST = 8.0  # grey levels: below this nothing counts as an animal
# Opening radius as a fraction of the body length: wide enough to cut a tail or a cable
# (their width is < 10 % of the body length), narrow enough to keep the head.
OPEN_FRACTION = 0.08
# A tail: a thin part at least this long, at most this wide on average (x body length).
TAIL_MIN_LENGTH = 0.2
TAIL_MAX_WIDTH = 0.15
# The tail root's search keeps contrast above this share of the peak (the body's mask keeps
# PEAK_FRACTION): a pale tail is kept, the faint halo or shadow around a dark animal on an
# infrared floor is not (at 3 x the noise it was, and was taken for the tail).
TAIL_PEAK_FRACTION = 0.2
# Then, where no tail was seen so, down to this x the noise (a pale tail on a dim frame).
TAIL_NOISE_SIGMAS = 3.0
# ... and a thin part at least this long (x body length): the snout's tip, opened away too, is
# shorter; a tail seen at all reaches further.
TAIL_ROOT_MIN_LENGTH = 0.35
# Bodies at least this long (video px): the tail root searched at 2 video px per pixel or
# coarser (a tail stays several pixels wide).
TAIL_ROOT_HALF_RES_PX = 60.0
# The background takes this quantile of each pixel on the floor's side of the animal.
FLOOR_QUANTILE = 0.7
# A thin part that joins an end of the body this much wider than the longest one's is the tail.
RUMP_WIDER = 1.15
# The two ends of the blob along its axis: these quantiles of the pixels' projections.
END_QUANTILE = 0.005
COARSE_SIDE = 120  # block averaging brings the short side of the frame down to ~this
# The fine step measures a longer animal block-averaged to 60-120 px long: 2 px of a 120 px
# body move its centre by < 0.5 crop px, and halving the resolution halves the cost (the
# openings' cost grows with the square of their radius).
FINE_BODY_PX = 60


@dataclass
class Background:
    """What an empty arena looks like, at full and coarse resolution."""

    full: np.ndarray  # (H, W) float32
    coarse: np.ndarray  # (H // factor, W // factor) float32
    factor: int
    polarity: float  # +1: the animal is darker than the floor, -1: lighter
    noise: float  # grey levels, robust sd of frame - background where nothing moves
    mended_px: int = 0  # pixels where the samples held the animal (mend_background)

    def __post_init__(self):
        self.brightness = brightness(self.coarse)

    @property
    def shape(self) -> tuple[int, int]:
        return self.full.shape


@dataclass
class Detection:
    found: bool
    x: float = np.nan  # full-resolution px, pixel centres at integers
    y: float = np.nan
    length: float = np.nan  # px along the body axis, tail opened away
    area: float = 0.0  # px^2 of the blob at full resolution
    # Where the tail (the longest thin part the opening removed) joins the body, full-
    # resolution px; NaN when no tail is seen. Evidence of which end is the rump that does not
    # come from the keypoint model (movies/evidence.py).
    tail_x: float = np.nan
    tail_y: float = np.nan


def coarse_factor(shape: tuple[int, int]) -> int:
    return max(1, min(shape) // COARSE_SIDE)


def block_mean(frame: np.ndarray, factor: int) -> np.ndarray:
    """Mean over factor x factor blocks (the last partial row/column of blocks dropped)."""
    if factor == 1:  # the callers never write into it: a float32 frame is used as it is
        return frame.astype(np.float32, copy=False)
    h, w = (frame.shape[0] // factor) * factor, (frame.shape[1] // factor) * factor
    frame = frame[:h, :w]
    # strided adds in integers: several times faster than reducing a reshaped array
    integer = frame.dtype == np.uint8 and factor <= 16  # the sums fit 16 bits
    cols = frame[:, 0::factor].astype(np.uint16 if integer else np.float32)
    for j in range(1, factor):
        cols += frame[:, j::factor]
    sums = cols[0::factor].astype(np.float32)
    for i in range(1, factor):
        sums += cols[i::factor]
    return sums * np.float32(1.0 / (factor * factor))


def brightness(image: np.ndarray) -> float:
    """The floor's brightness: the median grey level (the animal is a small part of it),
    taken on every other pixel of every other row (as good, 4x cheaper). (np.median's
    arithmetic, without its overhead.)"""
    values = image[::2, ::2].ravel()
    n = values.size
    if n % 2 or values.dtype.kind != "f":
        return max(float(np.median(values)), 1.0)
    part = np.partition(values, (n // 2 - 1, n // 2))
    return max(float(np.mean(part[n // 2 - 1 : n // 2 + 1])), 1.0)


def build_background(frames: np.ndarray, polarity: str = "auto") -> Background:
    """The empty arena from frames (K, H, W) spread over a video, the animal's polarity and
    the noise.

    Each pixel takes the FLOOR_QUANTILE of its values on the floor's side of the animal (the
    brighter side for a dark animal), after the frames' brightness is matched: the animal is
    left out wherever it sat for less than that share of the frames (a median needs half).
    `polarity`: "dark" (animal darker than the floor), "light", or "auto": the sign of the
    strongest departures from the median in the sample frames."""
    frames = np.asarray(frames)
    if frames.ndim != 3 or len(frames) < 3:
        raise ValueError(f"need at least 3 frames (K, H, W) for a background, got {frames.shape}")
    median = _per_pixel(frames, lambda v: np.median(v, axis=1)).astype(np.float32)
    factor = coarse_factor(median.shape)
    coarse = block_mean(median, factor)
    small = np.stack([block_mean(f, factor) for f in frames])
    gains = np.array([brightness(f) for f in small]) / brightness(coarse)
    diffs = small - gains[:, None, None] * coarse  # lighting may drift between samples
    mad = np.median(np.abs(diffs - np.median(diffs)))
    noise = max(float(1.4826 * mad), 0.5)
    if polarity == "auto":
        # per frame, the strongest departure; their median sign is the animal's
        low = np.quantile(diffs.reshape(len(frames), -1), 0.0005, axis=1)
        high = np.quantile(diffs.reshape(len(frames), -1), 0.9995, axis=1)
        sign = 1.0 if np.median(-low) >= np.median(high) else -1.0
    elif polarity in ("dark", "light"):
        sign = 1.0 if polarity == "dark" else -1.0
    else:
        raise ValueError(f"polarity must be auto, dark or light, got {polarity!r}")
    level = FLOOR_QUANTILE if sign > 0 else 1.0 - FLOOR_QUANTILE
    gains32 = gains.astype(np.float32)
    full = _per_pixel(frames, lambda v: np.quantile(v.astype(np.float32) / gains32, level, axis=1))
    return Background(full.astype(np.float32), block_mean(full, factor), factor, sign, noise)


def mend_background(frames: np.ndarray, bg: Background, min_area: float) -> Background:
    """`bg` mended where the animal sat in most of the sample `frames` (K, H, W).

    In a short clip the animal may stay on a spot in more than 1 - FLOOR_QUANTILE of the
    samples, and the background holds it there: the samples it had left show that floor
    brighter than the "floor" (for a dark animal) -- contrast of the wrong sign, as strong as
    the animal's own, over an animal-sized patch. Each such patch of at least `min_area` px
    (smaller ones are lighting, reflections, noise) takes, pixel by pixel, the mean of the
    samples that show the floor there. An animal that never left a spot in any sample stays
    in the background (`track` warns when it had to mend)."""
    frames = np.asarray(frames)
    small = np.stack([block_mean(f, bg.factor) for f in frames])
    gains = (np.array([brightness(f) for f in small]) / bg.brightness).astype(np.float32)
    peak = float(
        np.median([_peak(_contrast(f, bg.coarse, bg, g), 2) for f, g in zip(small, gains)])
    )
    threshold = max(NOISE_SIGMAS * bg.noise, PEAK_FRACTION * peak, MIN_CONTRAST)
    k, h, w = frames.shape
    seen = np.zeros((h, w), np.int32)  # samples showing the floor where the background has none
    total = np.zeros((h, w), np.float32)
    rows = max(1, (1 << 24) // (k * w * 4))  # a band of rows at a time, as _per_pixel
    for top in range(0, h, rows):
        band = frames[:, top : top + rows].astype(np.float32) / gains[:, None, None]
        shows_floor = _contrast(band, bg.full[None, top : top + rows], bg, 1.0) < -threshold
        seen[top : top + rows] = shows_floor.sum(axis=0)
        total[top : top + rows] = np.where(shows_floor, band, 0).sum(axis=0)
    labels, n = _label(seen > 0)
    sizes = np.bincount(labels.ravel(), minlength=n + 1)
    patch = (sizes >= min_area)[labels] & (labels > 0)
    if not patch.any():
        return bg
    full = np.where(patch, total / np.maximum(seen, 1), bg.full).astype(np.float32)
    mended = int(np.count_nonzero(patch))
    return Background(full, block_mean(full, bg.factor), bg.factor, bg.polarity, bg.noise, mended)


def _per_pixel(frames: np.ndarray, reduce) -> np.ndarray:
    """(H, W): `reduce` of each pixel's values in frames (K, H, W), given as (pixels, K): a
    band of rows at a time (41 float copies of a 4000 x 3000 frame would be 2 GB), the
    frames' axis last (numpy's median and quantile take 1.5 x as long along the first)."""
    k, h, w = frames.shape
    out = np.empty((h, w), np.float64)
    rows = max(1, (1 << 24) // (k * w * 4))
    for top in range(0, h, rows):
        band = frames[:, top : top + rows].reshape(k, -1).T
        out[top : top + rows] = reduce(np.ascontiguousarray(band)).reshape(-1, w)
    return out


def _contrast(image: np.ndarray, background: np.ndarray, bg: Background, gain: float):
    """Animal-positive difference to the background, its brightness scaled by `gain` (the
    lighting may drift over an hour)."""
    return bg.polarity * (background * gain - image)


@cache
def _disc(r: int) -> np.ndarray:
    yy, xx = np.mgrid[-r : r + 1, -r : r + 1]
    return xx * xx + yy * yy <= r * r + 0.5


@cache
def _kernel(r: int) -> np.ndarray:
    return _disc(r).astype(np.uint8)


_CROSS = cv2.getStructuringElement(cv2.MORPH_CROSS, (3, 3))  # scipy's default structure


def _label(mask: np.ndarray) -> tuple[np.ndarray, int]:
    """Connected components, 4-connected, numbered in raster order: scipy's ndimage.label,
    to the label (tested), twice as fast."""
    n, labels = cv2.connectedComponents(mask.view(np.uint8), connectivity=4, ltype=cv2.CV_32S)
    return labels, n - 1


def _erode(image: np.ndarray, kernel: np.ndarray) -> np.ndarray:
    """Binary (uint8 0/1, outside = 0, as scipy's border_value=0) erosion."""
    return cv2.erode(image, kernel, borderType=cv2.BORDER_CONSTANT, borderValue=0)


def _dilate(image: np.ndarray, kernel: np.ndarray, iterations: int = 1) -> np.ndarray:
    return cv2.dilate(
        image, kernel, iterations=iterations, borderType=cv2.BORDER_CONSTANT, borderValue=0
    )


def _peak(contrast: np.ndarray, radius: int) -> float:
    """The animal's peak contrast, taken where the contrast is wider than the opening: a dark
    cable over a lighter animal must not raise the bar above its head. (The maximum of a
    grey opening by a disc is the maximum of its erosion: the dilation only spreads the
    erosion's values.)"""
    if not contrast.size:
        return 0.0
    kernel = _kernel(max(1, radius // 2))
    return float(cv2.erode(contrast, kernel, borderType=cv2.BORDER_REFLECT).max())


def _mask(
    contrast: np.ndarray, noise: float, radius: int, peak: float | None = None, fraction=None
) -> np.ndarray:
    """Pixels of the animal's contrast: above the noise and `fraction` (PEAK_FRACTION) of
    the peak (`_peak`, computed here unless given)."""
    if not contrast.size:
        return np.zeros(contrast.shape, bool)
    peak = _peak(contrast, radius) if peak is None else peak
    fraction = PEAK_FRACTION if fraction is None else fraction
    if fraction == 0.0:  # the tail root's last resort: the noise alone
        return contrast > TAIL_NOISE_SIGMAS * noise
    return contrast > max(NOISE_SIGMAS * noise, fraction * peak, MIN_CONTRAST)


def _opened(mask: np.ndarray, radius: int) -> np.ndarray:
    """Binary opening by a disc of `radius` (scipy's binary_opening, to the bit)."""
    if radius <= 0:
        return mask
    kernel = _kernel(radius)
    return _dilate(_erode(mask.view(np.uint8), kernel), kernel).view(bool)


def _box(mask: np.ndarray, pad: int = 0) -> tuple[slice, slice] | None:
    """The bounding box of a mask's pixels, `pad` px wider (within the array); None if empty.
    The steps below work inside it: what they compute is local (openings shrink a mask,
    components stay where they are), so their results are those on the whole window."""
    rows = np.flatnonzero(mask.any(1))
    if not rows.size:
        return None
    cols = np.flatnonzero(mask.any(0))
    return (
        slice(max(0, rows[0] - pad), min(mask.shape[0], rows[-1] + pad + 1)),
        slice(max(0, cols[0] - pad), min(mask.shape[1], cols[-1] + pad + 1)),
    )


def _best_blob(mask, contrast, previous: tuple[float, float] | None, scale: float):
    """Labels of the blob to follow: the heaviest, discounted by its distance from the
    previous position (so a passing hand does not steal the track). None when empty."""
    labels, n = _label(mask)
    if n == 0:
        return None
    if n == 1:
        return labels == 1
    flat = labels.ravel()
    mass = np.bincount(flat, np.clip(contrast, 0, None).ravel(), n + 1)[1:]
    if previous is not None:
        count = np.bincount(flat, None, n + 1)[1:]
        yy, xx = np.indices(labels.shape, dtype=np.float64)
        cy = np.bincount(flat, yy.ravel(), n + 1)[1:] / count
        cx = np.bincount(flat, xx.ravel(), n + 1)[1:] / count
        dist = np.hypot(cx - previous[0], cy - previous[1])
        mass = mass / (1.0 + dist / scale)
    return labels == int(np.argmax(mass)) + 1


def _quantile(values: np.ndarray, q: float) -> float:
    """np.quantile(values, q) of a 1-D float array (linear, no NaN), to the bit, without
    its overhead (a third of a small blob's cost)."""
    n = values.size
    virtual = (n - 1) * q
    i = int(np.floor(virtual))
    j = min(i + 1, n - 1)
    gamma = virtual - i
    part = np.partition(values, (i, j))
    lo, hi = float(part[i]), float(part[j])
    diff = hi - lo
    return hi - diff * (1 - gamma) if gamma >= 0.5 else lo + diff * gamma


def _axis_midpoint(blob: np.ndarray, weights: np.ndarray, origin=(0, 0)):
    """Midpoint (x, y) of the blob's two ends along its principal axis, and its length (px);
    `origin`: where the arrays' (0, 0) lies, (row, column). (The weighted mean and covariance
    are np.average's and np.cov's arithmetic, step by step: the same numbers, a quarter of
    the time.)"""
    ys, xs = np.nonzero(blob)
    w = np.clip(weights[ys, xs], 1e-6, None).astype(np.float64)
    ys, xs = ys + origin[0], xs + origin[1]
    w_sum = w.sum()
    cx, cy = np.multiply(xs, w).sum() / w_sum, np.multiply(ys, w).sum() / w_sum
    dx, dy = xs - cx, ys - cy
    if len(xs) > 1:
        d = np.stack([dx, dy])
        d -= (np.multiply(d, w).sum(axis=1) / w_sum)[:, None]
        cov = np.dot(d, (d * w).T)
        cov *= np.true_divide(1, w_sum - np.sum(w * w) / w_sum)
    else:
        cov = np.eye(2)
    axis = np.linalg.eigh(cov)[1][:, -1]
    proj = dx * axis[0] + dy * axis[1]
    lo, hi = _quantile(proj, END_QUANTILE), _quantile(proj, 1 - END_QUANTILE)
    mid = 0.5 * (lo + hi)
    return cx + mid * axis[0], cy + mid * axis[1], float(hi - lo + 1.0)


def _tail_ends(
    whole: np.ndarray,
    body: np.ndarray,
    length: float,
    min_length: float = TAIL_MIN_LENGTH,
    origin=(0, 0),
):
    """(tail base, nose) as (x, y) arrays: the tail is the largest thin part attached to the
    body (what the opening removed); the tail base is where it joins, the nose the body's
    farthest point from there. None when no tail is seen. `body` lies inside `whole`;
    `origin` as in `_axis_midpoint`."""
    box = _box(whole, 1)  # 1 px more: the distance to the floor around the body
    if box is None:
        return None
    whole, body = whole[box], body[box]
    top, left = origin[0] + box[0].start, origin[1] + box[1].start
    ring = _dilate(body.view(np.uint8), _CROSS, iterations=2).view(bool)
    rest = whole & ~body
    labels, n = _label(rest)
    touching = np.unique(labels[ring & rest])
    touching = touching[touching > 0]
    if touching.size == 0:
        return None
    areas = np.bincount(labels.ravel(), None, n + 1)[touching]
    boxes = ndimage.find_objects(labels)
    extents = np.array([np.hypot(*(s.stop - s.start for s in boxes[k - 1])) for k in touching])
    # a tail is long and thin: reflections, shadows and walls that merge are wide
    tail_like = (extents >= min_length * length) & (areas <= TAIL_MAX_WIDTH * length * extents)
    if not tail_like.any():
        return None
    body8 = body.view(np.uint8)
    ys, xs = np.nonzero(body8)
    thin = touching[tail_like]
    # A cable may join too, at the head: of the thin parts, the longest is the tail unless
    # another joins a clearly wider end of the body (the rump). One thin part: the tail.
    if thin.size > 1:
        half_width = cv2.distanceTransform(body8, cv2.DIST_L2, cv2.DIST_MASK_PRECISE)[ys, xs]
    ys, xs = ys + top, xs + left
    candidates = []
    for label in thin:
        ay, ax = np.nonzero((labels == label) & ring)
        point = np.array([(ax + left).mean(), (ay + top).mean()])
        width = 0.0
        if thin.size > 1:
            near = np.hypot(xs - point[0], ys - point[1]) <= 0.3 * length
            width = float(half_width[near].max()) if near.any() else 0.0
        candidates.append((width, extents[touching == label][0], point))
    longest = max(candidates, key=lambda c: c[1])
    widest = max(candidates, key=lambda c: c[0])
    attach = widest[2] if widest[0] > RUMP_WIDER * longest[0] else longest[2]
    d_attach = np.hypot(xs - attach[0], ys - attach[1])
    base = np.array([xs[d_attach.argmin()], ys[d_attach.argmin()]], float)
    d_base = np.hypot(xs - base[0], ys - base[1])
    far = d_base >= _quantile(d_base, 0.99)
    nose = np.array([xs[far].mean(), ys[far].mean()])
    return base, nose


def _tail_root(fine, blob, noise: float, peak: float, radius: int, length: float, f: int):
    """Where the tail joins the body, (x, y) window px, or None. The centre's search above
    keeps only contrast above 35 % of the animal's peak, which can drop a pale tail and leave
    the snout as the longest thin part; here the mask reaches down to TAIL_PEAK_FRACTION of
    it (then, if no tail is seen, down to the noise), the body is opened again at that level
    (the blob's own part), and the thin parts are what the opening removed. `f`: searched at
    1/f of the window's resolution (a tail stays several pixels wide; the cost falls
    f^2-fold)."""
    if f > 1:
        fine = block_mean(fine, f)
        blob = block_mean(blob.astype(np.float32), f) >= 0.5
        noise, radius, length = noise / f, max(1, round(radius / f)), length / f
    for fraction in (TAIL_PEAK_FRACTION, 0.0):
        low = _mask(fine, noise, radius, peak, fraction)
        box = _box(low, 1)
        if box is None:
            continue
        low = low[box]
        body = _opened(low, radius)
        labels, _ = _label(body)
        own = np.unique(labels[blob[box] & body])
        own = own[own > 0]
        if own.size == 0:
            continue
        origin = (box[0].start, box[1].start)
        ends = _tail_ends(low, np.isin(labels, own), length, TAIL_ROOT_MIN_LENGTH, origin)
        if ends is not None:
            return (ends[0] + 0.5) * f - 0.5
    return None


def find_animal(
    frame: np.ndarray,
    bg: Background,
    previous: tuple[float, float] | None = None,
    length: float | None = None,
) -> Detection:
    """The animal in one full frame (H, W) uint8. `previous` (x, y) and `length` (px) from
    earlier frames steer the choice between blobs and the opening radius."""
    f = bg.factor
    small = block_mean(frame, f)
    gain = brightness(small) / bg.brightness
    coarse = _contrast(small, bg.coarse, bg, gain)
    coarse_len = (length or 10.0 * f) / f
    noise = bg.noise / f  # block averaging divides sensor noise by ~f
    radius = max(1, round(OPEN_FRACTION * coarse_len))
    mask = _opened(_mask(coarse, noise, radius), radius)
    prev = (
        None if previous is None else ((previous[0] + 0.5) / f - 0.5, (previous[1] + 0.5) / f - 0.5)
    )
    blob = _best_blob(mask, coarse, prev, max(coarse_len, 2.0))
    if blob is None:
        return Detection(False)
    # Full resolution in a window around the coarse blob, 1/2 body length of margin.
    ys, xs = np.nonzero(blob)
    pad = int(np.ceil(max(np.ptp(ys), np.ptp(xs)) * 0.5)) + 2
    top, left = max(0, (ys.min() - pad) * f), max(0, (xs.min() - pad) * f)
    bottom = min(frame.shape[0], (ys.max() + pad + 1) * f)
    right = min(frame.shape[1], (xs.max() + pad + 1) * f)
    rough_len = max(np.ptp(ys), np.ptp(xs)) * f if length is None else length
    # A huge animal (a 4000 x 3000 video) is measured block-averaged to ~FINE_BODY_PX long:
    # the openings cost the square of their radius per pixel, and the crop needs no more.
    ff = max(1, int(rough_len // FINE_BODY_PX))
    window = block_mean(frame[top:bottom, left:right], ff)
    fine = _contrast(window, block_mean(bg.full[top:bottom, left:right], ff), bg, gain)
    rough_len /= ff
    radius = max(1, round(OPEN_FRACTION * rough_len))
    peak = _peak(fine, radius)
    whole = _mask(fine, bg.noise / ff, radius, peak)
    box = _box(whole, 1)  # 1 px more for _tail_ends
    if box is None:
        return Detection(False)
    blob = _best_blob(_opened(whole[box], radius), fine[box], None, 1.0)
    if blob is None:
        return Detection(False)
    origin = (box[0].start, box[1].start)
    x, y, blob_len = _axis_midpoint(blob, fine[box], origin)
    ends = _tail_ends(whole[box], blob, rough_len, origin=origin)
    area = float(blob.sum()) * ff * ff
    blob, inside = np.zeros(whole.shape, bool), blob
    blob[box] = inside  # back in the window
    if ends is not None:
        x, y = (ends[0] + ends[1]) / 2
    half = ff == 1 and rough_len >= TAIL_ROOT_HALF_RES_PX  # a window at 1 px per pixel
    root = _tail_root(fine, blob, bg.noise / ff, peak, radius, rough_len, 2 if half else 1)
    # block i covers full pixels i * ff ... i * ff + ff - 1: its centre is i * ff + (ff - 1) / 2
    x, y = x * ff + (ff - 1) / 2, y * ff + (ff - 1) / 2
    tail = (np.nan, np.nan)
    if root is not None:
        tail = (root[0] * ff + (ff - 1) / 2 + left, root[1] * ff + (ff - 1) / 2 + top)
    return Detection(True, x + left, y + top, blob_len * ff, area, *tail)
