"""Learning curve: held-out error against the number of labelled originals trained on.

Each point is a model trained on a nested random subset of the training originals
(`split.subsample_originals`) and tested on the run's unchanged test part; several seeds per
count give mean ± sd. It tells a lab how many frames to label before more stop paying off.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
from matplotlib.ticker import FuncFormatter, NullLocator

from .figures import pyplot, save_figure
from .io import KEYPOINT_NAMES, KEYPOINTS, atomic_path, read_json

COLOURS = {"base": "tab:blue", "neck": "tab:green", "head": "tab:red"}  # as in evaluation.py
# What a point of the curve reads of its split and of its evaluation's metrics.
SUBSET_SPLIT_KEYS = ("count_requested", "seed", "n_originals", "parts.train.n_frames")
METRICS_KEYS = (
    "n_frames",
    *(f"keypoints.{k}.median" for k in KEYPOINTS),
    "body_direction.share_over_90deg",
)


def point_row(split_json, metrics_json) -> dict:
    """One subset: what it was trained on (from its split) and how it did on the test part."""
    split = read_json(split_json, "subset split JSON (from subsample-split)", SUBSET_SPLIT_KEYS)
    metrics = read_json(metrics_json, "metrics JSON", METRICS_KEYS)
    row = {
        "count": split["count_requested"],
        "seed": split["seed"],
        "n_originals": split["n_originals"],
        "n_train_frames": split["parts"]["train"]["n_frames"],
        "n_test_frames": metrics["n_frames"],
    }
    for key in KEYPOINTS:
        row[f"{key}_median_px"] = metrics["keypoints"][key]["median"]
    row["mean_median_px"] = float(np.mean([row[f"{k}_median_px"] for k in KEYPOINTS]))
    row["swapped_share"] = metrics["body_direction"]["share_over_90deg"]
    # What always predicting the subset's mean pose scores: a model must beat it.
    row["baseline_median_px"] = metrics.get("mean_baseline", {}).get("median_px_all", np.nan)
    return row


def learning_curve_table(splits, metrics) -> pd.DataFrame:
    """One row per subset (count asked, seed), sorted by count then seed."""
    rows = [point_row(s, m) for s, m in zip(splits, metrics, strict=True)]
    return pd.DataFrame(rows).sort_values(["count", "seed"], ignore_index=True)


def per_count(table: pd.DataFrame) -> pd.DataFrame:
    """Mean and sd (over seeds) of every number, one row per count asked."""
    grouped = table.drop(columns="seed").groupby("count")
    out = grouped.mean().add_suffix("_mean").join(grouped.std(ddof=1).add_suffix("_sd"))
    out.insert(0, "n_seeds", grouped.size())
    return out.reset_index()


def _mean_sd(mean: float, sd: float, scale: float = 1.0, digits: int = 2) -> str:
    text = f"{mean * scale:.{digits}f}"
    return text if np.isnan(sd) else f"{text} ± {sd * scale:.{digits}f}"


def learning_curve_markdown(table: pd.DataFrame, title: str = "") -> str:
    """A table a lab can read: per count, the median error per keypoint and the head/tail swaps."""
    stats = per_count(table)
    seeds, test = int(stats.n_seeds.max()), int(table.n_test_frames.iloc[0])
    lines = [
        f"# Learning curve{': ' + title if title else ''}",
        "",
        f"Median error (px) on the same {test} held-out test frames, mean ± sd over "
        f"{seeds} seed(s); each seed is another random subset of labelled originals (all "
        "their copies included) and another training seed.",
        "",
        "| labelled originals | nose | neck | tail base | head/tail swaps |",
        "|---|---|---|---|---|",
    ]
    for _, r in stats.iterrows():
        used, asked = round(r.n_originals_mean), int(r["count"])  # iterrows gives floats
        used = f"{used}" if used == asked else f"{used} (asked {asked}; all there are)"
        cells = [
            _mean_sd(r[f"{k}_median_px_mean"], r[f"{k}_median_px_sd"])
            for k in ("head", "neck", "base")
        ]
        swaps = _mean_sd(r.swapped_share_mean, r.swapped_share_sd, 100, 1) + " %"
        lines.append(f"| {used} | {' | '.join(cells)} | {swaps} |")
    return "\n".join(lines) + "\n"


def _plain(value, _position) -> str:
    return f"{value:g}"


def _some_minor(value, _position) -> str:
    """Label the 2, 4 and 6 of each decade only: enough to read off, not a crowd."""
    leading = round(value / 10 ** np.floor(np.log10(value)))
    return f"{value:g}" if leading in (2, 4, 6) else ""


def learning_curve_figure(table: pd.DataFrame, path, title: str = "") -> None:
    """Median error per keypoint against labelled originals, mean ± sd over seeds."""
    stats = per_count(table)
    fig, ax = pyplot().subplots(figsize=(7.5, 4.2), layout="constrained")
    x = stats.n_originals_mean
    for key in KEYPOINTS:
        sd = stats[f"{key}_median_px_sd"].fillna(0)  # one seed: no bar
        ax.errorbar(
            x,
            stats[f"{key}_median_px_mean"],
            yerr=sd,
            marker="o",
            capsize=4,
            color=COLOURS[key],
            label=KEYPOINT_NAMES[key],
        )
    # The baseline of the largest subsets: their mean pose is closest to the full set's.
    baseline = stats.baseline_median_px_mean.iloc[-1]
    if np.isfinite(baseline):
        ax.axhline(baseline, color="grey", linestyle="--", label="predict the training mean")
    # Log-log: errors fall by decades from a few originals to hundreds.
    ax.set(
        xscale="log",
        yscale="log",
        xlabel="labelled originals trained on",
        ylabel="median error on held-out frames (px)",
        title=f"learning curve{': ' + title if title else ''}",
    )
    ax.set_xticks(x, [f"{v:.0f}" for v in x])
    ax.xaxis.set_minor_locator(NullLocator())
    # plain numbers (not 10^0 or 4e-01)
    ax.yaxis.set_major_formatter(FuncFormatter(_plain))
    ax.yaxis.set_minor_formatter(FuncFormatter(_some_minor))
    ax.grid(alpha=0.3, which="both")
    fig.legend(loc="outside right upper", fontsize=8)
    save_figure(fig, path, dpi=110, bbox_inches="tight")


def write_learning_curve(splits, metrics, csv_path, figure_png, markdown_path, title=""):
    """The learning curve's table (CSV), figure (PNG) and Markdown summary; returns the table."""
    table = learning_curve_table(splits, metrics)
    with atomic_path(csv_path) as tmp:
        table.to_csv(tmp, index=False, float_format="%.4f")
    learning_curve_figure(table, figure_png, title)
    with atomic_path(markdown_path) as tmp:
        Path(tmp).write_text(learning_curve_markdown(table, title))
    return table
