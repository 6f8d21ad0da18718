"""Scale: one long movie and many short clips, streamed path side by side with the
whole-movie path (each step in its own process, peak memory = its maximum resident set).

    python benchmarks/bench_scale.py                      # 10-hour movie, 1,000 clips
    python benchmarks/bench_scale.py --frames 100000 --clips 200 --skip render

Reports, per step (predict, smooth + QC, render): wall time, frames/s and peak memory of
today's whole-movie path ("whole": load_movie + Predictor.predict + write_table; read_table
+ smooth_and_check; load_movie + read_table + render_video) and of the commands as they run
now ("streamed"); for the clips: seconds per clip as separate predict + smooth processes
(measured on `--sample` clips) against one `tag-movies` process for all of them; and the
time `snakemake -n` takes to plan the clips a job per movie and `--per-job` per job.
Frames are cheap to make: a few hundred synthetic frames repeated (speed and memory do not
depend on the pixels). The model is trained for 20 steps (its weights do not matter here).
"""

from __future__ import annotations

import argparse
import os
import re
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]
PY = sys.executable

WHOLE = {
    "predict": """
import sys
from direction_tagger.io import load_movie
from direction_tagger.movies.predict import load_predictor
from direction_tagger.movies.tables import movie_table, write_table
p, _ = load_predictor(sys.argv[1], 'cpu')
m = load_movie(sys.argv[2])
r = p.predict(m.images, tta=int(sys.argv[4]), batch_size=1024)
write_table(sys.argv[3], movie_table(r.locs, r.confidence, r.spread, m.fps))
""",
    "smooth": """
import sys
from direction_tagger.movies.postprocess import smooth_and_check
from direction_tagger.movies.tables import read_table, write_table
s = {"method": "savgol", "window": 7, "polyorder": 2, "min_confidence": 0.3, "max_gap": 5,
     "outlier_px": 6.0}
c = {"max_jump_px": None, "max_spread_px": 2.0, "min_confidence": 0.3, "flag_risk": 0.2}
write_table(sys.argv[2], smooth_and_check(read_table(sys.argv[1]), s, c).table)
""",
    "render": """
import sys
from direction_tagger.io import load_movie
from direction_tagger.movies.render import render_video
from direction_tagger.movies.tables import read_table, table_locs, table_confidence, table_flags
m, t = load_movie(sys.argv[1]), read_table(sys.argv[2])
render_video(sys.argv[3], m.images, table_locs(t), table_confidence(t), m.fps,
             flags=table_flags(t), progress=False)
""",
}


def measured(cmd: list[str]) -> tuple[float, float]:
    """(wall s, peak resident MB) of one process."""
    start = time.perf_counter()
    out = subprocess.run(
        ["/usr/bin/time", "-f", "PEAK %M", *cmd], capture_output=True, text=True, cwd=REPO
    )
    wall = time.perf_counter() - start
    if out.returncode:
        raise SystemExit(f"{cmd[:4]} failed:\n{out.stderr[-3000:]}")
    peak = int(re.findall(r"PEAK (\d+)", out.stderr)[-1]) / 1024
    return wall, peak


def make_inputs(d: Path, frames: int, clips: int, clip_frames: int) -> None:
    from direction_tagger.data import synth
    from direction_tagger.io import save_movie
    from direction_tagger.movie_store import write_movie
    from direction_tagger.train.config import TrainConfig
    from direction_tagger.train.loop import train

    images, locs = synth.make_labelled_set(600, seed=0)
    cfg = TrainConfig.from_dict({"steps": 20, "batch_size": 32})
    train(images[:500], locs[:500], images[500:], locs[500:], cfg, d / "model.pt", d / "log.csv")

    def chunks(n, size=20_000):
        for k in range(0, n, size):
            yield np.resize(images, (min(size, n - k), 50, 50))

    write_movie(d / "long.npz", chunks(frames), frames, 30.0)
    (d / "clips").mkdir()
    for k in range(clips):
        save_movie(d / "clips" / f"c{k:04d}.npz", images[k % 500 : k % 500 + clip_frames])


def bench_long(d: Path, frames: int, tta: int, skip: set[str]) -> None:
    cli = [str(Path(PY).with_name("direction-tagger"))]
    model, movie = str(d / "model.pt"), str(d / "long.npz")
    streamed = {
        "predict": [*cli, "predict", "--model", model, "--movie", movie, "--tta", str(tta)]
        + ["--device", "cpu", "--out", str(d / "raw_s.csv")],
        "smooth": [*cli, "smooth", "--predictions", str(d / "raw_s.csv"), "--quiet"]
        + ["--min-confidence", "0.3", "--out", str(d / "smooth_s.csv")],
        "render": [*cli, "render", "--movie", movie, "--predictions", str(d / "smooth_s.csv")]
        + ["--out", str(d / "s.mp4"), "--quiet"],
    }
    whole = {
        "predict": [PY, "-c", WHOLE["predict"], model, movie, str(d / "raw_w.csv"), str(tta)],
        "smooth": [PY, "-c", WHOLE["smooth"], str(d / "raw_w.csv"), str(d / "smooth_w.csv")],
        "render": [PY, "-c", WHOLE["render"], movie, str(d / "smooth_w.csv"), str(d / "w.mp4")],
    }
    movie_mb = frames * 2500 / 1e6
    print(
        f"\n## One movie of {frames:,} frames ({frames / 30 / 3600:.2f} h at 30 fps, "
        f"{movie_mb:,.0f} MB of frames), TTA {tta}"
    )
    print("| step | path | wall s | frames/s | peak MB |\n|---|---|---|---|---|")
    for step in ("predict", "smooth", "render"):
        if step in skip:
            continue
        for name, cmds in (("whole", whole), ("streamed", streamed)):
            if name in skip:
                continue
            wall, peak = measured(cmds[step])
            print(
                f"| {step} | {name} | {wall:.1f} | {frames / wall:,.0f} | {peak:,.0f} |", flush=True
            )
        if step in ("predict", "smooth") and "whole" not in skip:
            same = (d / f"{'raw' if step == 'predict' else 'smooth'}_w.csv").read_bytes() == (
                d / f"{'raw' if step == 'predict' else 'smooth'}_s.csv"
            ).read_bytes()
            print(f"| {step} | outputs identical | {same} | | |")


