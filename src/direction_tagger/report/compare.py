"""Compare the runs of a sweep: one row per run, then mean ± sd over runs that differ only
in their seed."""

from __future__ import annotations

import pandas as pd

from ..figures import pyplot, save_figure
from ..io import KEYPOINTS, DataError, atomic_path, read_json

SEED_KEYS = ("train.seed",)
# What `run_row` reads of an evaluation in a run's summary.
SUMMARY_METRICS = (
    *(f"keypoints.{k}.{m}" for k in KEYPOINTS for m in ("median", "p95")),
    "body_direction.p95_deg",
    "body_direction.share_over_90deg",
)


def flatten(overrides: dict, prefix: str = "") -> dict:
    flat = {}
    for key, value in overrides.items():
        if isinstance(value, dict):
            flat |= flatten(value, f"{prefix}{key}.")
        else:
            flat[f"{prefix}{key}"] = value
    return flat


def variant_of(overrides: dict) -> str:
    """What a run changes apart from its seed: runs with the same variant are repeats."""
    flat = {k: v for k, v in flatten(overrides).items() if k not in SEED_KEYS}
    return ", ".join(f"{k}={v}" for k, v in sorted(flat.items())) or "base"


def run_row(name: str, overrides: dict, summary: dict, evalset: str) -> dict:
    m = summary["evaluation"][evalset]
    row = {
        "run": name,
        "variant": variant_of(overrides),
        "architecture": summary["architecture"],
        "training_minutes": summary["training_seconds"] / 60,
        "train_images_per_s": summary["train_images_per_s"],
    }
    for key in KEYPOINTS:
        row[f"{key}_median_px"] = m["keypoints"][key]["median"]
        row[f"{key}_p95_px"] = m["keypoints"][key]["p95"]
    row["body_direction_p95_deg"] = m["body_direction"]["p95_deg"]
    row["swapped_share"] = m["body_direction"]["share_over_90deg"]
    return row


def read_summary(path, evalset: str) -> dict:
    """A run's summary.json, holding everything `run_row` reads for `evalset`."""
    required = [("architecture",), ("training_seconds",), ("train_images_per_s",)]
    required += [("evaluation", evalset, *key.split(".")) for key in SUMMARY_METRICS]
    return read_json(path, "run summary", required)


def compare_runs(summaries: dict[str, str], overrides: dict[str, dict], evalset: str):
    """(per-run table, per-variant mean and sd table) from each run's summary.json."""
    for name, value in overrides.items():
        if not isinstance(value, dict):
            raise DataError(f"overrides of run '{name}': expected a JSON object, got {value!r}")
    rows = [
        run_row(name, overrides.get(name, {}), read_summary(path, evalset), evalset)
        for name, path in summaries.items()
    ]
    runs = pd.DataFrame(rows)
    metrics = [c for c in runs.columns if c not in ("run", "variant", "architecture")]
    grouped = runs.groupby("variant")[metrics]
    variants = grouped.mean().add_suffix("_mean").join(grouped.std(ddof=1).add_suffix("_sd"))
    variants.insert(0, "n_runs", runs.groupby("variant").size())
    return runs, variants.reset_index()


def comparison_figure(runs: pd.DataFrame, path, evalset: str) -> None:
    """Median error per keypoint, one dot per run, bars at the mean of each variant."""
    fig, axes = pyplot().subplots(1, 4, figsize=(14, 3.8), sharey=False)
    columns = [f"{k}_median_px" for k in KEYPOINTS] + ["body_direction_p95_deg"]
    titles = [
        "tail base median (px)",
        "neck median (px)",
        "nose median (px)",
        "body direction p95 (°)",
    ]
    variants = sorted(runs.variant.unique())
    for ax, column, title in zip(axes, columns, titles):
        for i, variant in enumerate(variants):
            values = runs.loc[runs.variant == variant, column]
            ax.bar(
                i,
                values.mean(),
                color="lightsteelblue",
                yerr=values.std(ddof=1) if len(values) > 1 else None,
                capsize=4,
            )
            ax.scatter([i] * len(values), values, color="k", s=12, zorder=3)
        ax.set_xticks(range(len(variants)), variants, rotation=30, ha="right", fontsize=7)
        ax.set_title(title, fontsize=9)
        ax.grid(axis="y", alpha=0.3)
    fig.suptitle(f"runs compared on '{evalset}' (bar: mean ± sd over seeds, dots: runs)")
    save_figure(fig, path, dpi=110, bbox_inches="tight")


def write_comparison(summaries, overrides, evalset, runs_csv, variants_csv, figure_png):
    runs, variants = compare_runs(summaries, overrides, evalset)
    for table, path in ((runs, runs_csv), (variants, variants_csv)):
        with atomic_path(path) as tmp:
            table.to_csv(tmp, index=False, float_format="%.4f")
    comparison_figure(runs, figure_png, evalset)
    return runs, variants
