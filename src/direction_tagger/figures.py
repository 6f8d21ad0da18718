"""Figures: the one place that chooses matplotlib's backend and writes PNG files.

Every figure of the project is drawn on the non-interactive Agg backend, made one of two ways:

- `new_figure(**kw)`: a `matplotlib.figure.Figure` with its own Agg canvas and no pyplot, so
  no global matplotlib state is touched (verification plots, montages, movie figures);
- `pyplot()`: `matplotlib.pyplot` with the Agg backend selected, for figures made with
  `plt.subplots` (evaluation, training curves, learning curve, run comparison).

`save_figure` writes either kind as PNG atomically: to a temporary name in the same folder
(`io.atomic_path`), renamed onto the target only when complete, then closes the figure.
matplotlib is imported on first use, not when this module is imported.
"""

from __future__ import annotations

import os
from pathlib import Path

from .io import atomic_path


def pyplot():
    """`matplotlib.pyplot`, with the Agg backend selected (the only place that selects it)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def new_figure(**kwargs):
    """A `Figure(**kwargs)` on its own Agg canvas, outside pyplot (nothing to close)."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    fig = Figure(**kwargs)
    FigureCanvasAgg(fig)
    return fig


def save_figure(fig, path: str | os.PathLike, *, dpi: float, **savefig_kwargs) -> Path:
    """Write `fig` to `path` as PNG at `dpi` atomically, then close it; returns the path.

    `savefig_kwargs` go to `Figure.savefig` (e.g. facecolor="white", bbox_inches="tight").
    """
    path = Path(path)
    try:
        with atomic_path(path) as tmp:
            fig.savefig(tmp, format="png", dpi=dpi, **savefig_kwargs)
    finally:
        if getattr(fig.canvas, "manager", None) is not None:  # made by pyplot: release it there
            import matplotlib.pyplot as plt

            plt.close(fig)
    return path
