"""Scale: long movies and many short clips, the commands as users run them side by side with
today's whole-movie path (each step in its own process, peak memory = its maximum resident set).

    python benchmarks/bench_scale.py          # 100,000 frames in full, 1,000,000 for memory
    python benchmarks/bench_scale.py --frames 100000 --clips 200 --skip render whole

Reports, in one run:
- the path that ran (CPU, threads, fp32/bf16 and why) and frames per forward pass on CPU;
- frames/s of Predictor.predict with one forward pass per batch of 1,024 (before passes were
  capped) and with the cap, interleaved rounds in one process, best of each, so load hits
  both alike;
- per step (predict, smooth + QC, render) on a `--frames` movie: wall time, frames/s and peak
  memory of the whole-movie path ("whole": load_movie + Predictor.predict with one pass per
  batch + write_table; read_table + smooth_and_check; load_movie + read_table +
  render_video) and of the commands as they run now ("streamed"), and whether the tables are
  byte-identical;
- the same streamed commands on a `--long-frames` movie (1,000,000 frames: 9.3 hours), where
  predict and render stop after `--limit-s` seconds (their memory is set up before the first
  frame and flat after it; the frames done so far are read from the progress bar) and smooth
  runs in full on a synthetic raw table;
- for the clips: seconds per clip as separate predict + smooth processes (measured on
  `--sample` clips) against one `tag-movies` process for all of them; and the time
  `snakemake -n` takes to plan the clips a job per movie and `--per-job` per job.
Frames are cheap to make: a few hundred synthetic frames repeated (speed and memory do not
depend on the pixels). The model is the default architecture trained for 20 steps (its
weights do not matter here).
"""

from __future__ import annotations

import argparse
import os
import re
import signal
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
p.forward_frames = None  # one forward pass per batch, as before passes were capped
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
             flags=table_flags(t), progress=True)
