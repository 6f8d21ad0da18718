"""What writing NWB costs beside predicting a movie, by movie length (issue #28: <= 10 %).

Each step runs as the workflow runs it, one `direction-tagger` process per rule: `predict`
(the default architecture, the workflow's TTA 2), `smooth`, then `to-nwb` (ndx-pose) with the
model's facts. Side by side in one run, on synthetic movies of each length; the model's
weights do not change the time, so it is trained for one step. Prints wall seconds of predict
and to-nwb and their ratio. The NWB step has a fixed cost (starting Python, importing pynwb,
ndx-pose and torch to read the model's metadata) that short clips feel most.

    python benchmarks/bench_nwb.py --frames 1000 10000 30000
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
import tempfile
import time
from pathlib import Path

CLI = [str(Path(sys.executable).parent / "direction-tagger")]  # the installed command


def run(*argv) -> float:
    """Wall seconds of one command, as its own process (as a rule runs it)."""
    start = time.perf_counter()
    subprocess.run([*CLI, *map(str, argv)], check=True, capture_output=True)
    return time.perf_counter() - start


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--frames", type=int, nargs="+", default=[1000, 10000, 30000])
    p.add_argument("--tta", type=int, default=2)
    args = p.parse_args(argv)
    with tempfile.TemporaryDirectory() as tmp:
        d = Path(tmp)
        run("synth", "labelled", "--n", 64, "--out", d / "l.npz")
        run("split", "--data", d / "l.npz", "--group-key", "frame", "--out", d / "s.json")
        options = json.dumps({"steps": 1, "batch_size": 8})
        run("train", "--data", d / "l.npz", "--split", d / "s.json", "--out", d / "model.pt",
            "--log", d / "log.csv", "--options", options)  # fmt: skip
        print(f"{platform.processor() or platform.machine()}, {os.cpu_count()} CPUs, load "
              f"{os.getloadavg()[0]:.1f}; TTA {args.tta}")  # fmt: skip
        print("| frames | predict s | to-nwb s | to-nwb / predict |")
        print("|---|---|---|---|")
        for n in args.frames:
            movie = d / f"m{n}.npz"
            run("synth", "movie", "--frames", n, "--seed", 1, "--out", movie)
            predict = run("predict", "--model", d / "model.pt", "--movie", movie,
                          "--tta", args.tta, "--out", d / f"raw{n}.csv")  # fmt: skip
            run("smooth", "--predictions", d / f"raw{n}.csv", "--out", d / f"p{n}.csv")
            nwb = run("to-nwb", "--predictions", d / f"p{n}.csv", "--model", d / "model.pt",
                      "--source", movie, "--age", "P90D", "--out", d / f"p{n}.nwb")  # fmt: skip
            print(f"| {n} | {predict:.1f} | {nwb:.1f} | {nwb / predict:.1%} |", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
