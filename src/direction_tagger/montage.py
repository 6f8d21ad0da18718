"""A PNG grid of frames with keypoints: truth as dots joined by a skeleton, predictions as
crosses. Used to look at synthetic data, checks, augmentations and the worst predictions.

Points are (x, y) px with pixel centres at integers, which is exactly how `imshow` places
pixels, so a label at (3, 7) is drawn on the centre of column 3, row 7.
"""

from __future__ import annotations

import math
import os

import numpy as np
from matplotlib.lines import Line2D

from .figures import new_figure, save_figure
from .io import KEYPOINT_NAMES, KEYPOINTS

# base blue, neck green, nose red: the same in every figure of the project
KEYPOINT_COLOURS = {"base": "tab:blue", "neck": "tab:green", "head": "tab:red"}
SKELETON_COLOUR = "yellow"


def save_montage(
    path: str | os.PathLike,
    images: np.ndarray,
    locs: np.ndarray | None = None,
    pred: np.ndarray | None = None,
    titles: list[str] | None = None,
    ncols: int = 8,
    scale: float = 6,
) -> None:
    """Write a PNG grid of `images` (N, H, W) to `path`, atomically.

    `locs` and `pred` are (N, 3, 2) keypoints in KEYPOINTS order, (x, y) px. Truth is drawn as
    dots with a base -> neck -> nose line, predictions as crosses of the same colour with a
    thin line from the truth. `titles` gives one short string per tile. `scale` is screen px
    per image px. uint8 images are shown on a fixed 0-255 grey scale; others are autoscaled.
    """
    images = np.asarray(images)
    n = len(images)
    if n == 0:
        raise ValueError("save_montage: no images to draw")
    ncols = max(1, min(ncols, n))
    nrows = math.ceil(n / ncols)
    h, w = images.shape[1:3]
    dpi = 100
    title_h = 14 if titles is not None else 0  # px above each tile
    legend_h = 30
    fig_w = ncols * w * scale / dpi
    fig_h = (nrows * (h * scale + title_h) + legend_h + title_h) / dpi
    fig = new_figure(figsize=(fig_w, fig_h), dpi=dpi)
    top = 1 - (legend_h + title_h) / (fig_h * dpi)  # the first row's titles sit below the legend
    grid = fig.add_gridspec(
        nrows,
        ncols,
        left=0,
        right=1,
        bottom=0,
        top=top,
        wspace=0.02,
        hspace=title_h / (h * scale) + 0.02,
    )
    marker = max(3.0, scale * 0.9)
    for i in range(n):
        ax = fig.add_subplot(grid[i // ncols, i % ncols])
        _draw_tile(
            ax,
            images[i],
            marker,
            None if locs is None else np.asarray(locs[i]),
            None if pred is None else np.asarray(pred[i]),
        )
        if titles is not None:
            ax.set_title(str(titles[i]), fontsize=8, pad=2)
    fig.legend(
        handles=_legend_handles(pred is not None),
        loc="upper center",
        ncol=4,
        fontsize=9,
        frameon=False,
        bbox_to_anchor=(0.5, 1.0),
    )
    save_figure(fig, path, dpi=dpi, facecolor="white")


def _draw_tile(ax, image, marker, truth, pred) -> None:
    if image.dtype == np.uint8:
        ax.imshow(image, cmap="gray", vmin=0, vmax=255, interpolation="nearest")
    else:
        ax.imshow(image, cmap="gray", interpolation="nearest")
    ax.set_axis_off()
    ax.set_xlim(-0.5, image.shape[1] - 0.5)
    ax.set_ylim(image.shape[0] - 0.5, -0.5)
    if truth is not None:
        ax.plot(truth[:, 0], truth[:, 1], "-", color=SKELETON_COLOUR, lw=1.0, alpha=0.8)
    for k, name in enumerate(KEYPOINTS):
        colour = KEYPOINT_COLOURS[name]
        if truth is not None:
            ax.plot(*truth[k], "o", color=colour, ms=marker, mec="white", mew=0.6)
        if pred is not None:
            ax.plot(*pred[k], "x", color=colour, ms=marker * 1.2, mew=1.5)
            if truth is not None:
                ax.plot(
                    [truth[k, 0], pred[k, 0]], [truth[k, 1], pred[k, 1]], "-", color=colour, lw=0.8
                )


def _legend_handles(with_pred: bool) -> list[Line2D]:
    handles = [
        Line2D([], [], ls="none", marker="o", color=KEYPOINT_COLOURS[k], label=KEYPOINT_NAMES[k])
        for k in KEYPOINTS
    ]
    if with_pred:
        handles.append(Line2D([], [], ls="none", marker="x", color="black", label="prediction"))
    return handles
