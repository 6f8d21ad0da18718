"""The side panel of the tagged video: body and head direction over time, scrolling past the
white "now" line, with the QC-flagged frames in a red strip; its static parts drawn once."""

from __future__ import annotations

import numpy as np

from ..geometry import angle_difference
from .colours import (
    BODY_COLOUR,
    FLAG_COLOUR,
    HEAD_COLOUR,
    NOW_AT,
    PANEL_BACKGROUND,
    TRACE_SECONDS,
)
from .draw import draw_text, glyph_atlas


class Panel:
    """Scrolling direction traces beside the frame; static parts drawn once."""

    def __init__(self, layout, fps: float, flags_any):
        H = layout.size
        px = layout.text_px
        _, cw, ch = glyph_atlas(px)
        self.height = H
        self.x0 = 4 * cw + 6
        self.x1 = H - 8
        self.plot_w = self.x1 - self.x0
        strip_h = max(6, ch // 2)
        # vertical stack: title, body plot, title, head plot, strip
        gap = ch + 6
        self.plot_h = (H - 2 * gap - 4 - 10 - strip_h - 8) // 2
        self.body_top = gap
        self.head_top = self.body_top + self.plot_h + gap + 4
        self.strip_top = self.head_top + self.plot_h + 10
        self.strip_h = strip_h
        window = max(10, int(round(TRACE_SECONDS * fps)))
        self.ppf = max(1, int(round(self.plot_w / window)))  # pixel columns per frame
        self.frames_shown = self.plot_w / self.ppf
        self.now_col = int(round(self.plot_w * NOW_AT))
        m = len(layout.body_deg)
        pad = self.plot_w + 2
        # One column value per `ppf` sub-step for the whole movie, padded with NaN either side,
        # so a frame's window is a slice. Values are rows inside the plot (0 = 360 deg at top).
        self.pad = pad
        self.body_rows = self._column_rows(layout.body_deg, pad)
        self.head_rows = self._column_rows(layout.head_deg, pad)
        flags = np.zeros(m, bool) if flags_any is None else flags_any
        self.flag_cols = np.concatenate(
            [np.zeros(pad, bool), np.repeat(flags, self.ppf), np.zeros(pad, bool)]
        )
        self.rows = np.arange(self.plot_h)[:, None]
        self.background = self._background(layout)

    def _column_rows(self, deg, pad):
        deg = np.asarray(deg, np.float64)
        m = len(deg)
        t = np.arange(m * self.ppf) / self.ppf
        i0 = np.minimum(t.astype(int), m - 1)
        i1 = np.minimum(i0 + 1, m - 1)
        w = t - i0
        step = angle_difference(deg[i1], deg[i0])
        # interpolate along the short way round; wrap into [0, 360)
        val = (deg[i0] + w * step) % 360.0
        rows = (360.0 - val) / 360.0 * (self.plot_h - 1)
        nan = np.full(pad, np.nan)
        return np.concatenate([nan, rows, nan])

    def _background(self, layout):
        H, W = self.height, self.height
        bg = np.empty((H, W, 3), np.float32)
        bg[:] = PANEL_BACKGROUND
        px = layout.text_px
        _, cw, ch = glyph_atlas(px)
        for top, title, colour in (
            (self.body_top, "body direction (deg)", BODY_COLOUR),
            (self.head_top, "head direction (deg)", HEAD_COLOUR),
        ):
            draw_text(bg, self.x0, top - ch - 3, title, colour, px, box=False)
            area = bg[top : top + self.plot_h, self.x0 : self.x1]
            area[:] = area * 0.6 + 0.4 * np.float32(12)
            for deg in (0, 90, 180, 270, 360):
                r = top + int(round((360 - deg) / 360 * (self.plot_h - 1)))
                bg[r, self.x0 : self.x1] = (70, 70, 78) if deg % 180 else (95, 95, 105)
                draw_text(
                    bg,
                    self.x0 - 4,
                    r - ch // 2,
                    str(deg),
                    (170, 170, 170),
                    px,
                    box=False,
                    anchor="right",
                )
            future = bg[top : top + self.plot_h, self.x0 + self.now_col + 1 : self.x1]
            future *= 0.7
        draw_text(
            bg,
            self.x0 - 4,
            self.strip_top + self.strip_h // 2 - ch // 2,
            "QC",
            (170, 170, 170),
            px,
            box=False,
            anchor="right",
        )
        bg[self.strip_top : self.strip_top + self.strip_h, self.x0 : self.x1] = (40, 40, 46)
        seconds = self.frames_shown / layout.fps
        draw_text(
            bg,
            self.x1,
            self.body_top - ch - 3,
            f"{seconds:.3g} s shown",
            (150, 150, 150),
            px,
            box=False,
            anchor="right",
        )
        return np.clip(bg, 0, 255).astype(np.uint8)

    def draw(self, out, frame):
        """Draw the panel for `frame` into `out` (H, H, 3) uint8."""
        out[...] = self.background
        start = self.pad + frame * self.ppf - self.now_col
        cols = slice(start, start + self.plot_w)
        for top, rows, colour in (
            (self.body_top, self.body_rows, BODY_COLOUR),
            (self.head_top, self.head_rows, HEAD_COLOUR),
        ):
            y = rows[cols]
            prev = rows[start - 1 : start - 1 + self.plot_w]
            # join consecutive columns with a vertical run, except across the 0/360 wrap
            joined = np.isfinite(prev) & (np.abs(prev - y) < self.plot_h / 2)
            lo = np.where(joined, np.minimum(prev, y), y) - 1.0
            hi = np.where(joined, np.maximum(prev, y), y) + 1.0
            mask = (self.rows >= np.floor(lo)) & (self.rows <= np.ceil(hi))  # NaN -> False
            area = out[top : top + self.plot_h, self.x0 : self.x1]
            area[mask] = colour
            yn = y[self.now_col]
            if np.isfinite(yn):
                r0 = top + int(round(yn))
                c0 = self.x0 + self.now_col
                out[max(r0 - 3, top) : r0 + 4, c0 - 3 : c0 + 4] = colour  # the current value
        for top in (self.body_top, self.head_top):
            out[top : top + self.plot_h, self.x0 + self.now_col] = (255, 255, 255)
        flagged = self.flag_cols[cols]
        strip = out[self.strip_top : self.strip_top + self.strip_h, self.x0 : self.x1]
        strip[:, flagged] = FLAG_COLOUR
        strip[:, self.now_col] = (255, 255, 255)
