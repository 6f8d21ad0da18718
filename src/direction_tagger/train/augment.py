"""Online augmentation of a training batch on its own device: random dihedral transform,
whole-pixel shift with mirrored borders, Gaussian pixel noise; labels mapped exactly.

One gather per batch does all the pixel work, with no per-sample Python loop: the 8 dihedral
transforms are the flat index maps of `dihedral.index_maps`, built once per device (the same
as the offline augmentation's, and exact for `dihedral.dihedral_points`), and the shift just
re-indexes into them with reflected coordinates. Labels: p -> A_g (p - c) + c + shift, with
A_g the integer matrix of `dihedral.matrices` about c = (24.5, 24.5); exact in float.

Conventions as everywhere: (x, y) px, x = column, y = row, pixel centres at integers; the
content moves by +shift px.
"""

from __future__ import annotations

import math

import numpy as np
import torch

from ..dihedral import DIHEDRAL, index_maps, matrices

DEFAULT_SHIFT_PX = 2
DEFAULT_NOISE_SIGMA = 4.0  # grey levels

_CACHE: dict = {}


def _tables(size: int, device: torch.device):
    """(8, size*size) source-pixel maps and (8, 2, 2) / (8, 2) affine label maps, DIHEDRAL order."""
    key = (size, str(device))
    if key not in _CACHE:
        mats = matrices(size).astype(np.float64)
        c = np.array([(size - 1) / 2.0] * 2)
        offs = c - mats @ c  # p -> A (p - c) + c = A p + off
        _CACHE[key] = (
            torch.from_numpy(index_maps(size)).to(device),
            torch.tensor(mats, dtype=torch.float32, device=device),
            torch.tensor(offs, dtype=torch.float32, device=device),
        )
    return _CACHE[key]


def _reflect(i: torch.Tensor, size: int) -> torch.Tensor:
    """Mirror indices into [0, size) without repeating the edge (numpy's 'reflect' mode)."""
    period = 2 * (size - 1)
    i = torch.remainder(i.abs(), period)
    return torch.where(i >= size, period - i, i)


def random_augment_batch(
    images: torch.Tensor,
    locs: torch.Tensor,
    generator: torch.Generator | None = None,
    dihedral: bool = True,
    shift_px: int = DEFAULT_SHIFT_PX,
    noise_sigma: float = DEFAULT_NOISE_SIGMA,
    clamp: tuple[float, float] | None = (0.0, 255.0),
    return_params: bool = False,
):
    """Randomly rotate / flip, shift and add noise to a batch; map its labels exactly.

    images: (B, H, W) or (B, C, H, W) square frames, uint8 or float grey levels (0-255), on any
    device. locs: (B, K, 2) (x, y) px. generator: a torch.Generator (CPU or the images' device)
    for every random draw; None uses torch's global one. Per sample: one of the 8 dihedral
    transforms (uniform; identity only if `dihedral` is False), a whole-pixel shift uniform in
    -shift_px..shift_px on each axis (borders mirrored), and Gaussian noise of `noise_sigma` in
    the images' own units (grey levels for 0-255 frames), then clamped to `clamp` (None: not).

    Returns (images float32, same shape and device; locs float32 (B, K, 2)), plus, when
    `return_params`, a dict of the per-sample `k`, `flip`, `shift_x`, `shift_y` (CPU tensors
    from the draw; the same transforms as `dihedral.dihedral_points` + shift).
    """
    if images.ndim not in (3, 4) or images.shape[-1] != images.shape[-2]:
        raise ValueError(
            f"images must be (B, H, W) or (B, C, H, W) square, got {tuple(images.shape)}"
        )
    if locs.ndim != 3 or locs.shape[0] != images.shape[0] or locs.shape[-1] != 2:
        raise ValueError(f"locs must be (B, K, 2) matching images, got {tuple(locs.shape)}")
    if shift_px < 0 or noise_sigma < 0:
        raise ValueError("shift_px and noise_sigma must be >= 0")
    device = images.device
    b, size = images.shape[0], images.shape[-1]
    draw_device = generator.device if generator is not None else torch.device("cpu")

    def draw_int(low, high):
        return torch.randint(low, high, (b,), generator=generator, device=draw_device).to(device)

    g = draw_int(0, 8) if dihedral else torch.zeros(b, dtype=torch.long, device=device)
    if shift_px > 0:
        sx, sy = draw_int(-shift_px, shift_px + 1), draw_int(-shift_px, shift_px + 1)
    else:
        sx = sy = torch.zeros(b, dtype=torch.long, device=device)

    maps, mats, offs = _tables(size, device)
    r = torch.arange(size, device=device)
    rows = _reflect(r[None, :] - sy[:, None], size)  # output row i reads shifted row rows[:, i]
    cols = _reflect(r[None, :] - sx[:, None], size)
    within = (rows[:, :, None] * size + cols[:, None, :]).reshape(b, -1)
    src = torch.gather(maps[g], 1, within)  # (B, size*size) flat source pixels
    shape = images.shape
    flat = images.reshape(b, -1, size * size).float()
    out = torch.gather(flat, 2, src[:, None, :].expand(-1, flat.shape[1], -1)).reshape(shape)

    if noise_sigma > 0:
        noise_gen = generator
        if generator is not None and draw_device != device:
            # Draw the noise where the images are: a device generator seeded from `generator`.
            seed = int(torch.randint(0, 2**62, (1,), generator=generator).item())
            noise_gen = torch.Generator(device=device).manual_seed(seed)
        out = out + noise_sigma * torch.randn(shape, generator=noise_gen, device=device)
    if clamp is not None:
        out = out.clamp_(clamp[0], clamp[1])

    p = locs.float()
    new_locs = torch.einsum("bij,bkj->bki", mats[g], p) + offs[g][:, None, :]
    new_locs = new_locs + torch.stack([sx, sy], dim=-1).float()[:, None, :]
    if not return_params:
        return out, new_locs
    k_table = torch.tensor([k for k, _ in DIHEDRAL], device=device)
    flip_table = torch.tensor([f for _, f in DIHEDRAL], device=device)
    params = {
        "k": k_table[g].cpu(),
        "flip": flip_table[g].cpu(),
        "shift_x": sx.cpu(),
        "shift_y": sy.cpu(),
    }
    return out, new_locs, params


