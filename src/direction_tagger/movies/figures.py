"""Figures of one movie's predictions, from its tidy table (movie.py), written as PNG atomically.

- direction_traces.png: body and head direction over time, raw (light) and smoothed (solid),
  QC-flagged frames shaded red; a trace crossing 0/360 is broken there, not drawn as a
  vertical line.
- trajectory.png: the body centre (mean of tail base and neck) in the 50x50 crop, coloured
  by time, image orientation (y down).
- heading_polar.png: polar histogram of body headings (bars) and head directions (outline);
  0 deg = right, 90 deg = up, counter-clockwise, as on screen.
- qc_timeline.png: one row per QC flag, flagged frames against time, with the share flagged.

When the table holds *_raw columns (the smoothed table), the main columns are the smoothed
values and *_raw the raw ones; otherwise the main columns are raw and the smoothed direction
traces are computed here with `smooth.smooth_angles`.
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pandas as pd
from matplotlib.collections import LineCollection
from matplotlib.patches import Rectangle

from ..figures import new_figure, save_figure
from ..io import FRAME_SIZE
from .smooth import smooth_angles

BODY_COLOUR = "#e07b00"
HEAD_COLOUR = "#008c9e"
FLAG_COLOUR = "#d62728"
FIGURE_NAMES = ("direction_traces.png", "trajectory.png", "heading_polar.png", "qc_timeline.png")


def break_wraps(deg: np.ndarray, limit: float = 180.0) -> np.ndarray:
    """Copy of an angle trace with NaN wherever consecutive values differ by more than `limit`
    degrees (a 0/360 crossing), so a line plot leaves a gap instead of a vertical stroke."""
    deg = np.asarray(deg, dtype=np.float64).copy()
    jumps = np.flatnonzero(np.abs(np.diff(deg)) > limit) + 1
    return np.insert(deg, jumps, np.nan), jumps


def _wrapped_line(ax, t, deg, **kwargs):
    y, jumps = break_wraps(deg)
    x = np.insert(np.asarray(t, np.float64), jumps, np.nan)
    return ax.plot(x, y, **kwargs)


def _direction_pair(table: pd.DataFrame, column: str) -> tuple[np.ndarray, np.ndarray]:
    """(raw, smoothed) direction traces for `column`."""
    if f"{column}_raw" in table.columns:
        return table[f"{column}_raw"].to_numpy(float), table[column].to_numpy(float)
    raw = table[column].to_numpy(float)
    return raw, smooth_angles(raw, window=7)


def _flag_any(table: pd.DataFrame) -> np.ndarray | None:
    return table["qc_any"].fillna(False).to_numpy(bool) if "qc_any" in table.columns else None


def _flag_spans(t: np.ndarray, flag: np.ndarray, min_width: float = 0.0):
    """(start, width) in time of each run of flagged frames, at least `min_width` wide."""
    dt = (t[1] - t[0]) if len(t) > 1 else 1.0
    padded = np.concatenate([[False], flag, [False]])
    edges = np.flatnonzero(np.diff(padded.astype(np.int8)))
    return [(t[a] - dt / 2, max((b - a) * dt, min_width)) for a, b in zip(edges[::2], edges[1::2])]


def plot_direction_traces(table: pd.DataFrame, path) -> Path:
    """Body and head direction (degrees) against time (s), raw and smoothed."""
    t = table["time_s"].to_numpy(float)
    flags = _flag_any(table)
    duration = (t[-1] - t[0]) if len(t) > 1 else 1.0
    fig = new_figure(figsize=(10, 5.4), layout="constrained")
    axes = fig.subplots(2, 1, sharex=True)
    for ax, column, label, colour in (
        (axes[0], "body_direction_deg", "body direction", BODY_COLOUR),
        (axes[1], "head_direction_deg", "head direction", HEAD_COLOUR),
    ):
        raw, smoothed = _direction_pair(table, column)
        if flags is not None and flags.any():
            # at least ~1/500 of the axis wide, so single flagged frames stay visible
            ax.broken_barh(
                _flag_spans(t, flags, duration / 500),
                (0, 360),
                facecolors=FLAG_COLOUR,
                alpha=0.15,
                label="QC flagged",
            )
        _wrapped_line(ax, t, raw, color=colour, alpha=0.4, linewidth=0.8, label="raw")
        _wrapped_line(ax, t, smoothed, color=colour, linewidth=1.6, label="smoothed")
        ax.set_ylim(0, 360)
        ax.set_yticks([0, 90, 180, 270, 360])
        ax.set_ylabel(f"{label} (deg)")
        ax.grid(True, alpha=0.3)
    axes[1].set_xlabel("time (s)")
    axes[0].set_xlim(t[0], t[-1] if len(t) > 1 else t[0] + 1)
    handles, labels = axes[0].get_legend_handles_labels()
    fig.legend(handles, labels, loc="outside upper right", ncols=3, fontsize="small", frameon=False)
    fig.suptitle("Directions over time (0 = right, 90 = up, counter-clockwise)", x=0.02, ha="left")
    return save_figure(fig, path, dpi=120)


def plot_trajectory(table: pd.DataFrame, path) -> Path:
    """Body centre (mean of tail base and neck) in the crop, coloured by time."""
    x = (table["base_x"].to_numpy(float) + table["neck_x"].to_numpy(float)) / 2
    y = (table["base_y"].to_numpy(float) + table["neck_y"].to_numpy(float)) / 2
    t = table["time_s"].to_numpy(float)
    fig = new_figure(figsize=(6.2, 5.4), layout="constrained")
    ax = fig.subplots()
    points = np.stack([x, y], axis=1)
    segments = np.stack([points[:-1], points[1:]], axis=1)
    lc = LineCollection(segments, cmap="viridis", linewidth=1.4)
    lc.set_array(t[1:] if len(t) > 1 else t)
    ax.add_collection(lc)
    fig.colorbar(lc, ax=ax, label="time (s)")
    finite = np.isfinite(points).all(axis=1)
    if finite.any():
        first, last = points[finite][0], points[finite][-1]
        ax.plot(*first, "o", color="black", markerfacecolor="white", markersize=8, label="start")
        ax.plot(*last, "s", color="black", markersize=7, label="end")
        ax.legend(loc="upper right", fontsize="small")
    lo, hi = -0.5, FRAME_SIZE - 0.5
    ax.add_patch(Rectangle((lo, lo), hi - lo, hi - lo, fill=False, edgecolor="0.5", linestyle="--"))
    ax.set_xlim(lo - 1, hi + 1)
    ax.set_ylim(hi + 1, lo - 1)  # image orientation: y (row) grows downward
    ax.set_aspect("equal")
    ax.set_xlabel("x (px, column)")
    ax.set_ylabel("y (px, row)")
    ax.set_title("Body centre trajectory in the 50x50 crop")
    return save_figure(fig, path, dpi=120)


def plot_heading_polar(table: pd.DataFrame, path, bins: int = 36) -> Path:
    """Polar histogram of body headings (bars) and head directions (outline), share of frames."""
    edges = np.linspace(0, 2 * np.pi, bins + 1)
    width = edges[1] - edges[0]
    fig = new_figure(figsize=(5.6, 5.6), layout="constrained")
    ax = fig.add_subplot(projection="polar")  # 0 at the right, counter-clockwise = as on screen
    n = max(len(table), 1)
    body = np.radians(table["body_direction_deg"].dropna().to_numpy(float))
    head = np.radians(table["head_direction_deg"].dropna().to_numpy(float))
    body_hist = np.histogram(body, edges)[0] / n
    head_hist = np.histogram(head, edges)[0] / n
    ax.bar(
        edges[:-1],
        body_hist,
        width=width,
        align="edge",
        color=BODY_COLOUR,
        alpha=0.75,
        edgecolor="white",
        linewidth=0.5,
        label="body (tail base -> neck)",
    )
    theta = np.repeat(edges, 2)[1:-1]
    ax.plot(
        np.append(theta, theta[0]),
        np.append(np.repeat(head_hist, 2), head_hist[0]),
        color=HEAD_COLOUR,
        linewidth=1.6,
        label="head (neck -> nose)",
    )
    ax.set_thetagrids([0, 45, 90, 135, 180, 225, 270, 315])
    ax.set_rlabel_position(247.5)  # radial labels in a quiet corner
    ax.tick_params(axis="y", labelsize="x-small", labelcolor="0.4")
    ax.yaxis.set_major_formatter(lambda v, _: f"{100 * v:.0f}%")
    ax.set_title("Heading distribution (share of frames)\n0 = right, 90 = up", fontsize=11)
    ax.legend(
        loc="lower center", bbox_to_anchor=(0.5, -0.16), ncols=2, fontsize="small", frameon=False
    )
    return save_figure(fig, path, dpi=120)


def plot_qc_timeline(table: pd.DataFrame, path) -> Path:
    """Flagged frames of each QC flag against time, with the share of frames flagged."""
    t = table["time_s"].to_numpy(float)
    names = [c for c in table.columns if c.startswith("qc_") and c != "qc_any"]
    if "qc_any" in table.columns:
        names.append("qc_any")
    fig = new_figure(figsize=(10, 0.9 + 0.45 * max(len(names), 2)), layout="constrained")
    ax = fig.subplots()
    dt = (t[1] - t[0]) if len(t) > 1 else 1.0
    for row, name in enumerate(names):
        flag = table[name].fillna(False).to_numpy(bool)
        spans = _flag_spans(t, flag, (t[-1] - t[0] + dt) / 800)
        colour = "black" if name == "qc_any" else FLAG_COLOUR
        ax.broken_barh(spans, (row - 0.35, 0.7), facecolors=colour)
        ax.text(
            1.005,
            row,
            f"{100 * flag.mean():.1f}%",
            transform=ax.get_yaxis_transform(),
            va="center",
            fontsize="small",
        )
    ax.set_yticks(range(len(names)), [n.removeprefix("qc_").replace("_", " ") for n in names])
    ax.set_ylim(len(names) - 0.5, -0.5)
    ax.set_xlim(t[0] - dt / 2, t[-1] + dt / 2)
    ax.set_xlabel("time (s)")
    ax.grid(True, axis="x", alpha=0.3)
    if not names:
        ax.text(0.5, 0.5, "no QC flags in this table", transform=ax.transAxes, ha="center")
    ax.set_title("QC flags over time (share of frames flagged at right)")
    return save_figure(fig, path, dpi=120)


def save_movie_figures(outdir: str | os.PathLike, table: pd.DataFrame) -> list[Path]:
    """Write the four movie figures (FIGURE_NAMES) into `outdir`; returns their paths."""
    outdir = Path(outdir)
    outdir.mkdir(parents=True, exist_ok=True)
    plots = (plot_direction_traces, plot_trajectory, plot_heading_polar, plot_qc_timeline)
    return [plot(table, outdir / name) for plot, name in zip(plots, FIGURE_NAMES)]
