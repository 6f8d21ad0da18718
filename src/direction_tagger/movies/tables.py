"""Per-frame tables of a movie's predictions: the tidy CSV and the DeepLabCut-style CSV.

Tidy table (`movie_table`, one row per frame; positions (x, y) px, x = column, y = row,
origin top-left; angles degrees in [0, 360), 0 = right, 90 = up):

    frame, time_s,
    base_x, base_y, base_confidence, [base_spread_px],      (tail base)
    neck_x, neck_y, neck_confidence, [neck_spread_px],
    head_x, head_y, head_confidence, [head_spread_px],      (nose)
    body_direction_deg       tail base -> neck
    head_direction_deg       neck -> nose
    head_relative_deg        head minus body, [-180, 180), positive = turned counter-clockwise
    body_length_px           |base->neck| + |neck->nose|
    speed_px_s               speed of the body centre (mean of tail base and neck), central
                             differences
    [<column>_raw ...]       with `raw_locs` (the smoothed table keeps the raw predictions):
                             base_x_raw, base_y_raw, ..., head_y_raw, body_direction_deg_raw,
                             head_direction_deg_raw, head_relative_deg_raw
    [<column>_true ...]      with `truth_locs` (synthetic movies): same names with _true
    [polarity_exchanged]     the smoothed table: tail base and nose exchanged on this frame
                             (movies/polarity.py); the raw columns keep the model's answer
    [<kp>_kept_raw]          the smoothed table: the smoother left a gap here, so the main
                             columns show the raw prediction (flagged qc_gap)
    [<kp>_p_within_2px]      with a calibration: P(this point is within 2 px of the truth)
    [qc_<flag> ..., qc_any]  with `flags` (see qc.py): booleans

Spread columns appear when `spread` is given and not all NaN. Missing values are empty cells.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path

import numpy as np
import pandas as pd

from ..geometry import angle_difference, body_direction, head_direction
from ..io import DEFAULT_FPS, KEYPOINT_NAMES, KEYPOINTS, DataError, atomic_path
from .columns import REQUIRED_COLUMNS, check_last_row, table_columns

FLOAT_FORMAT = "%.6f"
DLC_BODYPARTS = tuple(KEYPOINT_NAMES[k].replace(" ", "_") for k in KEYPOINTS)  # tail_base, ...


def _as_locs(locs, m: int | None, what: str) -> np.ndarray:
    locs = np.asarray(locs, dtype=np.float64)
    wrong_length = m is not None and len(locs) != m
    if locs.ndim != 3 or locs.shape[1:] != (len(KEYPOINTS), 2) or wrong_length:
        expected = f"({m if m is not None else 'M'}, {len(KEYPOINTS)}, 2)"
        raise ValueError(f"{what} have shape {locs.shape}; expected {expected}")
    return locs


def _geometry_columns(locs: np.ndarray, suffix: str = "") -> dict[str, np.ndarray]:
    body = body_direction(locs)
    head = head_direction(locs)
    return {
        f"body_direction_deg{suffix}": body,
        f"head_direction_deg{suffix}": head,
        f"head_relative_deg{suffix}": angle_difference(head, body),
    }


def _position_columns(locs: np.ndarray, suffix: str) -> dict[str, np.ndarray]:
    cols = {}
    for k, name in enumerate(KEYPOINTS):
        cols[f"{name}_x{suffix}"] = locs[:, k, 0]
        cols[f"{name}_y{suffix}"] = locs[:, k, 1]
    return cols


def movie_table(
    locs,
    confidence,
    spread=None,
    fps: float = DEFAULT_FPS,
    flags: dict[str, np.ndarray] | None = None,
    *,
    raw_locs=None,
    truth_locs=None,
    extra: dict[str, np.ndarray] | None = None,
    first_frame: int = 0,
) -> pd.DataFrame:
    """Tidy per-frame table of a movie's predictions (columns in the module docstring).

    locs: (M, 3, 2) px in KEYPOINTS order (tail base, neck, nose), NaN allowed; confidence:
    (M, 3) in [0, 1]; spread: (M, 3) px or None; fps: frames per second; flags: {name: (M,)
    bool} from `qc.qc_flags` (names may already carry the qc_ prefix); raw_locs / truth_locs:
    optional (M, 3, 2) written as *_raw / *_true columns; extra: more (M,) columns, written
    before the flags; first_frame: the movie frame of the first row (a chunk of a movie; its
    first and last rows' speed needs the neighbouring frames: give one more row each side
    and drop them).
    """
    locs = _as_locs(locs, None, "locs")
    m = len(locs)
    confidence = np.asarray(confidence, dtype=np.float64)
    if confidence.shape != (m, len(KEYPOINTS)):
        raise ValueError(f"confidence has shape {confidence.shape}; expected ({m}, 3)")
    fps = float(fps)
    if not np.isfinite(fps) or fps <= 0:
        raise ValueError(f"fps is {fps}; expected a positive number")
    if spread is not None:
        spread = np.asarray(spread, dtype=np.float64)
        if spread.shape != (m, len(KEYPOINTS)):
            raise ValueError(f"spread has shape {spread.shape}; expected ({m}, 3)")
        if np.isnan(spread).all():
            spread = None

    frame = np.arange(first_frame, first_frame + m)
    cols: dict[str, np.ndarray] = {"frame": frame, "time_s": frame / fps}
    for k, name in enumerate(KEYPOINTS):
        cols[f"{name}_x"] = locs[:, k, 0]
        cols[f"{name}_y"] = locs[:, k, 1]
        cols[f"{name}_confidence"] = confidence[:, k]
        if spread is not None:
            cols[f"{name}_spread_px"] = spread[:, k]
    cols |= _geometry_columns(locs)
    cols["body_length_px"] = np.linalg.norm(locs[:, 1] - locs[:, 0], axis=-1) + np.linalg.norm(
        locs[:, 2] - locs[:, 1], axis=-1
    )
    centre = (locs[:, 0] + locs[:, 1]) / 2
    if m > 1:
        velocity = np.gradient(centre, axis=0) * fps  # px/s, central differences
        cols["speed_px_s"] = np.linalg.norm(velocity, axis=-1)
    else:
        cols["speed_px_s"] = np.full(m, np.nan)
    for other, suffix in ((raw_locs, "_raw"), (truth_locs, "_true")):
        if other is not None:
            other = _as_locs(other, m, f"{suffix[1:]} locs")
            cols |= _position_columns(other, suffix) | _geometry_columns(other, suffix)
    for name, values in (extra or {}).items():
        values = np.asarray(values)
        if values.shape != (m,):
            raise ValueError(f"column '{name}' has shape {values.shape}; expected ({m},)")
        cols[name] = values
    if flags is not None:
        any_flag = np.zeros(m, bool)
        for name, flag in flags.items():
            flag = np.asarray(flag, bool)
            if flag.shape != (m,):
                raise ValueError(f"flag '{name}' has shape {flag.shape}; expected ({m},)")
            short = name.removeprefix("qc_")
            if short == "any":
                continue
            cols[f"qc_{short}"] = flag
            any_flag |= flag
        cols["qc_any"] = any_flag
    return pd.DataFrame(cols)


def write_table(path: str | os.PathLike, table: pd.DataFrame) -> Path:
    """Write a tidy table as CSV, atomically."""
    with atomic_path(path) as tmp:
        table.to_csv(tmp, index=False, float_format=FLOAT_FORMAT)
    return Path(path)


@contextlib.contextmanager
def table_writer(path: str | os.PathLike):
    """Write a tidy table chunk by chunk: yields `write(chunk)`; the header is written once and
    every chunk must have the same columns. Atomic: the file appears under `path` only when
    the block ends without error (rows are written as they come, never held)."""
    columns: list[str] = []
    with atomic_path(path) as tmp, open(tmp, "w", newline="") as f:

        def write(table: pd.DataFrame) -> None:
            first = not columns
            if first:
                columns.extend(table.columns)
            elif list(table.columns) != columns:
                raise ValueError(f"chunk columns {list(table.columns)}; expected {columns}")
            table.to_csv(f, index=False, header=first, float_format=FLOAT_FORMAT)

        yield write


Wanted = Sequence[str] | Callable[[str], bool] | None
_OURS = ("frame", "time_s", "speed_", "polarity_", "body_", "qc_", "tail_root_", "crop_")


def our_column(name: str) -> bool:
    """A column this package writes (a `read_table` `wanted`): the rest of a table a user
    widened in a spreadsheet is never parsed."""
    return name.startswith(_OURS + tuple(f"{k}_" for k in KEYPOINTS))


def read_table(path: str | os.PathLike, wanted: Wanted = None) -> pd.DataFrame:
    """Read a tidy predictions CSV (as written by `write_table`); DataError when it is not one.
    `wanted`: the columns to read (names, or a test of a name) besides the required ones;
    the rest are never parsed. Every cell read must be a number, empty or True / False."""
    path = Path(path)
    header = table_columns(path)
    check_last_row(path)
    try:
        table = pd.read_csv(path, usecols=_selection(header, wanted), low_memory=False)
    except (pd.errors.ParserError, pd.errors.EmptyDataError, UnicodeDecodeError) as err:
        raise DataError(f"{path}: not a readable CSV table ({str(err).splitlines()[0]})") from None
    if table.empty:
        raise DataError(f"{path}: holds no frames; expected at least one row")
    return require_numbers(table, path)


def require_numbers(table: pd.DataFrame, path, first_row: int = 0) -> pd.DataFrame:
    """The table, when every cell is a number, empty, or True / False; else DataError naming
    the first bad cell's row (1 = the first row after the header) and column -- a formula or
    a word in a numeric cell is the user's edit, not a number to guess."""
    for column in table.columns:
        values = table[column]
        if pd.api.types.is_numeric_dtype(values) or pd.api.types.is_bool_dtype(values):
            continue
        text = values.astype(str).str.strip()
        numbers = pd.to_numeric(text.where(~text.isin(("True", "False"))), errors="coerce")
        bad = values.notna() & numbers.isna() & ~text.isin(("True", "False", ""))
        if bad.any():
            row = int(np.flatnonzero(bad.to_numpy())[0])
            raise DataError(
                f"{path}: row {first_row + row + 1}, column '{column}': "
                f"{str(values.iloc[row])[:40]!r} is not a number"
            )
        if text.isin(("True", "False")).any():
            table[column] = text.map({"True": True, "False": False}).astype("boolean")
        else:
            table[column] = numbers
    return table