""",
}


def measured(cmd: list[str], limit_s: float | None = None) -> tuple[float, float, int | None]:
    """(wall s, peak resident MB of the process or of any of its children such as the video
    encoder, frames done when stopped at `limit_s` (read from its progress bar) or None).
    /usr/bin/time measures: a child forked from this process would start from its size."""
    with tempfile.TemporaryFile() as log:
        start = time.perf_counter()
        proc = subprocess.Popen(
            ["/usr/bin/time", "-f", "PEAK %M", *cmd],
            stdout=subprocess.DEVNULL,
            stderr=log,
            cwd=REPO,
            start_new_session=True,
        )
        try:
            proc.wait(timeout=limit_s)
            stopped = False
        except subprocess.TimeoutExpired:
            # Ctrl-C, which time ignores; a command started from a background shell ignores
            # it too, so SIGTERM after a grace period
            os.killpg(proc.pid, signal.SIGINT)
            try:
                proc.wait(timeout=10)
            except subprocess.TimeoutExpired:  # the command only: time must report
                with open(f"/proc/{proc.pid}/task/{proc.pid}/children") as f:
                    for child in f.read().split():
                        os.kill(int(child), signal.SIGTERM)
                proc.wait()
            stopped = True
        wall = time.perf_counter() - start
        log.seek(0)
        err = log.read().decode(errors="replace")
    if proc.returncode and not stopped:
        raise SystemExit(f"{cmd[:4]} failed:\n{err[-3000:]}")
    peak = int(re.findall(r"PEAK (\d+)", err)[-1]) / 1024
    done = None
    if stopped:
        done = max([int(n) for n in re.findall(r"(\d+)/\d+ \[", err)], default=0)
    return wall, peak, done


def make_inputs(d: Path, frames: int, long_frames: int, clips: int, clip_frames: int) -> None:
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
    if long_frames:
        write_movie(d / "longest.npz", chunks(long_frames), long_frames, 30.0)
        raw_table(d / "longest_raw.csv", long_frames)
    (d / "clips").mkdir()
    for k in range(clips):
        save_movie(d / "clips" / f"c{k:04d}.npz", images[k % 500 : k % 500 + clip_frames])


def raw_table(path: Path, frames: int, size: int = 50_000) -> None:
    """A raw predictions table with TTA spread (a rat wandering, noisy points, doubtful
    stretches), written a chunk at a time: what predict would write for `frames` frames."""
    from direction_tagger.movies.tables import movie_table, table_writer

    rng = np.random.default_rng(0)
    with table_writer(path) as write:
        for start in range(0, frames, size):
            n = min(size, frames - start)
            t = np.arange(start, start + n) / 30.0
            centre = 25 + 8 * np.stack([np.sin(t / 7), np.cos(t / 11)], axis=-1)
            body = np.array([[-6.0, 0.0], [0.0, 0.0], [5.0, 0.0]])
            locs = centre[:, None] + body + rng.normal(0, 0.4, (n, 3, 2))
            confidence = rng.uniform(0.2, 1.0, (n, 3))
            spread = rng.gamma(2.0, 0.3, (n, 3))
            write(movie_table(locs, confidence, spread, 30.0, first_frame=start))


def streamed_commands(d: Path, movie: str, raw: str, tta: int, tag: str) -> dict:
    """The commands users run, on `movie` (predict), `raw` (smooth) and their outputs."""
    cli = [str(Path(PY).with_name("direction-tagger"))]
    model = str(d / "model.pt")
    return {
        "predict": [*cli, "predict", "--model", model, "--movie", movie, "--tta", str(tta)]
        + ["--device", "cpu", "--out", str(d / f"raw_{tag}.csv")],
        "smooth": [*cli, "smooth", "--predictions", raw, "--quiet"]
        + ["--min-confidence", "0.3", "--out", str(d / f"smooth_{tag}.csv")],
        "render": [*cli, "render", "--movie", movie, "--predictions", str(d / f"smooth_{tag}.csv")]
        + ["--out", str(d / f"{tag}.mp4")],
    }


def bench_long(d: Path, frames: int, tta: int, skip: set[str], limit_s: float | None) -> None:
    model, movie = str(d / "model.pt"), str(d / "long.npz")
    streamed = streamed_commands(d, movie, str(d / "raw_s.csv"), tta, "s")
    whole = {
        "predict": [PY, "-c", WHOLE["predict"], model, movie, str(d / "raw_w.csv"), str(tta)],
        # both paths smooth and render the same (streamed) tables
        "smooth": [PY, "-c", WHOLE["smooth"], str(d / "raw_s.csv"), str(d / "smooth_w.csv")],
        "render": [PY, "-c", WHOLE["render"], movie, str(d / "smooth_s.csv"), str(d / "w.mp4")],
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
            if name in skip or f"{step}:{name}" in skip:
                continue
            # render stops at the limit (its memory is set up before the first frame)
            wall, peak, done = measured(cmds[step], limit_s if step == "render" else None)
            stopped = done is not None
            print(row(step, name, wall, peak, done if stopped else frames, stopped), flush=True)
        if step in ("predict", "smooth") and not {"whole", f"{step}:whole"} & skip:
            same = (d / f"{'raw' if step == 'predict' else 'smooth'}_w.csv").read_bytes() == (
                d / f"{'raw' if step == 'predict' else 'smooth'}_s.csv"
            ).read_bytes()
            print(f"| {step} | outputs identical | {same} | | |")


def row(step: str, name: str, wall: float, peak: float, done: int, stopped: bool = False) -> str:
    label = f"{name} (stopped after {wall:.0f} s)" if stopped else name
    return f"| {step} | {label} | {wall:.1f} | {done / wall:,.0f} | {peak:,.0f} |"


def bench_longest(d: Path, frames: int, tta: int, skip: set[str], limit_s: float) -> None:
    """The streamed commands on the longest movie: predict and render for `limit_s` seconds
    each, smooth (on a synthetic raw table) in full."""
    cmds = streamed_commands(d, str(d / "longest.npz"), str(d / "longest_raw.csv"), tta, "l")
    print(
        f"\n## One movie of {frames:,} frames ({frames / 30 / 3600:.1f} h at 30 fps, "
        f"{frames * 2500 / 1e9:.1f} GB of frames), streamed commands, TTA {tta}"
    )
    print("| step | path | wall s | frames/s | peak MB |\n|---|---|---|---|---|")
    for step in ("predict", "smooth", "render"):
        if step in skip:
            continue
        wall, peak, done = measured(cmds[step], None if step == "smooth" else limit_s)
        stopped = done is not None
        print(row(step, "streamed", wall, peak, frames if not stopped else done, stopped))


PASSES = """
import sys, time
import numpy as np
from direction_tagger.movies.predict import load_predictor
p, _ = load_predictor(sys.argv[1], 'cpu')
frames = np.resize(np.load(sys.argv[2])['images'], (int(sys.argv[3]), 50, 50))
for warm, cap in enumerate(['none', *sys.argv[5:]] * 2):  # the first round builds kernels
    p.forward_frames = None if cap == 'none' else int(cap)
    start = time.perf_counter()
    p.predict(frames, tta=int(sys.argv[4]), batch_size=1024)
    if warm >= len(sys.argv[5:]) + 1:
        print(cap, time.perf_counter() - start)
