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
