"""Cost of each architecture, side by side in one run: FLOPs and parameters per frame, and
inference frames/s at batch 1,024 as deployed (batch norm folded, channels-last, no autograd)
in fp32 and, where oneDNN has native bf16 kernels, in bf16 autocast; the published CNN run as
published (NCHW, fp32) for reference.

    python benchmarks/bench_architectures.py [--threads 2] [--repeats 3]

Not a test: frames/s depend on the machine and on what else runs on it; the ratios to the
published CNN, measured in the same run, are the figures to compare. A second measure, frames
per CPU-second on one thread (the thread's own CPU time), hardly moves when other work
shares the cores: read it on a busy machine. Accuracy per
architecture: `bench_seed_vs_ours.py --architecture NAME`.
"""

from __future__ import annotations

import argparse
import os
import time

import numpy as np
import torch
from torch.utils.flop_counter import FlopCounterMode

from direction_tagger.device import _onednn_has_bf16, compute_path
from direction_tagger.movies.predict import Predictor
from direction_tagger.train.models import ARCHITECTURES, SeedCNN, build_model


def mflops_per_frame(model: torch.nn.Module) -> float:
    with FlopCounterMode(display=False) as counter, torch.no_grad():
        model.eval()(torch.zeros(1, 1, 50, 50))
    return counter.get_total_flops() / 1e6


def frames_per_s(runs: dict, frames: np.ndarray, repeats: int, clock=time.perf_counter) -> dict:
    """Frames per second of `clock` (wall time, or a thread's CPU time) of each run, the best
    of `repeats` rounds; every round runs each of them in turn, so a change of load on the
    machine hits all alike."""
    for fn in runs.values():
        fn(frames[:256])  # warm-up: oneDNN builds its kernels
    best = dict.fromkeys(runs, float("inf"))
    for _ in range(repeats):
        for key, fn in runs.items():
            start = clock()
            fn(frames)
            best[key] = min(best[key], clock() - start)
    return {key: len(frames) / seconds for key, seconds in best.items()}


def published_predict(model: SeedCNN):
    @torch.inference_mode()
    def run(frames):
        x = torch.from_numpy(frames).float().unsqueeze(1) / 255.0
        return model.head(model.features(x))

    return run


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--batch", type=int, default=1024)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    cpu = torch.device("cpu")
    precisions = [False, True] if _onednn_has_bf16() else [False]
    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")
    print(f"{compute_path(cpu, False)}; load average {load:.2f}")
    frames = np.random.default_rng(0).integers(0, 256, (args.batch, 50, 50), dtype=np.uint8)

    torch.manual_seed(0)
    rows, runs = [], {"published": published_predict(SeedCNN().eval())}
    for name in sorted(ARCHITECTURES):
        model = build_model(name)
        row = {"name": name, "mflop": mflops_per_frame(model)}
        row["params"] = sum(p.numel() for p in model.parameters())
        rows.append(row)
        for bf16 in precisions:
            predictor = Predictor(model, cpu, bf16=bf16)
            key = (name, "bf16" if bf16 else "fp32")
            runs[key] = lambda x, p=predictor: p.predict(x, batch_size=args.batch)
    fps = frames_per_s(runs, frames, args.repeats)
    torch.set_num_threads(1)
    cpu_fps = frames_per_s(runs, frames, args.repeats, clock=time.thread_time)
    published, cpu_published = fps["published"], cpu_fps["published"]

    print(
        f"published CNN as published (NCHW, fp32, batch {args.batch}): {published:.0f} frames/s "
        f"on {args.threads} threads, {cpu_published:.0f} frames per CPU-second on 1"
    )
    for row in rows:
        line = f"{row['name']:>18}: {row['mflop']:6.1f} MFLOP/frame, {row['params']:>9,} params"
        for key in ("fp32", "bf16"):
            if (row["name"], key) in fps:
                f, c = fps[row["name"], key], cpu_fps[row["name"], key]
                line += (
                    f", {key} {f:6.0f} frames/s ({f / published:4.1f}x published), "
                    f"{c:5.0f} per CPU-s ({c / cpu_published:4.1f}x)"
                )
        print(line)


if __name__ == "__main__":
    main()
