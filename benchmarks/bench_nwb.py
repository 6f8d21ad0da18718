"""What writing NWB costs beside predicting a movie, by movie length (issue #28: <= 10 %).

Each step runs as the workflow runs it, one `direction-tagger` process per rule: `predict`
(the default architecture, the workflow's TTA 2), `smooth`, then `to-nwb` (ndx-pose layout)
with the model's facts. Side by side in one run, on synthetic movies of each length; the
model's weights do not change the time, so it is trained for one step. Prints the median wall
seconds of `--repeat` runs of predict and of to-nwb, their ratio, and the NWB file's size.
What to-nwb costs is mostly fixed (starting Python, numpy and h5py; it imports neither torch,
pandas nor pynwb), so short clips feel it most. "in a step": what writing would add to a step
that already holds the table (importing h5py, writing), the alternative to a process of its
own.

    python benchmarks/bench_nwb.py --frames 1000 10000 30000
    # beside another checkout's to-nwb, e.g. before #28 made it light:
    python benchmarks/bench_nwb.py --before /path/to/old/checkout/.venv/bin/direction-tagger
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from machine_load import Busy

CLI = [str(Path(sys.executable).parent / "direction-tagger")]  # the installed command


def run(*argv, cli=CLI) -> float:
    """Wall seconds of one command, as its own process (as a rule runs it)."""
    start = time.perf_counter()
    subprocess.run([*cli, *map(str, argv)], check=True, capture_output=True)
    return time.perf_counter() - start


def median_run(repeat: int, *argv, cli=CLI) -> float:
    return statistics.median(run(*argv, cli=cli) for _ in range(repeat))


# What writing costs inside a step that already holds the table (the alternative to a
# process of its own): importing h5py and writing, timed in a fresh process.
IN_STEP = """
import datetime as dt, sys, time
from direction_tagger import cli
from direction_tagger.movies.nwb import read_predictions
table, video_px = read_predictions(sys.argv[1])
start = time.perf_counter()
from direction_tagger.movies.nwb import write_pose_nwb
write_pose_nwb(sys.argv[2], table, video_px=video_px, model_metadata={}, source=sys.argv[1],
               session_start=dt.datetime.now(dt.timezone.utc), frame_size=(50, 50))
print(time.perf_counter() - start)
"""


def in_step(repeat: int, table: Path, out: Path) -> float:
    """Median seconds of the marginal cost (h5py imported, the file written)."""
    times = []
    for _ in range(repeat):
        done = subprocess.run([sys.executable, "-c", IN_STEP, str(table), str(out)],
                              check=True, capture_output=True, text=True)  # fmt: skip
        times.append(float(done.stdout.split()[-1]))
    return statistics.median(times)


def measure(args, d: Path, n: int, movie: Path) -> str:
    """One table row (after frames and load): predict, to-nwb, in a step, size, [before]."""
    predict = median_run(args.repeat, "predict", "--model", d / "model.pt", "--movie",
                         movie, "--tta", args.tta, "--out", d / f"raw{n}.csv")  # fmt: skip
    run("smooth", "--predictions", d / f"raw{n}.csv", "--out", d / f"p{n}.csv")
    nwb = median_run(args.repeat, "to-nwb", "--predictions", d / f"p{n}.csv", "--model",
                     d / "model.pt", "--source", movie, "--age", "P90D", "--out",
                     d / f"p{n}.nwb")  # fmt: skip
    size = (d / f"p{n}.nwb").stat().st_size / 1e6
    marginal = in_step(args.repeat, d / f"p{n}.csv", d / f"step{n}.nwb")
    row = (f"| {predict:.2f} | {nwb:.2f} | {nwb / predict:.1%} | {marginal:.2f} | "
           f"{marginal / predict:.1%} | {size:.1f} |")  # fmt: skip
    if args.before:
        old = median_run(args.repeat, "to-nwb", "--predictions", d / f"p{n}.csv",
                         "--model", d / "model.pt", "--source", movie, "--age", "P90D",
                         "--out", d / f"old{n}.nwb", cli=[args.before])  # fmt: skip
        row += f" {old:.2f} | {old / predict:.1%} |"
    return row


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--frames", type=int, nargs="+", default=[1000, 10000, 30000])
    p.add_argument("--tta", type=int, default=2)
    p.add_argument("--repeat", type=int, default=3, help="runs of each step; the median counts")
    p.add_argument("--before", help="another direction-tagger command whose to-nwb to time too")
    p.add_argument("--busy", action="store_true", help="each length idle and with a core busy")
    args = p.parse_args(argv)
    with tempfile.TemporaryDirectory() as tmp:
        d = Path(tmp)
        run("synth", "labelled", "--n", 64, "--out", d / "l.npz")
        run("split", "--data", d / "l.npz", "--group-key", "frame", "--out", d / "s.json")
        options = json.dumps({"steps": 1, "batch_size": 8})
        run("train", "--data", d / "l.npz", "--split", d / "s.json", "--out", d / "model.pt",
            "--log", d / "log.csv", "--options", options)  # fmt: skip
        print(f"{platform.processor() or platform.machine()}, {os.cpu_count()} CPUs, load "
              f"{os.getloadavg()[0]:.1f}; TTA {args.tta}; median of {args.repeat}")  # fmt: skip
        before = " to-nwb before s | before / predict |" if args.before else ""
        print(f"| frames | machine | predict s | to-nwb s | to-nwb / predict | in a step s | in a step / "
              f"predict | NWB MB |{before}")  # fmt: skip
        print("|---|---|---|---|---|---|---|---|" + "---|---|" * bool(args.before))
        for n in args.frames:
            movie = d / f"m{n}.npz"
            run("synth", "movie", "--frames", n, "--seed", 1, "--out", movie)
            for load in ("idle", "one core busy") if args.busy else ("as found",):
                with Busy(load == "one core busy"):
                    row = measure(args, d, n, movie)
                print(f"| {n} | {load} " + row, flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