def bench_clips(d: Path, clips: int, sample: int, per_job: int, tta: int) -> None:
    cli = [str(Path(PY).with_name("direction-tagger"))]
    names = sorted((d / "clips").glob("*.npz"))
    model = ["--model", str(d / "model.pt"), "--tta", str(tta), "--device", "cpu"]
    start = time.perf_counter()
    for clip in names[:sample]:
        out = d / "one" / clip.stem
        subprocess.run(
            [*cli, "predict", *model, "--movie", str(clip), "--out", str(out / "raw.csv")],
            check=True,
            capture_output=True,
            cwd=REPO,
        )
        subprocess.run(
            [
                *cli,
                "smooth",
                "--predictions",
                str(out / "raw.csv"),
                "--out",
                str(out / "p.csv"),
                "--qc-json",
                str(out / "qc.json"),
            ],
            check=True,
            capture_output=True,
            cwd=REPO,
        )
    per_clip = (time.perf_counter() - start) / sample
    outdirs = [str(d / "batch" / c.stem) for c in names]
    wall, peak = measured(
        [*cli, "tag-movies", *model, "--movies", *map(str, names), "--outdirs", *outdirs, "--quiet"]
    )
    print(
        f"\n## {clips:,} clips of {np.load(names[0])['images'].shape[0]} frames: "
        "predict -> smooth + QC"
    )
    print("| path | s per clip | all clips, s | peak MB |\n|---|---|---|---|")
    print(
        f"| two processes per clip (measured on {sample}) | {per_clip:.2f} | "
        f"{per_clip * clips:,.0f} (extrapolated) | |"
    )
    print(f"| one tag-movies process | {wall / clips:.3f} | {wall:.1f} | {peak:,.0f} |")
    print(f"| ratio | {per_clip / (wall / clips):.0f}x | | |", flush=True)

    print(f"\n## Planning {clips:,} clips (`snakemake -n --quiet`)")
    print("| layout | jobs | wall s |\n|---|---|---|")
    work = d / "plan"
    work.mkdir(exist_ok=True)
    for label, extra in (
        ("a job per movie (4 per movie)", {}),
        (
            f"movies_per_job: {per_job}, videos and figures off",
            {"movies_per_job": per_job, "render": {"video": False, "figures": False}},
        ),
    ):
        import yaml

        cfg = work / "cfg.yaml"
        cfg.write_text(
            yaml.safe_dump({"movies": {"clip": str(d / "clips")}, "synthetic_movies": {}} | extra)
        )
        start = time.perf_counter()
        out = subprocess.run(
            [
                PY,
                "-m",
                "snakemake",
                "--snakefile",
                str(REPO / "Snakefile"),
                "--directory",
                str(work),
                "-n",
                "--cores",
                "2",
                "--configfile",
                str(REPO / "config/demo.yaml"),
                str(cfg),
            ],
            capture_output=True,
            text=True,
        )
        wall = time.perf_counter() - start
        jobs = re.findall(r"^total\s+(\d+)", out.stdout, re.M)
        print(f"| {label} | {jobs[0] if jobs else '?'} | {wall:.1f} |", flush=True)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--frames", type=int, default=1_080_000, help="long movie (10 h at 30 fps)")
    ap.add_argument("--clips", type=int, default=1000)
    ap.add_argument("--clip-frames", type=int, default=20)
    ap.add_argument("--sample", type=int, default=20, help="clips run one process each")
    ap.add_argument("--per-job", type=int, default=100)
    ap.add_argument("--tta", type=int, default=2)
    ap.add_argument(
        "--skip",
        nargs="*",
        default=[],
        help="any of predict smooth render whole streamed clips long",
    )
    args = ap.parse_args()
    skip = set(args.skip)
    with tempfile.TemporaryDirectory(dir=os.environ.get("BENCH_TMP")) as tmp:
        d = Path(tmp)
        make_inputs(d, args.frames, args.clips, args.clip_frames)
        print(f"{os.cpu_count()} CPUs; all numbers from this one run")
        if "long" not in skip:
            bench_long(d, args.frames, args.tta, skip)
        if "clips" not in skip:
            bench_clips(d, args.clips, args.sample, args.per_job, args.tta)


if __name__ == "__main__":
    main()
