"""The learning curve from both starts, side by side: random weights (`train.init: scratch`)
and the pretrained start model (`pretrained`, or a model.pt given with --pretrained), on a
labelled file as a user gives it, through `snakemake learning_curve` itself.

Two runs of one sweep (`runs:`), so both starts see the same split by recording, the same
labelled subsets (nested per seed) and the same training seeds, and are tested on the same
held-out recordings. Prints, per count, the median error of nose, neck and tail base and the
head/tail swaps (mean ± sd over seeds), the training steps, where the best validation was and
the training time; then each target of issue #29, met or not.

    python benchmarks/bench_pretrained_start.py --data ../shared/data/real_mice_xmwell_50pix.npz \\
        --workdir /tmp/lc --cores 1

Without --pretrained the workflow first makes results/pretrained/<architecture>/model.pt in
the work folder (the `pretrain` section of the config: --pretrain-steps). A --workdir that
already holds results is reused (Snakemake re-runs only what is missing or stale).
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from pathlib import Path

import pandas as pd
import torch
import yaml

from direction_tagger.device import cpu_name

REPO = Path(__file__).resolve().parents[1]
RUNS = {"scratch": "scratch", "pretrained": "finetuned"}  # start -> run name
KEYPOINTS = {"head": "nose", "neck": "neck", "base": "tail base"}


def config(args) -> dict:
    start = str(args.pretrained.resolve()) if args.pretrained else "pretrained"
    return {
        "run": "real",
        "data": {"source": "file", "file": str(args.data.resolve())},
        "split": {
            "group_key": args.group_key,
            "train": 0.74,
            "val": 0.09,
            "test": 0.17,
            "seed": args.split_seed,
        },
        "runs": {
            RUNS["scratch"]: {"train": {"init": "scratch"}},
            RUNS["pretrained"]: {"train": {"init": start}},
        },
        "pretrain": {"steps": args.pretrain_steps},
        "learning_curve": {"counts": args.counts, "seeds": args.seeds},
    }


def run_curves(args) -> float:
    work = args.workdir
    work.mkdir(parents=True, exist_ok=True)
    (work / "config.yaml").write_text(yaml.safe_dump(config(args)))
    cmd = [
        sys.executable,
        "-m",
        "snakemake",
        "learning_curve",
        "--snakefile",
        str(REPO / "Snakefile"),
        "--directory",
        str(work),
        "--cores",
        str(args.cores),
        *(["--rerun-triggers", *args.rerun_triggers] if args.rerun_triggers else []),
        *(
            [
                "--set-threads",
                *(
                    f"{rule}={args.threads_per_job}"
                    for rule in ("learning_curve_train", "learning_curve_evaluate", "pretrain")
                ),
            ]
            if args.threads_per_job
            else []
        ),
        "--configfile",
        str(work / "config.yaml"),
    ]
    start = time.monotonic()
    done = subprocess.run(cmd, cwd=work, capture_output=True, text=True)
    if done.returncode != 0:
        raise SystemExit(f"snakemake failed:\n{done.stderr[-4000:]}")
    return time.monotonic() - start


def point_facts(folder: Path) -> dict:
    """Steps, best step, start and training time of one point's model."""
    meta = torch.load(folder / "model.pt", map_location="cpu", weights_only=True)["metadata"]
    log = pd.read_csv(folder / "training_log.csv")
    return {
        "budget_steps": meta["budget"]["steps"],
        "steps_done": meta["steps_done"],
        "best_step": meta["best_step"],
        "train_s": float(log.seconds.max()),
        "init": meta.get("init", {}).get("kind", "scratch"),
        "start_sha256": meta.get("init", {}).get("sha256"),
    }


def table(args) -> pd.DataFrame:
    rows = []
    for start, run in RUNS.items():
        curve = pd.read_csv(args.workdir / f"results/{run}/learning_curve/learning_curve.csv")
        for _, r in curve.iterrows():
            folder = (
                args.workdir / f"results/{run}/learning_curve/n{int(r['count'])}_s{int(r['seed'])}"
            )
            rows.append({"start": start, **r.to_dict(), **point_facts(folder)})
    out = pd.DataFrame(rows).astype({"count": int, "seed": int})
    out["swaps"] = (out.swapped_share * out.n_test_frames).round().astype(int)
    return out