def random_rotate_scale(
    images: torch.Tensor,
    locs: torch.Tensor,
    generator: torch.Generator | None = None,
    max_degrees: float = 45.0,
    max_scale: float = 1.1,
):
    """Rotate each frame by a random angle in [-max_degrees, max_degrees] and scale it by a
    random factor in [1/max_scale, max_scale] about the frame centre (bilinear, mirrored
    borders); map the labels exactly. With the dihedral transforms this covers every heading,
    not only multiples of 90 degrees, and animals a little larger or smaller than labelled.

    images: (B, H, W) float grey levels; locs: (B, K, 2) (x, y) px. Returns both transformed.
    Labels: p -> s R (p - c) + c, with c the frame centre; grid_sample is given the inverse.
    """
    b, size = images.shape[0], images.shape[-1]
    device = images.device
    draw_device = generator.device if generator is not None else torch.device("cpu")
    u = torch.rand((b, 2), generator=generator, device=draw_device).to(device)
    angle = torch.deg2rad((2 * u[:, 0] - 1) * max_degrees)
    scale = torch.exp((2 * u[:, 1] - 1) * torch.log(torch.tensor(max_scale, device=device)))
    cos, sin = torch.cos(angle), torch.sin(angle)
    forward = scale[:, None, None] * torch.stack(
        [torch.stack([cos, -sin], -1), torch.stack([sin, cos], -1)], -2
    )  # (B, 2, 2)
    # Normalised coordinates (align_corners=False) are pixel coordinates about the centre
    # divided by size / 2 on both axes, so the same 2x2 map applies to them.
    theta = torch.cat([torch.linalg.inv(forward), torch.zeros(b, 2, 1, device=device)], dim=2)
    grid = torch.nn.functional.affine_grid(theta, (b, 1, size, size), align_corners=False)
    out = torch.nn.functional.grid_sample(
        images.reshape(b, 1, size, size).float(),
        grid,
        mode="bilinear",
        padding_mode="reflection",
        align_corners=False,
    ).reshape(images.shape)
    c = (size - 1) / 2.0
    new_locs = torch.einsum("bij,bkj->bki", forward, locs.float() - c) + c
    return out, new_locs


