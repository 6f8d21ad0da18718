"""Real animals, the path users get: the workflow as configured, on a labelled file as given.

Runs `snakemake` in a temporary folder with `data: {source: file}` on a labelled `.npz` with a
per-frame recording key (e.g. the shared real-mouse set, which is NOT part of this repository),
split by recording (`split.group_key`), the default training options (fp32 unless told
otherwise), and reads the held-out evaluation the workflow wrote. No tiling, no private path.

With `--busy`, the same run is repeated while other processes keep every core busy, and both
are printed side by side: training is counted in steps, so the figures must not move.

Training starts as the config's default says (`train.init: pretrained`): the temporary folder
first makes the pretrained start model. To reuse one already made, give its path:
`--options '{"init": "results/pretrained/fast_heatmap_unet/model.pt"}'` (absolute, or relative
to where you run this); `{"init": "scratch"}` trains from random weights.

    python benchmarks/bench_real_mice.py --data ../shared/data/real_mice_xmwell_50pix.npz --busy
"""

from __future__ import annotations

import argparse
import json
import multiprocessing
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import yaml

from direction_tagger.device import cpu_name

REPO = Path(__file__).resolve().parents[1]


def config(data: Path, args) -> dict:
    """`data` is a labelled .npz, or with `args.dlc` a DeepLabCut project (imported by the
    workflow's import_dlc step: each frame cropped around the animal found in it)."""
    source = (
        {"source": "dlc", "dlc": {"project": str(data)}}
        if getattr(args, "dlc", False)
        else {"source": "file", "file": str(data)}
    )
    return {
        "run": "real",
        "data": source,
        "split": {
            "group_key": None if getattr(args, "dlc", False) else args.group_key,
            "train": 0.74,
            "val": 0.09,
            "test": 0.17,
            "seed": args.split_seed,
        },
        "train": {"amp": args.precision == "auto", "seed": args.seed} | options(args),
        "evaluate": {"tta": True},
    }


def options(args) -> dict:
    """--options, with a start model's relative path made absolute (the run is elsewhere)."""
    extra = json.loads(args.options)
    init = extra.get("init")
    if init not in (None, "pretrained", "scratch"):
        extra["init"] = str(Path(init).resolve())
    return extra


def _spin():  # keeps one core busy until killed
    while True:
        pass


def run_workflow(data: Path, args, busy: bool) -> dict:
    spinners = (
        [multiprocessing.Process(target=_spin, daemon=True) for _ in range(os.cpu_count() or 2)]
        if busy
        else []
    )
    for p in spinners:
        p.start()
    try:
        with tempfile.TemporaryDirectory() as tmp:
            work = Path(tmp)
            (work / "config.yaml").write_text(yaml.safe_dump(config(data, args)))
            # targets first: --configfile and --quiet would swallow them
            cmd = [
                sys.executable,
                "-m",
                "snakemake",
                "all",
                "--snakefile",
                str(REPO / "Snakefile"),
                "--directory",
                str(work),
                "--cores",
                str(args.cores),
                "--configfile",
                str(work / "config.yaml"),
            ]
            start = time.monotonic()
            done = subprocess.run(cmd, cwd=work, capture_output=True, text=True)
            wall = time.monotonic() - start
            if done.returncode != 0:
                logs = "\n".join(p.read_text()[-2000:] for p in work.glob("logs/**/*.log"))
                raise SystemExit(f"snakemake failed:\n{done.stderr[-3000:]}\n{logs}")
            metrics = json.loads((work / "results/real/eval/heldout/metrics.json").read_text())
            summary = json.loads((work / "results/real/summary.json").read_text())
            split = json.loads((work / "results/real/split.json").read_text())
    finally:
        for p in spinners:
            p.kill()
    return {"metrics": metrics, "summary": summary, "parts": split["parts"], "wall_s": wall}


def line(label: str, r: dict) -> str:
    k, m, s = r["metrics"]["keypoints"], r["metrics"], r["summary"]
    swaps = round(m["body_direction"]["share_over_90deg"] * m["n_frames"])
    return (
        f"{label:5s} | {s['budget']['steps']} steps of {s['budget']['batch_size']}, "
        f"{s['training_seconds'] / 60:.1f} min training ({s['precision']}), "
        f"{r['wall_s'] / 60:.1f} min in all | median nose {k['head']['median']:.2f} px, neck "
        f"{k['neck']['median']:.2f} px, tail base {k['base']['median']:.2f} px | head/tail "
        f"swapped on {swaps} of {m['n_frames']} test frames"
    )


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", required=True, type=Path)
    parser.add_argument("--group-key", default="video", help="per-frame recording key")
    parser.add_argument(
        "--precision",
        choices=["fp32", "auto"],
        default="fp32",
        help="fp32 (default: what every CPU gets) or auto (bf16 where native)",
    )
    parser.add_argument("--cores", type=int, default=2)
    parser.add_argument("--seed", type=int, default=0, help="training seed")
    parser.add_argument("--split-seed", type=int, default=0)
    parser.add_argument("--options", default="{}", help="extra train options as JSON")
    parser.add_argument(
        "--busy", action="store_true", help="run again with every core kept busy by other processes"
    )
    args = parser.parse_args()
    print(
        f"CPU: {cpu_name()}, {os.cpu_count()} cores, "
        f"snakemake --cores {args.cores}, precision {args.precision}",
        flush=True,
    )
    idle = run_workflow(args.data.resolve(), args, busy=False)
    parts = idle["parts"]
    print(
        "split by recording: "
        + ", ".join(
            f"{name} {p['n_frames']} frames ({p.get('n_groups', '?')} recordings)"
            for name, p in parts.items()
        )
    )
    print(line("idle", idle), flush=True)
    if args.busy:
        busy = run_workflow(args.data.resolve(), args, busy=True)
        print(line("busy", busy))
        a, b = idle["metrics"]["keypoints"], busy["metrics"]["keypoints"]
        ratios = {k: b[k]["median"] / a[k]["median"] for k in ("head", "neck", "base")}
        print(
            "busy / idle median error: "
            + ", ".join(f"{k} {v:.3f}" for k, v in ratios.items())
            + f"; training time x{busy['summary']['training_seconds'] / idle['summary']['training_seconds']:.2f}"
        )


if __name__ == "__main__":
    main()