def mean_sd(values: pd.Series, digits: int = 2) -> str:
    if len(values) < 2:
        return f"{values.mean():.{digits}f}"
    return f"{values.mean():.{digits}f} ± {values.std(ddof=1):.{digits}f}"


def zero_shot(args) -> dict | None:
    """The start model alone (no label of this rig), on the same held-out test part."""
    start = args.pretrained or args.workdir / "results/pretrained/fast_heatmap_unet/model.pt"
    if not Path(start).is_file():
        return None
    out = args.workdir / "zero_shot"
    out.mkdir(exist_ok=True)
    cmd = [
        *(str(Path(sys.executable).parent / "direction-tagger"), "evaluate"),
        *("--model", str(start), "--data", str(args.data)),
        *("--split", str(args.workdir / f"results/{RUNS['scratch']}/split.json")),
        *("--subset", "test", "--name", "heldout", "--tta", "8", "--threads", "1"),
        *("--metrics", str(out / "metrics.json"), "--frames", str(out / "frames.csv")),
    ]
    subprocess.run(cmd, check=True, capture_output=True)
    return json.loads((out / "metrics.json").read_text())


def print_table(t: pd.DataFrame) -> None:
    seeds = t.groupby(["start", "count"]).size().max()
    print(
        f"\nMedian error (px) on the same {int(t.n_test_frames.iloc[0])} held-out frames of "
        f"recordings no model saw, mean ± sd over {seeds} seeds (each another nested subset "
        "and training seed); swaps = test frames with head and tail swapped, summed over "
        "seeds.\n"
    )
    print(
        "| labelled frames | start | nose | neck | tail base | swaps | steps | best at step "
        "| wall s (load varied) |"
    )
    print("|---|---|---|---|---|---|---|---|---|")
    for count in sorted(t["count"].unique()):
        for start in RUNS:
            g = t[(t["count"] == count) & (t.start == start)]
            print(
                f"| {count} | {start} | {mean_sd(g.head_median_px)} | {mean_sd(g.neck_median_px)}"
                f" | {mean_sd(g.base_median_px)} | {int(g.swaps.sum())} | "
                f"{mean_sd(g.steps_done, 0)} of {mean_sd(g.budget_steps, 0)} | "
                f"{mean_sd(g.best_step, 0)} | {mean_sd(g.train_s, 0)} |"
            )


def targets(t: pd.DataFrame) -> None:
    """Issue #29's targets, each with its numbers: met or not."""

    def at(start, count):
        return t[(t.start == start) & (t["count"] == count)]

    print("\nTargets (pretrained start, mean over seeds; each seed's own value in brackets):")
    for count, limit in ((40, 0.75), (20, 1.0)):
        g = at("pretrained", count)
        if g.empty:
            continue
        for column, name in (("head_median_px", "nose"), ("base_median_px", "tail base")):
            values = ", ".join(f"{v:.2f}" for v in g[column])
            verdict = "met" if g[column].mean() <= limit else "NOT met"
            print(
                f"  {count} frames, {name} <= {limit} px: {g[column].mean():.2f} [{values}]: {verdict}"
            )
        if count == 40:
            swaps = int(g.swaps.sum())
            print(f"  40 frames, 0 swaps: {swaps}: {'met' if swaps == 0 else 'NOT met'}")
    for count in sorted(c for c in t["count"].unique() if c >= 80):
        p, s = at("pretrained", count), at("scratch", count)
        for column, name in (
            ("head_median_px", "nose"),
            ("neck_median_px", "neck"),
            ("base_median_px", "tail base"),
        ):
            spread = max(s[column].std(ddof=1), p[column].std(ddof=1))
            worse = p[column].mean() - s[column].mean()
            verdict = "met" if worse <= spread else "NOT met"
            print(
                f"  {count} frames, {name} no worse than scratch within the seed spread: "
                f"{p[column].mean():.2f} vs {s[column].mean():.2f} (sd {spread:.2f}): {verdict}"
            )
    scratch_steps = t[t.start == "scratch"].budget_steps.median()
    p = t[t.start == "pretrained"]
    share = p.best_step / scratch_steps
    print(
        f"  fine-tuning to its best validation in <= 50 % of today's {scratch_steps:.0f} steps: "
        f"best at {p.best_step.min():.0f}-{p.best_step.max():.0f} steps "
        f"({share.min():.0%}-{share.max():.0%}); budget {p.budget_steps.min():.0f}-"
        f"{p.budget_steps.max():.0f}: {'met' if share.max() <= 0.5 else 'NOT met'}"
    )


