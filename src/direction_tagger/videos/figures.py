"""The tracking figure: where the animal went and where the tracker was unsure, one look."""

from __future__ import annotations

import numpy as np

from ..figures import new_figure, save_figure


def track_figure(path, background: np.ndarray, track, qc: dict) -> None:
    """Left: the background with the crop centre's path (colour = time), crops drawn at a
    few moments, lost frames as red crosses. Right: crop-centre speed over time with lost
    frames and jumps marked."""
    fig = new_figure(figsize=(11, 4.2))
    ax_map, ax_time = fig.subplots(1, 2, gridspec_kw={"width_ratios": [1.25, 1]})
    ax_map.imshow(background, cmap="gray", vmin=0, vmax=255)
    x, y = track["crop_x"].to_numpy(float), track["crop_y"].to_numpy(float)
    t = track["time_s"].to_numpy(float)
    step = max(1, len(x) // 20000)  # plenty for a line; an hour of video stays light
    points = ax_map.scatter(x[::step], y[::step], c=t[::step], s=1.5, cmap="viridis", lw=0)
    fig.colorbar(points, ax=ax_map, label="time (s)", fraction=0.04)
    side = float(qc["crop_side_px"])
    for i in np.linspace(0, len(x) - 1, 5).astype(int):
        ax_map.add_patch(_square(x[i], y[i], side))
    lost = track["found"].to_numpy() == 0
    ax_map.plot(x[lost], y[lost], "rx", ms=4, label=f"lost ({lost.sum()} frames)")
    if lost.any():
        ax_map.legend(loc="lower right", fontsize=8)
    ax_map.set_title(f"track: crop side {side:.0f} px, body {qc['body_length_px']:.0f} px")
    ax_map.set_axis_off()

    speed = np.hypot(np.gradient(x), np.gradient(y)) * float(qc["fps"]) if len(x) > 1 else x * 0
    ax_time.plot(t, speed, lw=0.6, color="0.3")
    jump = track["jump"].to_numpy() != 0
    ax_time.plot(t[jump], speed[jump], "o", color="tab:orange", ms=3, label="jump")
    ax_time.plot(t[lost], np.zeros(lost.sum()), "|", color="red", ms=8, label="lost")
    ax_time.set_xlabel("time (s)")
    ax_time.set_ylabel("crop centre speed (px/s)")
    ax_time.set_title(f"lost {qc['lost_fraction']:.1%} of frames, {qc['jumps']} jumps")
    ax_time.legend(loc="upper right", fontsize=8)
    fig.tight_layout()
    save_figure(fig, path, dpi=110)


def _square(x, y, side):
    from matplotlib.patches import Rectangle

    return Rectangle((x - side / 2, y - side / 2), side, side, fill=False, ec="orange", lw=1)


# A flagged frame is drawn in the colour of its first flag in this order: the flags that say
# the points were changed or may be wrong come before the plain doubt.
FLAG_ORDER = ("off_animal", "swap", "polarity", "jump", "track_lost", "track_jump", "geometry",
              "gap", "uncertain")  # fmt: skip
MIN_CELL_FRAMES = 10  # an arena cell with fewer frames gets no share: too few to say


def flag_map_figure(path, background: np.ndarray, table, cell_px: float) -> dict:
    """Where in the arena the flagged frames fall, one look. Left: the background with the
    body's midpoint (nose - tail base, video px) of every frame, grey where unflagged, in its
    first flag's colour where flagged. Right: the share of frames flagged per square cell of
    `cell_px` (cells with fewer than MIN_CELL_FRAMES frames left blank). Returns the numbers
    drawn: {frames, flagged, by_flag {name: frames}, worst_cell {x, y, frames, share}}."""
    from ..movies.tables import table_flags

    nose = table[["head_x_video", "head_y_video"]].to_numpy(float)
    base = table[["base_x_video", "base_y_video"]].to_numpy(float)
    x, y = ((nose + base) / 2).T
    flags = table_flags(table)
    names = [f for f in FLAG_ORDER if f in flags] + sorted(set(flags) - set(FLAG_ORDER))
    flagged = np.zeros(len(x), bool)
    for name in names:
        flagged |= flags[name]
    first = np.full(len(x), "", object)
    for name in reversed(names):  # the earliest flag in FLAG_ORDER is written last and wins
        first[flags[name]] = name

    fig = new_figure(figsize=(11, 4.2))
    ax_map, ax_share = fig.subplots(1, 2)
    for ax in (ax_map, ax_share):
        ax.imshow(background, cmap="gray", vmin=0, vmax=255)
        ax.set_axis_off()
    ax_map.scatter(x[~flagged], y[~flagged], s=1.5, color="0.55", lw=0, label="not flagged")
    by_flag = {}
    colours = dict(zip(FLAG_ORDER, ("red", "magenta", "purple", "orange", "black", "brown",
                                    "gold", "tab:blue", "cyan")))  # fmt: skip
    for name in names:
        shown = first == name
        by_flag[name] = int(flags[name].sum())
        if shown.any():
            ax_map.scatter(x[shown], y[shown], s=5, lw=0, color=colours.get(name, "lime"),
                           label=f"{name} ({by_flag[name]} frames)")  # fmt: skip
    ax_map.legend(loc="lower right", fontsize=7, markerscale=2, framealpha=0.8)
    ax_map.set_title(f"flagged {flagged.mean():.1%} of {len(x)} frames (colour: first flag)")

    height, width = background.shape
    edges_x = np.arange(0, width + cell_px, cell_px)
    edges_y = np.arange(0, height + cell_px, cell_px)
    seen = np.isfinite(x) & np.isfinite(y)
    count, _, _ = np.histogram2d(y[seen], x[seen], bins=(edges_y, edges_x))
    hits, _, _ = np.histogram2d(y[seen & flagged], x[seen & flagged], bins=(edges_y, edges_x))
    share = np.where(count >= MIN_CELL_FRAMES, hits / np.maximum(count, 1), np.nan)
    top = max(0.1, float(np.nanmax(share))) if np.isfinite(share).any() else 1.0
    shown = ax_share.imshow(share, cmap="magma_r", vmin=0, vmax=top, alpha=0.8,
                            extent=(edges_x[0], edges_x[-1], edges_y[-1], edges_y[0]))  # fmt: skip
    ax_share.set_xlim(0, width)
    ax_share.set_ylim(height, 0)
    fig.colorbar(shown, ax=ax_share, label="share of frames flagged", fraction=0.04)
    worst = None
    if np.isfinite(share).any():
        row, col = np.unravel_index(np.nanargmax(share), share.shape)
        worst = {
            "x": float(edges_x[col] + cell_px / 2),
            "y": float(edges_y[row] + cell_px / 2),
            "frames": int(count[row, col]),
            "share": float(share[row, col]),
        }
        ax_share.set_title(
            f"flagged per {cell_px:.0f} px cell (>= {MIN_CELL_FRAMES} frames); "
            f"worst {worst['share']:.0%} of {worst['frames']}"
        )
    fig.tight_layout()
    save_figure(fig, path, dpi=110)
    return {
        "frames": int(len(x)),
        "flagged": int(flagged.sum()),
        "by_flag": by_flag,
        "worst_cell": worst,
    }
