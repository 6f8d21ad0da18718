"""Training curves: loss, validation error and learning rate per validation, from the CSV log."""

from __future__ import annotations

import pandas as pd

from ..figures import pyplot, save_figure


def training_curves_figure(log_csv, path) -> None:
    log = pd.read_csv(log_csv)
    fig, (loss_ax, err_ax, lr_ax) = pyplot().subplots(1, 3, figsize=(13, 3.6), layout="constrained")
    loss_ax.plot(log.step, log.train_loss, "o-", label="train")
    loss_ax.plot(log.step, log.val_loss, "o-", label="validation")
    loss_ax.set(xlabel="optimiser step", ylabel="loss", yscale="log", title="loss")
    loss_ax.legend()
    err_ax.plot(log.step, log.val_median_px, "o-", label="median")
    err_ax.plot(log.step, log.val_mean_px, "o-", label="mean")
    err_ax.set(
        xlabel="optimiser step", ylabel="px", yscale="log", title="validation keypoint error"
    )
    err_ax.legend()
    lr_ax.plot(log.step, log.lr, "o-")
    lr_ax.set(xlabel="optimiser step", ylabel="learning rate", title="schedule")
    for ax in (loss_ax, err_ax, lr_ax):
        ax.grid(alpha=0.3)
    save_figure(fig, path, dpi=110, bbox_inches="tight")
