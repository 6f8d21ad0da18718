"""Recover the originals behind an augmented labelled set, from the pixels alone.

The published set holds 64 variants of each of 1,546 originals (rot90 x4, vertical flip x2,
pixel noise, pixel shift, label noise), in an unknown order and with unknown parameters.
`recover_originals` groups the frames by the original they came from and returns one clean
representative per group with its labels, mapped back from every copy and averaged.

How (vectorised per frame; Python loops run once per *group*, never per frame; the frame
comparisons of steps 1-2 are in matching.py):
1. Describe every frame by a shift- and noise-tolerant descriptor: the square roots of its
   low-frequency Fourier magnitudes under a Gaussian window. Magnitudes ignore where the content
   sits, and rotating / flipping the frame rotates / flips the descriptor, so one frame is
   compared with every dihedral version of another by 4 dot products.
2. Greedy grouping. Seeds in order: frames with exact copies first (noise-free, un-shifted
   copies repeat pixel for pixel once rotated back), then the least noisy. An ungrouped seed
   starts a group; the ungrouped frames whose descriptor is nearest to a dihedral version of
   the seed's are candidates, each *verified* by aligning it to the seed: mean squared
   difference of lightly blurred pixels (borders excluded), minimised over the 8 dihedral
   transforms and all whole-pixel shifts up to 2 * `max_shift_px` (one matrix product per
   seed), then one least-squares step for a sub-pixel shift and a little blur per axis (what
   an interpolated shift does). A candidate joins when that residual is no more than its pixel
   noise explains, the noise measured on the raw difference image itself (second differences
   cancel structure): copies pass at any noise level, a different original does not.
3. Second chance: frames of undersized groups are offered to the nearest larger groups.
4. Per group: members sharing one shift (in the seed's frame) are the un-shifted copies; the
   noise-free one (it has exact repeats; else the least noisy) is the representative, or their
   per-pixel median. Every member's labels are mapped into the representative's frame with the
   exact inverse transform and averaged (outliers left out), which also averages out the label
   noise. Shifts are rounded to whole pixels unless the copies evidently moved by fractions.

Tested on synthetic rats against our own x64 (any noise / shift size) and against other
plausible recipes: wrap-around (np.roll) or black-filled shifts, bilinear sub-pixel shifts,
noise on every copy.

Transform convention for a member m of a group with representative c:
`m = shift(dihedral_images(c, k, flip), (shift_x, shift_y))`, so its labels are
`dihedral_points(locs_c, k, flip) + (shift_x, shift_y)`; the content moves by +shift px.
Points are (x, y) px, pixel centres at integers (see geometry.py).

Cost for 98,944 frames (benchmarks/bench_augment_recover.py): about 35 s with one torch thread
on 2 shared cores, 1.6 GB peak; no N x N matrix is ever built.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field

import numpy as np
import torch
from scipy import ndimage

from ..dihedral import COMPOSE, DIHEDRAL, INVERSE, MATRICES, dihedral_images
from ..geometry import CENTRE
from ..io import FRAME_SIZE
from .matching import (
    Aligner,
    blur,
    descriptor_variants,
    descriptors,
    estimate_noise_sigma,
    exact_copies,
    matmul_t,
)

DEFAULT_MAX_SHIFT_PX = 2
_ALIGN_SIGMA = 1.0  # px blur before the exact alignment (tames noise and sub-pixel effects)
_SECOND_CHANCE_TRIES = 2048  # alignments shared by the undersized groups (8..64 targets each)
_SECOND_CHANCE_MAX_SHARE = 0.25  # ... when at most this share of groups (or 64) is undersized


@dataclass
class RecoveryResult:
    images: np.ndarray  # (G, 50, 50) uint8, one representative per group
    locs: np.ndarray  # (G, 3, 2) float32, labels in the representative's frame
    group_of_frame: np.ndarray  # (N,) int64 group id of every input frame
    report: dict
    representative_frame: np.ndarray = field(
        default=None
    )  # (G,) input index of each representative
    # Transform of every frame relative to its group's representative (see module docstring).
    frame_k: np.ndarray = field(default=None)  # (N,) quarter turns
    frame_flip: np.ndarray = field(default=None)  # (N,) bool
    frame_shift: np.ndarray = field(default=None)  # (N, 2) float (shift_x, shift_y) px
    frame_residual: np.ndarray = field(default=None)  # (N,) alignment MSE (blurred grey levels^2)


def _cleanest(
    unshifted: np.ndarray, images: np.ndarray, rel_g: np.ndarray, noise: np.ndarray
) -> int:
    """The noise-free copy among a group's un-shifted copies: noise-free copies are pixel-for-pixel
    the same image once turned back into one frame, noisy ones are all different. Without
    repeats (every copy noisy), the least noisy by the noise estimate."""
    pool = unshifted
    if len(unshifted) > 1:
        ref = rel_g[unshifted[0]]
        classes: dict[bytes, list[int]] = {}
        for m in unshifted:
            k, f = DIHEDRAL[INVERSE[COMPOSE[rel_g[m], INVERSE[ref]]]]
            classes.setdefault(
                np.ascontiguousarray(dihedral_images(images[m], k, f)).tobytes(), []
            ).append(m)
        largest = max(classes.values(), key=len)
        if len(largest) > 1:
            pool = np.array(largest)
    return int(pool[np.argmin(noise[pool])])


def _vec(mats: np.ndarray, v: np.ndarray) -> np.ndarray:
    return np.einsum("nij,nj->ni", mats, v)


def recover_originals(
    images: np.ndarray,
    locs: np.ndarray,
    max_shift_px: int = DEFAULT_MAX_SHIFT_PX,
    representative: str = "cleanest",
    residual_factor: float = 3.0,
    residual_floor: float = 1.0,
    candidates: int = 128,
    outlier_px: float = 1.5,
    subpixel: str | bool = "auto",
    threads: int | None = 1,
    progress: bool = False,
) -> RecoveryResult:
    """Group augmented frames by original and return one representative per group.

    images: (N, 50, 50) uint8; locs: (N, K, 2) (x, y) px. max_shift_px: the largest pixel shift
    (per axis) any copy may carry relative to its original. representative: "cleanest" (the
    noise-free un-shifted copy, recognised by its exact repeats: the original up to rotation /
    flip; without repeats the least noisy) or "median" (per-pixel median of the un-shifted
    copies, better when every copy is noisy). A candidate joins
    a group when its alignment MSE (grey levels^2 after a 1 px blur) is at most
    residual_factor * (the MSE that the pixel noise measured on its aligned difference image
    explains) + residual_floor.
    candidates: how many descriptor-nearest frames are verified per seed for the first 32 seeds
    (then twice the usual group size; doubled while nearly all fit). outlier_px: a member whose
    mapped labels lie further than max(outlier_px, 4 x the group's median distance) from the
    group's median is left out of the average. subpixel: "auto" keeps sub-pixel shift estimates
    only when more than 5% of frames show one (> 0.2 px); True / False force it.
    threads: torch threads for the matrix products while this runs (restored after); they are
    many and small, so 1 is fastest on shared cores; None leaves torch's setting.
    Deterministic; no randomness.
    """
    before = torch.get_num_threads()
    if threads:
        torch.set_num_threads(int(threads))
    try:
        return _recover(
            images,
            locs,
            max_shift_px,
            representative,
            residual_factor,
            residual_floor,
            candidates,
            outlier_px,
            subpixel,
            progress,
        )
    finally:
        torch.set_num_threads(before)


def _recover(
    images,
    locs,
    max_shift_px,
    representative,
    residual_factor,
    residual_floor,
    candidates,
    outlier_px,
    subpixel,
    progress,
) -> RecoveryResult:
    t0 = time.perf_counter()
    images = np.asarray(images)
    locs = np.asarray(locs, dtype=np.float64)
    n = len(images)
    if images.ndim != 3 or images.shape[1:] != (FRAME_SIZE, FRAME_SIZE):
        raise ValueError(f"images must be (N, {FRAME_SIZE}, {FRAME_SIZE}), got {images.shape}")
    if locs.ndim != 3 or len(locs) != n or locs.shape[-1] != 2:
        raise ValueError(f"locs must be (N, keypoints, 2) matching images, got {locs.shape}")
    if representative not in ("cleanest", "median"):
        raise ValueError(f"representative must be 'cleanest' or 'median', got {representative!r}")
    aligner = Aligner(int(max_shift_px))
    timings = {}

    noise = estimate_noise_sigma(images)
    desc = descriptors(images)
    desc_sq = (desc * desc).sum(axis=1)
    sharp = blur(images, _ALIGN_SIGMA)
    # Variance of blurred white noise = sigma^2 * sum(kernel^2); measured, not assumed.
    delta = np.zeros((1, 21, 21), dtype=np.float32)
    delta[0, 10, 10] = 1.0
    kappa = float((ndimage.gaussian_filter(delta, (0, _ALIGN_SIGMA, _ALIGN_SIGMA)) ** 2).sum())
    timings["describe_s"] = time.perf_counter() - t0

    group = np.full(n, -1, dtype=np.int64)
    rel_g = np.zeros(n, dtype=np.int64)  # member = shift(D_g(seed), t)
    rel_t = np.zeros((n, 2), dtype=np.float64)
    resid = np.zeros(n, dtype=np.float64)
    seeds: list[int] = []
    pool = np.arange(n)

    def verify(seed: int, cand: np.ndarray):
        """Align candidates to the seed; accept those whose (blurred) residual is no more than
        the pixel noise of their raw difference image explains. The noise is measured on the
        difference itself (second differences cancel smooth structure), so copies that differ
        only by noise pass at any noise level, and a different original does not: its smooth
        mismatch raises the blurred residual but not the noise estimate."""
        tmpl = aligner.templates(sharp[seed])
        g, dx, dy, _, best = aligner.align(tmpl, (tmpl * tmpl).sum(axis=1), sharp[cand])
        # One Lucas-Kanade step for the sub-pixel rest of the shift, plus a little blur or
        # sharpening on each axis (interpolated shifts blur): member ~ T - grad(T) . d + b . T''
        versions = aligner.versions(sharp[seed])
        basis = [np.gradient(versions, axis=2), np.gradient(versions, axis=1)]
        basis += [np.gradient(basis[0], axis=2), np.gradient(basis[1], axis=1)]
        jac = np.stack([aligner.windows(v, g, dx, dy) for v in basis], axis=-1)  # (K, P, 4)
        r = aligner.interior(sharp[cand]) - tmpl[best]
        jt = np.transpose(jac, (0, 2, 1))
        lhs = jt @ jac + 1e-3 * np.eye(4, dtype=np.float32)
        theta = -np.linalg.solve(lhs, (jt @ r[:, :, None]))[:, :, 0]
        theta[:, :2] = np.clip(theta[:, :2], -0.75, 0.75)
        mse = ((r + (jac @ theta[:, :, None])[:, :, 0]) ** 2).mean(axis=1)
        d = theta[:, :2]  # r ~ -grad(T) . d: the sub-pixel shift itself
        raw = aligner.windows(aligner.versions(images[seed].astype(np.float32)), g, dx, dy)
        diff = aligner.interior(images[cand].astype(np.float32)) - (raw - np.float32(128.0))
        noise_var = estimate_noise_sigma(diff.reshape(len(cand), aligner.crop, aligner.crop)) ** 2
        ok = mse <= residual_factor * kappa * noise_var + residual_floor
        return g, dx + d[:, 0], dy + d[:, 1], mse, ok

    def full_size() -> int:
        """The group size that holds the most frames so far (64 for the published set)."""
        sizes = np.bincount(group[group >= 0], minlength=len(seeds))
        weight = np.bincount(sizes) * np.arange(sizes.max() + 1) if len(sizes) else [0]
        return int(np.argmax(weight))

    t1 = time.perf_counter()
    k_seed = int(candidates)
    pool_desc, pool_sq = desc, desc_sq
    # Seeds: frames with exact copies first (noise-free, un-shifted, un-interpolated copies of
    # an original repeat pixel for pixel once rotated back), then the least noisy.
    for seed in np.lexsort((noise, -exact_copies(images))):
        if group[seed] >= 0:
            continue
        taken = group[pool] >= 0
        if len(pool) > 256 and taken.mean() > 0.25:  # compact now and then, not every seed
            pool, pool_desc, pool_sq = pool[~taken], pool_desc[~taken], pool_sq[~taken]
            taken = taken[~taken]
        var = descriptor_variants(desc[seed])
        d2 = pool_sq[:, None] + (var * var).sum(axis=1)[None, :] - 2.0 * matmul_t(pool_desc, var)
        dmin = d2.min(axis=1)
        dmin[taken] = np.inf
        dmin[np.searchsorted(pool, seed)] = -1.0  # the seed is always its own first candidate
        live = pool
        n_live = len(pool) - int(taken.sum())
        if len(seeds) == 32:
            # Enough groups to know their size: verify about twice that many candidates.
            k_seed = max(16, 2 * full_size())
        k = min(k_seed, n_live)
        while True:
            near = np.argpartition(dmin, k - 1)[:k] if k < len(live) else np.arange(len(live))
            near = near[np.isfinite(dmin[near])]
            cand = live[near]
            g, dx, dy, mse, ok = verify(seed, cand)
            if ok.sum() < 0.75 * k or k >= n_live:
                break
            k = min(2 * k, n_live)  # nearly all fit: the group may be larger; look further
        # The seed always joins its own group with the identity transform.
        is_seed = cand == seed
        g[is_seed], dx[is_seed], dy[is_seed], mse[is_seed], ok[is_seed] = 0, 0, 0, 0.0, True
        members = cand[ok]
        gid = len(seeds)
        seeds.append(int(seed))
        group[members] = gid
        rel_g[members] = g[ok]
        rel_t[members, 0], rel_t[members, 1] = dx[ok], dy[ok]
        resid[members] = mse[ok]
        if progress and gid % 200 == 0:
            print(f"recover: group {gid}, {int((group >= 0).sum())}/{n} frames grouped", flush=True)
    timings["group_s"] = time.perf_counter() - t1

    # Second chance for undersized groups (a seed's nearest candidates missed part of its
    # group, which then formed groups of its own): smallest first, offer their frames to the
    # seeds of the nearest groups at least as large; frames move where they fit best.
    t2 = time.perf_counter()
    sizes = np.bincount(group, minlength=len(seeds))
    full = full_size()
    moved = 0
    undersized = int(((sizes > 0) & (sizes < full)).sum())
    # Beyond a few undersized groups the parameters are off (see the report's warnings) and a
    # second chance for each would take long: skip it then.
    second_chance = full > 1 and 0 < undersized <= max(64, _SECOND_CHANCE_MAX_SHARE * len(seeds))
    if second_chance:
        seed_arr = np.array(seeds)
        seed_var = np.stack([descriptor_variants(desc[s]) for s in seed_arr])  # (G, 4, D)
        flat = seed_var.reshape(-1, seed_var.shape[-1])
        flat_sq = (flat * flat).sum(axis=1)
        n_targets = int(np.clip(_SECOND_CHANCE_TRIES // (sizes < full).sum(), 8, 64))
        for a in np.argsort(sizes, kind="stable"):
            if sizes[a] == 0 or sizes[a] >= full:
                continue
            frames = np.flatnonzero(group == a)
            d2 = desc_sq[frames][:, None] + flat_sq[None, :] - 2.0 * matmul_t(desc[frames], flat)
            d2 = d2.reshape(len(frames), len(seeds), -1).min(axis=(0, 2))
            d2[(sizes < sizes[a]) | (np.arange(len(seeds)) == a)] = np.inf
            targets = np.argsort(d2)[:n_targets]
            targets = targets[np.isfinite(d2[targets])]
            best_mse = np.full(len(frames), np.inf)
            best_g = np.zeros(len(frames), dtype=np.int64)
            best_t = np.zeros((len(frames), 2))
            best_b = np.zeros(len(frames), dtype=np.int64)
            for b in targets:
                g, dx, dy, mse, ok = verify(seed_arr[b], frames)
                better = ok & (mse < best_mse)
                best_mse[better], best_g[better], best_b[better] = mse[better], g[better], b
                best_t[better] = np.stack([dx, dy], axis=1)[better]
            hit = np.isfinite(best_mse)
            f = frames[hit]
            group[f], rel_g[f], rel_t[f], resid[f] = (
                best_b[hit],
                best_g[hit],
                best_t[hit],
                best_mse[hit],
            )
            sizes = np.bincount(group, minlength=len(seeds))
            moved += int(hit.sum())
    timings["regroup_s"] = time.perf_counter() - t2

    # Renumber: groups in order of their first frame; drop emptied groups.
    t3 = time.perf_counter()
    order_first = np.full(len(seeds), n, dtype=np.int64)
    np.minimum.at(order_first, group, np.arange(n))
    keep = np.flatnonzero(order_first < n)
    keep = keep[np.argsort(order_first[keep], kind="stable")]
    renumber = np.full(len(seeds), -1, dtype=np.int64)
    renumber[keep] = np.arange(len(keep))
    group = renumber[group]
    n_groups = len(keep)

    # Whole-pixel shifts unless the copies were shifted by fractions of a pixel: the sub-pixel
    # estimates of whole-pixel copies are noise, and rounding them keeps labels exact.
    frac = np.abs(rel_t - np.rint(rel_t)).max(axis=1)
    fractional_share = float((frac > 0.2).mean())
    use_subpixel = fractional_share > 0.05 if subpixel == "auto" else bool(subpixel)
    if not use_subpixel:
        rel_t = np.rint(rel_t)
    # Each member's shift expressed in the seed's frame: D_g^-1 moves it back.
    t_seed = _vec(np.transpose(MATRICES[rel_g], (0, 2, 1)).astype(np.float64), rel_t)
    order = np.argsort(group, kind="stable")
    bounds = np.searchsorted(group[order], np.arange(n_groups + 1))
    rep_frame = np.empty(n_groups, dtype=np.int64)
    rep_images = np.empty((n_groups, FRAME_SIZE, FRAME_SIZE), dtype=np.uint8)
    rep_locs = np.empty((n_groups,) + locs.shape[1:], dtype=np.float64)
    frame_g = np.zeros(n, dtype=np.int64)
    frame_t = np.zeros((n, 2), dtype=np.float64)
    label_spread = np.zeros(n_groups)
    dropped_labels = 0
    modal_share = np.zeros(n_groups)
    for gi in range(n_groups):
        idx = order[bounds[gi] : bounds[gi + 1]]
        # The un-shifted copies share one shift relative to the seed: the densest cluster.
        close = np.abs(t_seed[idx][:, None, :] - t_seed[idx][None, :, :]).max(axis=-1) <= 0.25
        unshifted = idx[close[np.argmax(close.sum(axis=1))]]
        modal_share[gi] = len(unshifted) / len(idx)
        c = _cleanest(unshifted, images, rel_g, noise)
        rep_frame[gi] = c
        gc, tc = rel_g[c], rel_t[c]
        # Relative to the representative: m = shift(D_h(c), u), h = g_m o g_c^-1, u = t_m - A_h t_c.
        h = COMPOSE[rel_g[idx], INVERSE[gc]]
        frame_g[idx] = h
        frame_t[idx] = rel_t[idx] - _vec(MATRICES[h], np.broadcast_to(tc, (len(idx), 2)))
        if representative == "median" and len(unshifted) > 2:
            stack = []
            for m, hm in zip(unshifted, COMPOSE[rel_g[unshifted], INVERSE[gc]]):
                k, f = DIHEDRAL[INVERSE[hm]]
                stack.append(dihedral_images(images[m], k, f))
            rep_images[gi] = np.median(np.stack(stack), axis=0).round().astype(np.uint8)
        else:
            rep_images[gi] = images[c]
        # Labels of every member mapped into c's frame: p_c = A_h^T (p_m - u - ctr) + ctr.
        a_inv = np.transpose(MATRICES[h], (0, 2, 1))
        p = locs[idx] - frame_t[idx][:, None, :] - CENTRE
        p = np.einsum("nij,nkj->nki", a_inv, p) + CENTRE
        med = np.median(p, axis=0)
        dist = np.linalg.norm(p - med, axis=-1).max(axis=-1)
        good = dist <= max(outlier_px, 4.0 * float(np.median(dist)))
        dropped_labels += int((~good).sum())
        rep_locs[gi] = p[good].mean(axis=0)
        label_spread[gi] = float(np.sqrt(((p[good] - rep_locs[gi]) ** 2).sum(-1).mean()))
    timings["finalise_s"] = time.perf_counter() - t3

    frame_k = np.array([k for k, _ in DIHEDRAL])[frame_g]
    frame_flip = np.array([f for _, f in DIHEDRAL])[frame_g]
    sizes = np.bincount(group, minlength=n_groups)
    size_values, size_counts = np.unique(sizes, return_counts=True)
    # the usual size: the one holding the most frames (64 for the published set)
    modal = int(size_values[np.argmax(size_values * size_counts)]) if n_groups else 0
    off = np.flatnonzero(sizes != modal)
    med_resid = np.zeros(n_groups)
    for gi in range(n_groups):
        med_resid[gi] = np.median(resid[order[bounds[gi] : bounds[gi + 1]]])
    high = np.flatnonzero(resid > 4.0 * med_resid[group] + residual_floor)
    warnings = []
    if n_groups and len(off) > 0.05 * n_groups:
        warnings.append(
            f"{len(off)} of {n_groups} groups are not of the usual size {modal}: copies may be "
            f"shifted further than max_shift_px={max_shift_px} (try a larger one), filled or "
            "interpolated differently, or be near-duplicate originals; see groups_off_modal_size "
            "and frames_high_residual"
        )
    if full > 1 and undersized and not second_chance:
        warnings.append(
            f"{undersized} groups were undersized after the first pass, too many for a second "
            "chance: the parameters probably do not fit this set"
        )
    if len(high) > 0.01 * n:
        warnings.append(f"{len(high)} frames align much worse than the rest of their group")
    report = {
        "n_frames": int(n),
        "n_groups": int(n_groups),
        "modal_group_size": modal,
        "group_size_counts": {str(int(s)): int(c) for s, c in zip(size_values, size_counts)},
        "n_groups_off_modal_size": int(len(off)),
        "groups_off_modal_size": [
            {"group": int(g), "size": int(sizes[g]), "representative_frame": int(rep_frame[g])}
            for g in off[:200]
        ],
        "frames_moved_by_second_chance": int(moved),
        "subpixel_shifts": {"used": bool(use_subpixel), "share_fractional": fractional_share},
        "residual_mse": {
            "median": float(np.median(resid)),
            "p99": float(np.quantile(resid, 0.99)),
            "max": float(resid.max()),
        },
        "n_frames_high_residual": int(len(high)),
        "frames_high_residual": [int(i) for i in high[:200]],
        "label_spread_px": {
            "median": float(np.median(label_spread)) if n_groups else 0.0,
            "max": float(label_spread.max()) if n_groups else 0.0,
        },
        "labels_left_out_of_average": dropped_labels,
        "unshifted_share_median": float(np.median(modal_share)) if n_groups else 0.0,
        "noise_sigma_estimate": {
            "p10": float(np.quantile(noise, 0.1)),
            "median": float(np.median(noise)),
            "p90": float(np.quantile(noise, 0.9)),
        },
        "warnings": warnings,
        "params": {
            "max_shift_px": int(max_shift_px),
            "representative": representative,
            "residual_factor": float(residual_factor),
            "residual_floor": float(residual_floor),
            "candidates": int(candidates),
            "outlier_px": float(outlier_px),
            "subpixel": subpixel,
            "torch_threads": torch.get_num_threads(),
        },
        "seconds": {k: round(v, 3) for k, v in timings.items()}
        | {"total": round(time.perf_counter() - t0, 3)},
    }
    return RecoveryResult(
        images=rep_images,
        locs=rep_locs.astype(np.float32),
        group_of_frame=group,
        report=report,
        representative_frame=rep_frame,
        frame_k=frame_k,
        frame_flip=frame_flip,
        frame_shift=frame_t,
        frame_residual=resid,
    )