def figure(t: pd.DataFrame, path: Path) -> None:
    """Median error against labelled frames, both starts, mean ± sd over seeds."""
    from direction_tagger.figures import pyplot, save_figure
    from direction_tagger.learning_curve import COLOURS

    fig, axes = pyplot().subplots(1, 3, figsize=(10, 3.4), sharey=True, layout="constrained")
    for ax, (key, name) in zip(axes, KEYPOINTS.items(), strict=True):
        for start, style in (("scratch", "--"), ("pretrained", "-")):
            g = t[t.start == start].groupby("count")[f"{key}_median_px"]
            ax.errorbar(
                g.mean().index,
                g.mean(),
                yerr=g.std(ddof=1).fillna(0),
                linestyle=style,
                marker="o",
                capsize=4,
                color=COLOURS[key],
                alpha=1.0 if start == "pretrained" else 0.6,
                label=f"from {start}",
            )
        ax.set(xscale="log", title=name, xlabel="labelled frames")
        ax.set_xticks(sorted(t["count"].unique()), [str(c) for c in sorted(t["count"].unique())])
        ax.minorticks_off()
        ax.grid(alpha=0.3)
        ax.legend(fontsize=8)
    axes[0].set_ylabel("median error on held-out recordings (px)")
    save_figure(fig, path, dpi=110, bbox_inches="tight")


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", required=True, type=Path)
    parser.add_argument("--workdir", required=True, type=Path, help="kept, and reused")
    parser.add_argument("--group-key", default="video", help="per-frame recording key")
    parser.add_argument("--split-seed", type=int, default=0)
    parser.add_argument("--counts", type=int, nargs="+", default=[20, 40, 80])
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    parser.add_argument(
        "--pretrained", type=Path, help="a model.pt to start from (default: the workflow's own)"
    )
    parser.add_argument("--pretrain-steps", type=int, default=20000)
    parser.add_argument("--cores", type=int, default=2)
    parser.add_argument(
        "--threads-per-job",
        type=int,
        help="torch threads of each training (default: all --cores, one job at a time); on a "
        "machine shared with others, 1 thread per job is several times faster than 2",
    )
    parser.add_argument(
        "--rerun-triggers",
        nargs="+",
        help="passed to snakemake (e.g. mtime: keep points trained by an earlier version)",
    )
    parser.add_argument("--no-run", action="store_true", help="only read the results there")
    parser.add_argument("--figure", type=Path, help="also draw both curves into this PNG")
    args = parser.parse_args()
    print(
        f"CPU: {cpu_name()}, {os.cpu_count()} cores, snakemake --cores {args.cores}; "
        f"start model: {args.pretrained or 'the workflow pretrains one'}",
        flush=True,
    )
    if not args.no_run:
        wall = run_curves(args)
        print(f"snakemake learning_curve: {wall / 60:.1f} min", flush=True)
    t = table(args)
    sha = t[t.start == "pretrained"].start_sha256.dropna().unique()
    print(f"fine-tuned from sha256 {', '.join(sha) or '?'}")
    print_table(t)
    if (m := zero_shot(args)) is not None:
        k = m["keypoints"]
        swaps = round(m["body_direction"]["share_over_90deg"] * m["n_frames"])
        print(
            f"| 0 | the start model alone | {k['head']['median']:.2f} | {k['neck']['median']:.2f} "
            f"| {k['base']['median']:.2f} | {swaps} | 0 | | |"
        )
    targets(t)
    t.to_csv(args.workdir / "both_starts.csv", index=False, float_format="%.4f")
    print(f"\nper point: {args.workdir / 'both_starts.csv'}")
    if args.figure:
        figure(t, args.figure)
        print(f"figure: {args.figure}")


if __name__ == "__main__":
    main()
