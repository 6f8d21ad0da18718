"""A short human-readable summary of a run: model, training, accuracy, movies."""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from ..io import KEYPOINT_NAMES, KEYPOINTS, DataError, atomic_path, read_json, write_json
from ..movies.familiarity import familiarity_line

# What the summary reads of an evaluation's metrics JSON and of a movie's QC JSON.
METRICS_KEYS = (
    "n_frames",
    *(f"keypoints.{k}.{m}" for k in KEYPOINTS for m in ("median", "mean", "p95", "pck@2px")),
    *(f"keypoints.{k}.pck@5px" for k in KEYPOINTS),
    "body_direction.median_deg",
    "body_direction.p95_deg",
    "body_direction.share_over_90deg",
    "head_direction.median_deg",
    "head_direction.p95_deg",
)
MOVIE_QC_KEYS = ("n_frames", "flagged_share.any", "longest_flagged_run.frames", "median_jitter_px")
PART_WORDS = {"val": "validation", "test": "test", "train": "training"}
TRAIN_LOG_COLUMNS = ("seconds", "images_per_s")


def accuracy_lines(name: str, m: dict) -> list[str]:
    lines = [
        f"### {name} ({m['n_frames']} frames{', TTA' if m.get('tta') else ''})",
        "",
        "| keypoint | median px | mean px | p95 px | PCK@2px | PCK@5px |",
        "|---|---|---|---|---|---|",
    ]
    for key in KEYPOINTS:
        k = m["keypoints"][key]
        lines.append(
            f"| {KEYPOINT_NAMES[key]} | {k['median']:.2f} | {k['mean']:.2f} | "
            f"{k['p95']:.2f} | {k['pck@2px']:.1%} | {k['pck@5px']:.1%} |"
        )
    body, head = m["body_direction"], m["head_direction"]
    lines += [
        "",
        f"Body direction error: median {body['median_deg']:.1f}°, p95 "
        f"{body['p95_deg']:.1f}°, head/tail swapped (> 90°) in {body['share_over_90deg']:.2%}"
        f" of frames. Head direction error: median {head['median_deg']:.1f}°, p95 "
        f"{head['p95_deg']:.1f}°.",
    ]
    if "mean_baseline" in m:
        lines.append(
            f"Predicting the training mean instead would give a median error of "
            f"{m['mean_baseline']['median_px_all']:.1f} px."
        )
    if "calibration" in m:
        parts = []
        for radius in ("2", "3"):
            d = m["calibration"][radius]["reliability"]
            # a bin of a few points says little: the gap is read over bins of >= 20 points
            gaps = [abs(b["mean_p"] - b["observed"]) for b in d["bins"] if b["n"] >= 20]
            gap = f"{max(gaps):.2f}" if gaps else "n/a"
            parts.append(
                f"P(within {radius} px): ECE {d['ece']:.3f}, largest gap over bins of "
                f">= 20 points {gap}"
            )
        lines.append(
            "Calibrated confidence on these frames (never used to fit it): "
            + "; ".join(parts)
            + "."
        )
        lines.append(fitted_on_line(m["calibration"].get("fitted_on")))
    return lines + [""]


def fitted_on_line(fitted: dict | None) -> str:
    """Where the calibration comes from: a few frames make a rough one, and users should know."""
    if not fitted or fitted.get("n_frames") is None:
        return "The calibration's frames are not recorded (a calibration from an older version)."
    n, viewed = fitted["n_frames"], fitted.get("viewed") or {}
    subset = fitted.get("subset", "val")
    line = f"The calibration rests on {n} {PART_WORDS.get(subset, subset)} frames"
    if viewed:
        views = ", ".join(
            f"{v['frames']} {k} frames x {v['views_each']}" for k, v in viewed.items()
        )
        line += (
            " (its level); how it moves with confidence and spread comes from turned and "
            f"shifted views ({views})"
        )
    if n < 30:
        line += "; with fewer than 30, its level is rough (more validation frames firm it up)"
    return line + "."