"""

# OpenMP as before (libgomp's own default when no policy is set) and as the package sets it
WAIT = {"spinning (before)": {"GOMP_SPINCOUNT": "300000"}, "sleeping (now)": {}}


def bench_passes(d: Path, frames: int, rounds: int, tta: int, caps: list[int]) -> None:
    """frames/s of Predictor.predict, batch 1,024, passes of 1,024 frames and capped, with
    waiting OpenMP threads spinning (before) and sleeping (now): a process per policy,
    alternated `rounds` times, best of each."""
    clip = sorted((d / "clips").glob("*.npz"))[0]
    print(
        f"\n## Forward passes: Predictor.predict on {frames:,} frames, batch 1,024, TTA {tta} "
        f"(processes alternated, best of {rounds})"
    )
    best: dict = {}
    env = {k: v for k, v in os.environ.items() if k not in ("OMP_WAIT_POLICY", "GOMP_SPINCOUNT")}
    for _ in range(rounds):
        for wait, extra in WAIT.items():
            out = subprocess.run(
                [PY, "-c", PASSES, str(d / "model.pt"), str(clip), str(frames), str(tta)]
                + [str(c) for c in caps],
                capture_output=True,
                text=True,
                cwd=REPO,
                env=env | extra,
            )
            if out.returncode:
                raise SystemExit(out.stderr[-3000:])
            for line in out.stdout.split("\n"):
                if line.strip():
                    cap, seconds = line.split()
                    key = (wait, 1024 if cap == "none" else int(cap))
                    best[key] = min(best.get(key, float("inf")), float(seconds))
    sizes = sorted({k[1] for k in best}, reverse=True)
    print("| OpenMP threads waiting | " + " | ".join(f"{n} frames a pass" for n in sizes) + " |")
    print("|---" * (len(sizes) + 1) + "|")
    for wait in WAIT:
        cells = " | ".join(f"{frames / best[wait, n]:,.0f} frames/s" for n in sizes)
        print(f"| {wait} | {cells} |", flush=True)


def bench_clips(d: Path, clips: int, sample: int, per_job: int, tta: int, plan: bool) -> None:
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
    wall, peak, _ = measured(
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
    if plan:
        bench_plan(d, clips, per_job)


def snakemake_cmd(work: Path, cfg: Path, *args: str) -> list[str]:
    """`snakemake` in `work` on the demo config overridden by `cfg`, on 2 cores; targets
    first (--configfile would swallow them)."""
    cmd = [PY, "-m", "snakemake", *args, "--snakefile", str(REPO / "Snakefile")]
    cmd += ["--directory", str(work), "--cores", "2"]
    return cmd + ["--configfile", str(REPO / "config/demo.yaml"), str(cfg)]


def bench_plan(d: Path, clips: int, per_job: int) -> None:

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
        out = subprocess.run(snakemake_cmd(work, cfg, "-n"), capture_output=True, text=True)
        wall = time.perf_counter() - start
        jobs = re.findall(r"^total\s+(\d+)", out.stdout, re.M)
        print(f"| {label} | {jobs[0] if jobs else '?'} | {wall:.1f} |", flush=True)


def bench_workflow_clips(d: Path, clips: int, per_job: int) -> None:
    """The clips through the workflow as users run it (`movies_per_job`, videos and figures
    off): the model is made first (a 20-step run on a small synthetic set, untimed), then
    `snakemake` makes everything else, timed: every clip's predictions, smoothing and QC,
    plus the run's own evaluation and report."""
    import yaml

    work = d / "e2e"
    work.mkdir(exist_ok=True)
    cfg = work / "cfg.yaml"
    cfg.write_text(
        yaml.safe_dump(
            {
                "data": {"synthetic": {"train_frames": 600, "test_frames": 100, "seed": 1}},
                "train": {"steps": 20, "eval_every": 10},
                "synthetic_movies": {},
                "movies": {"clip": str(d / "clips")},
                "movies_per_job": per_job,
                "render": {"video": False, "figures": False},
            }
        )
    )

    def snakemake(*targets: str) -> float:
        start = time.perf_counter()
        out = subprocess.run(
            snakemake_cmd(work, cfg, *targets, "--quiet"), capture_output=True, text=True
        )
        if out.returncode:
            raise SystemExit(f"snakemake failed:\n{out.stderr[-3000:]}")
        return time.perf_counter() - start

    snakemake("results/demo/model.pt")
    wall = snakemake("all")
    done = len(list((work / "results/demo/movies").glob("*/qc.json")))
    print(
        f"\n## {clips:,} clips through `snakemake` (movies_per_job: {per_job}, videos and "
        f"figures off, model made beforehand)\n{done:,} movies (the clips and the demo's "
        f"900-frame movie) with predictions, smoothing and QC in {wall:.0f} s "
        f"({wall / max(done, 1):.2f} s a movie), evaluation and report included",
        flush=True,
    )