def _selection(header: list[str], wanted: Wanted) -> list[str] | None:
    """The columns to parse: the required ones and the wanted ones, in the file's order."""
    if wanted is None:
        return None
    keep = wanted if callable(wanted) else set(wanted).__contains__
    return [c for c in header if c in REQUIRED_COLUMNS or keep(c)]


def iter_table(
    path: str | os.PathLike, rows: int, columns: Sequence[str] | None = None
) -> Iterator[pd.DataFrame]:
    """A tidy predictions CSV `rows` rows at a time (only `columns` when given: the rest is
    never parsed), checked like `read_table` (missing columns, a file cut short, non-numeric
    required columns, no rows): memory bounded by `rows`, whatever the table's length."""
    path = Path(path)
    header = table_columns(path)
    check_last_row(path)
    wanted = None if columns is None else [c for c in header if c in set(columns)]
    empty, first_row = True, 0
    try:
        for chunk in pd.read_csv(path, chunksize=rows, usecols=wanted, low_memory=False):
            if chunk.empty:
                continue
            chunk = require_numbers(chunk, path, first_row)
            first_row += len(chunk)
            empty = False
            yield chunk
    except (pd.errors.ParserError, UnicodeDecodeError) as err:
        raise DataError(f"{path}: not a readable CSV table ({str(err).splitlines()[0]})") from None
    if empty:
        raise DataError(f"{path}: holds no frames; expected at least one row")