def start_line(init: dict) -> str:
    """Where the weights started (train.init): random, or which model file (path, sha256)."""
    if init.get("kind", "scratch") == "scratch":
        return "Start: from scratch (random weights; train.init = scratch)."
    what = "the pretrained model" if init["kind"] == "pretrained" else "the model"
    made = ""
    if init.get("pretraining"):
        steps = init["pretraining"].get("settings", {}).get("steps")
        made = f", made by `pretrain` ({steps} steps on synthetic rats and mice)"
    return (
        f"Start: fine-tuned from {what} `{init.get('path')}`{made}, sha256 "
        f"`{init.get('sha256')}` (train.init = {init.get('choice')})"
        + (
            "; its output layer started afresh (train.fresh_head)."
            if init.get("fresh_head")
            else "."
        )
    )


def build_summary(
    run: str,
    model_meta: dict,
    train_log: str,
    metrics: dict[str, str],
    movies: dict[str, str],
    split: str | None = None,
    before: str | None = None,
) -> tuple[str, dict]:
    log = read_train_log(train_log)
    budget = model_meta.get("budget", {})
    data = {
        "run": run,
        "architecture": model_meta["architecture"],
        "device": model_meta.get("device"),
        "precision": model_meta.get("precision"),
        "budget": budget,
        "steps_done": model_meta.get("steps_done"),
        "stopped_by": model_meta.get("stopped_by"),
        "best_step": model_meta.get("best_step"),
        "init": model_meta.get("init", {"kind": "scratch"}),
        "training_seconds": float(log.seconds.max()),
        "train_images_per_s": float(log.images_per_s.iloc[-1]),
        "evaluation": {n: read_json(p, "metrics JSON", METRICS_KEYS) for n, p in metrics.items()},
        "movies": {n: read_json(p, "movie QC JSON", MOVIE_QC_KEYS) for n, p in movies.items()},
    }
    lines = [
        f"# direction-tagger run `{run}`",
        "",
        f"Model `{data['architecture']}` trained on {model_meta.get('n_train')} frames "
        f"(validation {model_meta.get('n_val')}) on {data['device']}, "
        f"{data['precision'] or 'fp32'}: {data['steps_done']} of {budget.get('steps')} steps "
        f"of {budget.get('batch_size')} frames in {data['training_seconds'] / 60:.1f} min "
        f"({data['train_images_per_s']:.0f} images/s), best at step {data['best_step']} "
        f"(validation median {model_meta.get('val_median_px', float('nan')):.2f} px).",
        "",
        f"Budget: {budget.get('reason')}.",
        "",
        start_line(data["init"]),
        "",
    ]
    if data["stopped_by"] == "max_minutes":
        cap = model_meta.get("config", {}).get("max_minutes")
        lines += [
            f"> **Warning:** training hit its safety cap (train.max_minutes = {cap}) after "
            f"{data['steps_done']} of {budget.get('steps')} steps "
            f"({data['steps_done'] / max(1, budget.get('steps', 1)):.0%}); the model is the "
            f"best so far, not a finished one. Raise or remove the cap and re-run to resume.",
            "",
        ]
    elif data["stopped_by"] == "early_stopping":
        lines += [
            f"Stopped early: no validation improvement in "
            f"{model_meta.get('config', {}).get('patience')} validations.",
            "",
        ]
    lines += ["## Accuracy on labelled frames the model never trained on", ""]
    if split:
        data["split_rule"] = read_json(split).get("rule")
        lines += [f"Split: {data['split_rule']}", ""]
    for name, m in data["evaluation"].items():
        lines += accuracy_lines(name, m)
    if movies:
        lines += [
            "## Movies",
            "",
            "| movie | frames | flagged by QC | head/tail turned back | chance a keypoint is > 3 px"
            " off, flagged / unflagged frames | longest flagged stretch | median nose jitter |",
            "|---|---|---|---|---|---|---|",
        ]
        for name, qc in data["movies"].items():
            share = qc["flagged_share"]["any"] or 0.0
            run = qc["longest_flagged_run"]
            jitter = qc["median_jitter_px"].get("nose")
            exchanged = qc.get("polarity", {}).get("exchanged_frames")
            expected = qc.get("expected_share_off_3px") or {}
            risk = " / ".join(
                "n/a" if expected.get(k) is None else f"{expected[k]:.1%}"
                for k in ("flagged", "unflagged")
            )
            if expected.get("without"):  # keypoints judged against the movie (familiarity)
                risk += f" ({' and '.join(expected['without'])} aside)"
            lines.append(
                f"| {name} | {qc['n_frames']} | {share:.1%} | "
                f"{'n/a' if exchanged is None else f'{exchanged} frames'} | "
                f"{risk if expected else 'not calibrated'} | {run['frames']} frames | "
                f"{'n/a' if jitter is None else f'{jitter:.2f} px'} |"
            )
        lines.append("")
        warnings = [familiarity_line(n, qc.get("familiarity")) for n, qc in data["movies"].items()]
        warnings += [off_animal_line(n, qc) for n, qc in data["movies"].items()]
        lines += [w for w in warnings if w] + ([""] if any(warnings) else [])
    if before:
        lines += before_after_lines(read_json(before, "run summary JSON"), data, model_meta)
    return "\n".join(lines), data