def print_path(d: Path) -> None:
    from direction_tagger.device import compute_path
    from direction_tagger.movies.predict import load_predictor

    p, _ = load_predictor(d / "model.pt", "cpu")
    print(
        f"{os.cpu_count()} CPUs, load average {os.getloadavg()[0]:.1f}; "
        f"{compute_path(p.device, p.bf16)}; "
        f"at most {p.forward_frames or 'batch'} frames per forward pass; "
        f"OMP_WAIT_POLICY={os.environ.get('OMP_WAIT_POLICY')}; "
        "all numbers from this one run"
    )


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--frames", type=int, default=100_000, help="movie run in full")
    ap.add_argument("--long-frames", type=int, default=1_000_000, help="movie for memory (0: none)")
    ap.add_argument(
        "--limit-s",
        type=float,
        default=120,
        help="predict and render on the long movie, and render on --frames, stop after this",
    )
    ap.add_argument("--clips", type=int, default=1000)
    ap.add_argument("--clip-frames", type=int, default=20)
    ap.add_argument("--sample", type=int, default=20, help="clips run one process each")
    ap.add_argument("--per-job", type=int, default=100)
    ap.add_argument("--tta", type=int, default=2)
    ap.add_argument("--pass-frames", type=int, default=8192, help="frames for the pass benchmark")
    ap.add_argument("--rounds", type=int, default=4, help="rounds of the pass benchmark")
    ap.add_argument(
        "--skip",
        nargs="*",
        default=[],
        help="any of passes predict smooth render whole streamed long longest clips plan "
        "workflow, "
        "or step:path (predict:whole)",
    )
    args = ap.parse_args()
    skip = set(args.skip)
    with tempfile.TemporaryDirectory(dir=os.environ.get("BENCH_TMP")) as tmp:
        d = Path(tmp)
        long_frames = 0 if "longest" in skip else args.long_frames
        make_inputs(d, args.frames, long_frames, args.clips, args.clip_frames)
        print_path(d)
        if "passes" not in skip:
            bench_passes(d, args.pass_frames, args.rounds, args.tta, [256, 128])
        if "long" not in skip:
            bench_long(d, args.frames, args.tta, skip, args.limit_s)
        if long_frames:
            bench_longest(d, long_frames, args.tta, skip, args.limit_s)
        if "clips" not in skip:
            bench_clips(d, args.clips, args.sample, args.per_job, args.tta, "plan" not in skip)
        if "workflow" not in skip:
            bench_workflow_clips(d, args.clips, args.per_job)
        print(f"\nload average at the end {os.getloadavg()[0]:.1f}")


if __name__ == "__main__":
    main()