def table_fps(table: pd.DataFrame, default: float = DEFAULT_FPS) -> float:
    """Frames per second implied by the frame and time_s columns (`default` for one frame)."""
    frame = table["frame"].to_numpy(np.float64)
    time = table["time_s"].to_numpy(np.float64)
    if len(frame) < 2 or time[-1] == time[0]:
        return float(default)
    return float(round((frame[-1] - frame[0]) / (time[-1] - time[0]), 3))


def table_locs(table: pd.DataFrame, suffix: str = "") -> np.ndarray | None:
    """(M, 3, 2) positions from a tidy table (suffix "", "_raw" or "_true"); None if absent."""
    names = [(f"{k}_x{suffix}", f"{k}_y{suffix}") for k in KEYPOINTS]
    if not all(x in table.columns and y in table.columns for x, y in names):
        return None
    return np.stack([table[[x, y]].to_numpy(np.float64) for x, y in names], axis=1)


def table_values(table: pd.DataFrame, suffix: str) -> np.ndarray | None:
    """(M, 3) float of the per-keypoint columns `<kp><suffix>`; None if absent."""
    cols = [f"{k}{suffix}" for k in KEYPOINTS]
    if not all(c in table.columns for c in cols):
        return None
    return table[cols].to_numpy(np.float64)


