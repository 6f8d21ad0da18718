"""Augment 1,546 synthetic originals to x64, shuffle, recover them: time, peak memory, accuracy.

Targets (issue 4, 2 cores): augmentation of 1,546 -> 98,944 in <= 20 s, recovery of 98,944
frames in <= 2 min, peak memory <= 4 GB for either. Each stage runs in its own fresh process so
its peak resident memory (ru_maxrss, which includes Python + numpy + torch, reported
separately as the baseline) is its own.

    python benchmarks/bench_augment_recover.py [--n 1546] [--threads 1] [--json out.json]
"""

from __future__ import annotations

import argparse
import json
import multiprocessing as mp
import resource
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

TARGET_AUGMENT_S, TARGET_RECOVER_S, TARGET_MEMORY_GB = 20.0, 120.0, 4.0


def _peak_gb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024**2  # Linux: KiB


def _stage(name: str, workdir: str, threads: int, queue) -> None:
    """Run one stage in this (fresh) process; report seconds and peak memory."""
    import torch

    torch.set_num_threads(threads)
    work = Path(workdir)
    out: dict = {"stage": name}
    if name == "baseline":
        from direction_tagger.originals import augment, recover  # noqa: F401  (import cost only)
    elif name == "augment":
        from direction_tagger.originals.augment import augment_originals

        with np.load(work / "orig.npz") as npz:
            images, locs = npz["images"], npz["locs"]
        t = time.perf_counter()
        aug, aug_locs, original = augment_originals(images, locs, seed=1)
        out["seconds"] = time.perf_counter() - t
        out["frames"] = len(aug)
        np.save(work / "aug_images.npy", aug)
        np.save(work / "aug_locs.npy", aug_locs)
    elif name == "recover":
        from direction_tagger.originals.recover import recover_originals

        images = np.load(work / "aug_images.npy")
        locs = np.load(work / "aug_locs.npy")
        perm = np.load(work / "perm.npy")
        images, locs = images[perm], locs[perm]  # the published order is unknown: shuffle
        t = time.perf_counter()
        res = recover_originals(images, locs, threads=threads)
        out["seconds"] = time.perf_counter() - t
        out["report"] = res.report
        np.savez(
            work / "recovered.npz",
            group=res.group_of_frame,
            rep=res.representative_frame,
            locs=res.locs,
        )
    out["peak_gb"] = _peak_gb()
    queue.put(out)


def run_stage(name, workdir, threads) -> dict:
    ctx = mp.get_context("spawn")
    queue = ctx.Queue()
    proc = ctx.Process(target=_stage, args=(name, str(workdir), threads, queue))
    proc.start()
    result = queue.get()
    proc.join()
    return result


def fraction_in_right_group(group: np.ndarray, truth: np.ndarray) -> float:
    right = np.zeros(len(group), dtype=bool)
    order = np.argsort(group, kind="stable")
    bounds = np.searchsorted(group[order], np.arange(group.max() + 2))
    home = np.array([np.bincount(group[truth == o]).argmax() for o in range(truth.max() + 1)])
    for g in range(group.max() + 1):
        members = order[bounds[g] : bounds[g + 1]]
        best = np.bincount(truth[members]).argmax()
        right[members] = (truth[members] == best) & (home[best] == g)
    return float(right.mean())


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--n", type=int, default=1546, help="synthetic originals (default 1546)")
    parser.add_argument("--threads", type=int, default=1, help="torch threads (default 1)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--json", help="also write the results here")
    args = parser.parse_args(argv)

    from direction_tagger.data.synth import make_labelled_set
    from direction_tagger.originals.augment import augmentation_plan, transform_points

    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        t = time.perf_counter()
        images, locs = make_labelled_set(args.n, args.seed)
        print(
            f"rendered {args.n} synthetic originals in {time.perf_counter() - t:.1f} s", flush=True
        )
        np.savez(work / "orig.npz", images=images, locs=locs)

        base = run_stage("baseline", work, args.threads)
        aug = run_stage("augment", work, args.threads)
        n_frames = aug["frames"]
        perm = np.random.default_rng(args.seed + 1).permutation(n_frames)
        np.save(work / "perm.npy", perm)
        rec = run_stage("recover", work, args.threads)

        with np.load(work / "recovered.npz") as npz:
            group, rep, rec_locs = npz["group"], npz["rep"], npz["locs"]
        plan = augmentation_plan(args.n, seed=1)
        truth = plan["original_index"][perm]
        frames = perm[rep]
        true_locs = transform_points(
            locs[plan["original_index"][frames]],
            plan["k"][frames],
            plan["flip"][frames],
            plan["shift_x"][frames],
            plan["shift_y"][frames],
        )
        err = np.linalg.norm(rec_locs - true_locs, axis=-1)

    results = {
        "originals": args.n,
        "frames": n_frames,
        "threads": args.threads,
        "baseline_process_gb": round(base["peak_gb"], 3),
        "augment_s": round(aug["seconds"], 2),
        "augment_peak_gb": round(aug["peak_gb"], 3),
        "recover_s": round(rec["seconds"], 2),
        "recover_stage_s": rec["report"]["seconds"],
        "recover_peak_gb": round(rec["peak_gb"], 3),
        "groups": rec["report"]["n_groups"],
        "group_size_counts": rec["report"]["group_size_counts"],
        "frames_in_right_group": fraction_in_right_group(group, truth),
        "label_error_px": {
            "mean": float(err.mean()),
            "p99": float(np.quantile(err, 0.99)),
            "max": float(err.max()),
        },
    }
    scale = n_frames / 98_944  # targets are for the published size
    print(json.dumps(results, indent=1))
    for name, res, target_s in (
        ("augment", aug, TARGET_AUGMENT_S),
        ("recover", rec, TARGET_RECOVER_S),
    ):
        target_s *= scale
        print(
            f"{name:8s}: {res['seconds']:6.1f} s = {res['seconds'] / target_s:.2f} x target "
            f"({target_s:.0f} s); peak {res['peak_gb']:.2f} GB = "
            f"{res['peak_gb'] / TARGET_MEMORY_GB:.2f} x {TARGET_MEMORY_GB:.0f} GB"
        )
    print(
        f"accuracy: {results['frames_in_right_group']:.4%} of frames in the right group; "
        f"label error max {err.max():.3f} px (target <= 0.3)"
    )
    if args.json:
        Path(args.json).parent.mkdir(parents=True, exist_ok=True)
        Path(args.json).write_text(json.dumps(results, indent=1) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