def off_animal_line(movie: str, qc: dict) -> str | None:
    """One Markdown line for summary.md when the network put keypoints off the animal on a
    tracked video (videos/silhouette.py), else None."""
    frames = qc.get("flagged_frames", {}).get("off_animal", 0)
    if not frames:
        return None
    return (
        f"- **{movie}**: on {frames} frames ({frames / qc['n_frames']:.1%}) the network put a "
        "keypoint off the animal (on a reflection or a shadow); it was moved onto the animal's "
        "silhouette and the frames are flagged `off_animal` (the network's answer in `*_raw`)."
    )


def before_after_lines(old: dict, new: dict, model_meta: dict) -> list[str]:
    """A refined run against the run it was fine-tuned from: the same held-out frames and
    the same movies, before and after."""
    tuned = model_meta.get("fine_tuned_from") or {}
    lines = [
        f"## Before / after refining (from run `{old.get('run')}`)",
        "",
        f"Fine-tuned from {tuned.get('path', 'the run model')} ({tuned.get('budget', '')}) "
        f"with {model_meta.get('n_train')} training frames (with the corrected ones) against "
        f"its {tuned.get('n_train', '?')}.",
        "",
    ]
    shared = [n for n in new["evaluation"] if n in old.get("evaluation", {})]
    if shared:
        lines += [
            "| frames | keypoint | median px before | after | mean px before | after "
            "| PCK@2px before | after |",
            "|---|---|---|---|---|---|---|---|",
        ]
        for name in shared:
            for key in KEYPOINTS:
                a, b = (
                    old["evaluation"][name]["keypoints"][key],
                    new["evaluation"][name]["keypoints"][key],
                )
                lines.append(
                    f"| {name} | {KEYPOINT_NAMES[key]} | {a['median']:.2f} | {b['median']:.2f} | "
                    f"{a['mean']:.2f} | {b['mean']:.2f} | {a['pck@2px']:.1%} | {b['pck@2px']:.1%} |"
                )
        lines.append("")
    movies = [n for n in new["movies"] if n in old.get("movies", {})]
    if movies:
        lines += ["| movie | flagged by QC before | after |", "|---|---|---|"]
        for name in movies:
            a = old["movies"][name]["flagged_share"]["any"] or 0.0
            b = new["movies"][name]["flagged_share"]["any"] or 0.0
            lines.append(f"| {name} | {a:.1%} | {b:.1%} |")
        lines.append("")
    return lines


def read_train_log(path) -> pd.DataFrame:
    """The training log CSV (from `train`); DataError naming the file when it is not one."""
    path = Path(path)
    if not path.exists():
        raise DataError(f"{path}: file not found")
    try:
        log = pd.read_csv(path)
    except (pd.errors.ParserError, pd.errors.EmptyDataError, UnicodeDecodeError) as err:
        raise DataError(f"{path}: not a readable CSV ({str(err).splitlines()[0]})") from None
    for column in TRAIN_LOG_COLUMNS:
        if column not in log.columns or not pd.api.types.is_numeric_dtype(log[column]):
            raise DataError(f"{path}: no numeric column '{column}'; expected a training log")
    if log.empty:
        raise DataError(f"{path}: holds no validation rows; expected a training log")
    return log


def write_summary(markdown_path, json_path, **kwargs) -> str:
    text, data = build_summary(**kwargs)
    with atomic_path(markdown_path) as tmp:
        Path(tmp).write_text(text)
    write_json(json_path, data)
    return text