def table_bool(table: pd.DataFrame, suffix: str) -> np.ndarray | None:
    """(M, 3) bool of the per-keypoint columns `<kp><suffix>` (e.g. _kept_raw); None if absent."""
    values = table_values(table, suffix)
    return None if values is None else np.nan_to_num(values, nan=0.0).astype(bool)


def table_confidence(table: pd.DataFrame) -> np.ndarray:
    return table_values(table, "_confidence")  # a required column: read_table checks it


def table_spread(table: pd.DataFrame) -> np.ndarray | None:
    return table_values(table, "_spread_px")


def shown_confidence(table: pd.DataFrame) -> tuple[np.ndarray, np.ndarray | None]:
    """What a tagged video shows of each point (M, 3): the calibrated P(within 2 px) when the
    table has it, else the confidence; and which points are doubtful, drawn hollow (calibrated
    below 0.5, or the raw prediction kept where smoothing left a gap; None if neither is known)."""
    calibrated = table_values(table, "_p_within_2px")
    hollow = table_bool(table, "_kept_raw")
    if calibrated is None:
        return table_confidence(table), hollow
    doubtful = ~(calibrated >= 0.5)
    return calibrated, doubtful if hollow is None else hollow | doubtful


def table_flags(table: pd.DataFrame) -> dict[str, np.ndarray]:
    """{name: (M,) bool} from the qc_* columns (without qc_any); empty when there are none."""
    return {
        c.removeprefix("qc_"): table[c].fillna(False).to_numpy(bool)
        for c in table.columns
        if c.startswith("qc_") and c != "qc_any"
    }


def _dlc_frame(locs, confidence, scorer: str, first_frame: int = 0) -> pd.DataFrame:
    locs = _as_locs(locs, None, "locs")
    m = len(locs)
    confidence = np.asarray(confidence, dtype=np.float64)
    if confidence.shape != (m, len(KEYPOINTS)):
        raise ValueError(f"confidence has shape {confidence.shape}; expected ({m}, 3)")
    columns = pd.MultiIndex.from_product(
        [[scorer], DLC_BODYPARTS, ["x", "y", "likelihood"]], names=["scorer", "bodyparts", "coords"]
    )
    values = np.concatenate([locs, confidence[..., None]], axis=2).reshape(m, -1)
    return pd.DataFrame(values, columns=columns, index=pd.RangeIndex(first_frame, first_frame + m))


@contextlib.contextmanager
def dlc_writer(path: str | os.PathLike | None, scorer: str = "direction-tagger"):
    """`write_dlc_csv` chunk by chunk: yields `write(locs, confidence, first_frame)`; the
    header rows are written once. Atomic. With `path` None, `write` does nothing."""
    if path is None:
        yield lambda *args: None
        return
    started = []
    with atomic_path(path) as tmp, open(tmp, "w", newline="") as f:

        def write(locs, confidence, first_frame: int = 0) -> None:
            frame = _dlc_frame(locs, confidence, scorer, first_frame)
            frame.to_csv(f, header=not started, float_format=FLOAT_FORMAT)
            started.append(True)

        yield write


def write_dlc_csv(
    path: str | os.PathLike, locs, confidence, scorer: str = "direction-tagger"
) -> Path:
    """Write predictions in DeepLabCut's CSV layout, atomically.

    Three header rows -- scorer / bodyparts / coords -- then one row per frame, indexed by
    frame number. Body parts are named **tail_base, neck, nose** (our base, neck, head), each
    with x, y (px, x = column, y = row, origin top-left) and likelihood (the calibrated
    P(error <= 2 px) when the model is calibrated, else its confidence).
    Read it back with ``pandas.read_csv(path, header=[0, 1, 2], index_col=0)``.
    """
    with dlc_writer(path, scorer) as write:
        write(locs, confidence)
    return Path(path)
