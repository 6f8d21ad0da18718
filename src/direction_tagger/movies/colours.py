"""The tagged video's colours (RGB uint8 triples), fixed so a lab can learn them once (see
render.py's docstring for what each one marks)."""

from __future__ import annotations

import colorsys

import numpy as np

# RGB colours (uint8 triples), see the module docstring.
KEYPOINT_COLOURS = {"base": (60, 130, 255), "neck": (250, 250, 250), "head": (255, 60, 210)}
BODY_COLOUR = (255, 160, 20)
HEAD_COLOUR = (0, 225, 225)
FLAG_COLOUR = (235, 35, 35)
PANEL_BACKGROUND = (22, 22, 28)
TRACE_SECONDS = 6.0  # width of the side panel's time window
NOW_AT = 0.75  # where the "now" line sits across the panel (past on the left)


def confidence_colour(confidence) -> np.ndarray:
    """RGB uint8 for a confidence in [0, 1]: red (0) -> yellow (0.5) -> green (1); NaN = red."""
    c = np.clip(np.nan_to_num(np.asarray(confidence, dtype=np.float64), nan=0.0), 0.0, 1.0)
    hue = c * (1.0 / 3.0)  # 0 = red, 1/3 = green
    flat = np.array([colorsys.hsv_to_rgb(h, 0.9, 1.0) for h in hue.reshape(-1)])
    return (flat.reshape(*c.shape, 3) * 255 + 0.5).astype(np.uint8)