def random_photometric(
    images: torch.Tensor,
    generator: torch.Generator | None = None,
    max_gamma: float = 1.0,
    max_blur_px: float = 0.0,
):
    """Change each frame's tone curve and sharpness as another camera would: a gamma drawn
    log-uniformly in [1/max_gamma, max_gamma] and a Gaussian blur of sigma uniform in
    [0, max_blur_px]. Labels do not move. Exposure and contrast need no augmenting: the model
    standardises every frame (models.normalise_frames).

    images: (B, H, W) float grey levels 0-255. Returns the same shape. Both off: the frames
    themselves, and no random number drawn (so trainings without it stay as they were)."""
    if max_gamma <= 1 and max_blur_px <= 0:
        return images
    b, size = images.shape[0], images.shape[-1]
    device = images.device
    draw_device = generator.device if generator is not None else torch.device("cpu")
    u = torch.rand((b, 2), generator=generator, device=draw_device).to(device)
    out = images.float()
    if max_gamma > 1:
        gamma = torch.exp((2 * u[:, 0] - 1) * math.log(max_gamma))
        out = 255.0 * (out.clamp(0, 255) / 255.0) ** gamma[:, None, None]
    if max_blur_px > 0:
        sigma = (u[:, 1] * max_blur_px).clamp_min(1e-3)
        radius = max(1, math.ceil(3 * max_blur_px))
        taps = torch.arange(-radius, radius + 1, device=device, dtype=torch.float32)
        kernel = torch.exp(-0.5 * (taps[None, :] / sigma[:, None]) ** 2)
        kernel = kernel / kernel.sum(dim=1, keepdim=True)  # (B, taps)
        x = out.reshape(1, b, size, size)
        pad = torch.nn.functional.pad(x, (radius, radius, 0, 0), mode="reflect")
        x = torch.nn.functional.conv2d(pad, kernel[:, None, None, :], groups=b)
        pad = torch.nn.functional.pad(x, (0, 0, radius, radius), mode="reflect")
        x = torch.nn.functional.conv2d(pad, kernel[:, None, :, None], groups=b)
        out = x.reshape(images.shape)
    return out


def random_walls(
    images: torch.Tensor,
    locs: torch.Tensor,
    generator: torch.Generator | None = None,
    probability: float = 0.0,
    max_depth_px: int = 15,
    clearance_px: float = 3.0,
):
    """Paint an arena wall of another shade along one edge of some frames, as another rig's
    walls would look in the tracker's crop: with `probability`, a band from a random edge,
    1 to `max_depth_px` deep but ending `clearance_px` short of every keypoint, takes a random
    grey level (its own texture scaled by a random factor), with a bright glare line along its
    inner edge half of the time. The animal and its tail (pixels past halfway from the
    floor's grey to the keypoints') stay in front of the wall. Labels do not move; a frame whose
    keypoints leave the chosen edge no room is left alone.

    images: (B, H, W) float grey levels 0-255; locs: (B, K, 2) (x, y) px. Off: the frames
    themselves, and no random number drawn."""
    if probability <= 0:
        return images
    b, size = images.shape[0], images.shape[-1]
    device = images.device
    draw_device = generator.device if generator is not None else torch.device("cpu")
    u = torch.rand((b, 6), generator=generator, device=draw_device).to(device)
    side = (u[:, 1] * 4).long().clamp_max(3)  # 0 top, 1 bottom, 2 left, 3 right
    xy = locs.float()
    # how deep a band from each edge may go: pixel rows/columns [0, depth) stay clear
    room = torch.stack(
        [
            xy[..., 1].min(dim=1).values,
            (size - 1) - xy[..., 1].max(dim=1).values,
            xy[..., 0].min(dim=1).values,
            (size - 1) - xy[..., 0].max(dim=1).values,
        ],
        dim=1,
    )
    allowed = (room.gather(1, side[:, None])[:, 0] - clearance_px + 1).floor()
    depth = torch.minimum(1 + (u[:, 2] * max_depth_px).floor(), allowed)
    painted = (u[:, 0] < probability) & (depth >= 1)
    # distance of each pixel from each edge (top, bottom, left, right), in rows or columns
    index = torch.arange(size, device=device, dtype=torch.float32)
    rows, cols = index[:, None].expand(size, size), index[None, :].expand(size, size)
    from_edge = torch.stack([rows, size - 1 - rows, cols, size - 1 - cols])[side]  # (B, H, W)
    # the animal stays in front of the wall: pixels past halfway from the floor's grey (the
    # frame's median) to the animal's (the mean at its keypoints), dark or light animal
    floor = images.reshape(b, -1).median(dim=1).values
    at = xy.round().long().clamp(0, size - 1)
    flat = images.reshape(b, -1).gather(1, at[..., 1] * size + at[..., 0])
    halfway = ((floor + flat.mean(dim=1)) / 2)[:, None, None]
    darker = (flat.mean(dim=1) < floor)[:, None, None]
    animal = torch.where(darker, images < halfway, images > halfway)
    band = painted[:, None, None] & (from_edge < depth[:, None, None]) & ~animal
    level = 255.0 * u[:, 3]
    texture = u[:, 4]  # how much of the band's own texture stays
    mean = (images * band).sum(dim=(1, 2)) / band.sum(dim=(1, 2)).clamp_min(1)
    wall = level[:, None, None] + texture[:, None, None] * (images - mean[:, None, None])
    glare = band & (u[:, 5] < 0.5)[:, None, None] & (from_edge == depth[:, None, None] - 1)
    out = torch.where(band, wall, images.float())
    return torch.where(glare, torch.full_like(out, 250.0), out).clamp(0, 255)
