"""The movie chain a chunk at a time: memory bounded by the chunk, whatever the movie's length.

- `predict_file`: frames are read `chunk` at a time (movie_store), predicted, and their rows
  written at once; a row's speed needs the frames either side, so each chunk's last row waits
  for the next chunk's first prediction.
- `smooth_file`: two passes over the raw table. The first reads only positions, confidences
  and spreads and keeps what head/tail polarity needs for the whole movie (a few bytes a
  frame: polarity.py's costs and states). The second cleans the table a chunk at a time, each
  chunk read with `chunk_overlap` rows of context either side (more than the smoother, the
  outlier test, gap filling and the QC flags look across), and writes only the chunk's own
  rows. The QC summary is made from per-frame values kept over the pass (flags, steps,
  jitter: about 100 bytes a frame).

Both give exactly the tables and summary of the whole-movie path (postprocess.smooth_and_check,
Predictor.predict on every frame): the same arithmetic on the same numbers (tests compare them
byte for byte on movies many chunks long).
"""

from __future__ import annotations

import numpy as np
from tqdm import tqdm

from ..io import KEYPOINTS
from .evidence import (
    tail_votes,
    travel_votes,
    trusted_frames,
    vote_weights,
    weighted_votes,
)
from .polarity import polarity_certainty, polarity_costs, viterbi_states
from .postprocess import (
    calibrated_confidence,
    calibrated_risk,
    clean_frames,
    model_answer,
    movie_familiarity,
    movie_summary,
    network_accuracy,
    root_summary,
)
from .tables import dlc_writer, iter_table, movie_table, table_writer
from .tail_base import fit_root_estimate, rump_offsets

DEFAULT_CHUNK = 16_384  # table rows (~8 MB of table)
# frames predicted per chunk: 10 MB of frames (16,384 took predict's peak 34 MB higher, no faster)
PREDICT_CHUNK = 4096


def _predict_chunks(predictor, movie, tta, batch_size, chunk, progress):
    """(first frame, Predictions) per chunk of frames; chunks hold whole batches, so every
    batch is the one the whole-movie path would run."""
    chunk = max(batch_size, chunk // batch_size * batch_size)
    bar = tqdm(
        total=len(movie), desc="predicting", unit="frame", disable=not progress, mininterval=2.0
    )
    with bar:
        for start, frames in movie.chunks(chunk):
            yield start, predictor.predict(frames, tta=tta, batch_size=batch_size)
            bar.update(len(frames))


def predict_file(
    predictor,
    movie,
    out,
    tta=False,
    batch_size: int = 1024,
    chunk: int = PREDICT_CHUNK,
    progress: bool = False,
):
    """Predict every frame of `movie` (a movie_store.MovieFrames) and write the raw tidy table
    to `out` (atomically) as it goes. Returns (locs, confidence) of the whole movie when it
    carries ground truth (for its metrics: 36 bytes a frame), else None."""
    # TTA (2 transforms or more) gives a spread column; the same rule as tta_transforms, which
    # lives beside torch (smoothing must not need it)
    truth, with_spread = movie.locs, (8 if tta is True else int(tta or 0)) > 1
    kept = [] if truth is not None else None

    def rows(parts, first, n):
        """Rows [first, first + n) of the concatenated (start, Predictions) parts."""
        start = parts[0][0]
        stop = start + sum(len(p) for _, p in parts)
        table = movie_table(
            np.concatenate([p.locs for _, p in parts]),
            np.concatenate([p.confidence for _, p in parts]),
            np.concatenate([p.spread for _, p in parts]) if with_spread else None,
            movie.fps,
            truth_locs=None if truth is None else truth[start:stop],
            first_frame=start,
        )
        return table.iloc[first : first + n]

    with table_writer(out) as write:
        before = cur = None  # the last row already written; the chunk waiting for its next row
        for start, pred in _predict_chunks(predictor, movie, tta, batch_size, chunk, progress):
            if kept is not None:
                kept.append((pred.locs, pred.confidence))
            if cur is not None:
                parts = [p for p in (before, cur, (start, pred[:1])) if p is not None]
                write(rows(parts, int(before is not None), len(cur[1])))
                before = (start - 1, cur[1][-1:])
            cur = (start, pred)
        parts = [p for p in (before, cur) if p is not None]
        write(rows(parts, int(before is not None), len(cur[1])))
    if kept is None:
        return None
    return np.concatenate([k[0] for k in kept]), np.concatenate([k[1] for k in kept])


# --------------------------------------------------------------------------- smoothing


def chunk_overlap(smoothing: dict) -> int:
    """Rows of context each side of a chunk so that its own rows come out as on the whole
    movie: the outlier test's half window, gap filling (max_gap + 1), the filter's window
    (a run cut by the chunk's edge must stay longer than it), QC's two-frame lags, the speed's
    central difference, and a margin."""
    window = int(smoothing.get("window", 7)) + 1
    return 2 * window + int(smoothing.get("max_gap", 5)) + 8


def _raw_columns(columns) -> list[str]:
    """The columns pass 1 reads: what `model_answer` needs (the raw positions are the *_raw
    columns in a smoothed table), frame and time."""
    suffix = "_raw" if all(f"{k}_x_raw" in columns for k in KEYPOINTS) else ""
    wanted = ["frame", "time_s", "polarity_exchanged"]  # each read only where the table has it
    for k in KEYPOINTS:
        wanted += [f"{k}_x{suffix}", f"{k}_y{suffix}", f"{k}_confidence", f"{k}_spread_px"]
    return wanted


def _polarity_pass(path, rows, calibration, polarity, evidence=None, checks=None):
    """Pass 1: (M, fps from frame/time, polarity states (M,) bool, their certainty (M,), the
    tail roots' tail-base estimate (tail_base.py) or None, the movie's familiarity
    (postprocess.movie_familiarity) or None).
    The evidence's votes are kept (2 bytes a frame) and weighed once the whole movie has
    measured the travel vote's accuracy (as postprocess.evidence_log_odds does)."""
    from .tables import table_columns

    wanted = _raw_columns(table_columns(path))
    unary, straight, crossed, tail, travel, trusted, offsets = [], [], [], [], [], [], []
    confidences, p3s = [], []  # the whole movie's, for its familiarity
    last = None
    first_row = last_row = None
    m = 0
    for chunk in iter_table(path, rows, wanted):
        if first_row is None:
            first_row = chunk.iloc[0][["frame", "time_s"]].to_numpy(np.float64)
        last_row = chunk.iloc[-1][["frame", "time_s"]].to_numpy(np.float64)
        m += len(chunk)
        locs, confidence, spread = model_answer(chunk)
        p2, p3 = calibrated_confidence(calibration, confidence, spread)
        confidences.append(confidence)
        p3s.append(p3)
        own = None if evidence is None else evidence.rows(m - len(chunk), m)
        if own is not None and p3 is not None:
            offsets.append(rump_offsets(locs, p3, own.tail_root))
        if not polarity:
            continue
        if own is not None:
            tail.append(tail_votes(locs, own.tail_root))
            travel.append(travel_votes(locs, own.travel))
            trusted.append(trusted_frames(p2))
        if last is not None:  # the previous chunk's last row, for the move into this chunk
            locs, p2 = np.concatenate([last[0], locs]), np.concatenate([last[1], p2])
        u, s, c = polarity_costs(locs, p2, network_accuracy=network_accuracy(calibration))
        unary.append(u if last is None else u[1:])  # the context row's was counted before
        straight.append(s)
        crossed.append(c)
        last = locs[-1:], p2[-1:]
    fps = _fps(first_row, last_row, m)
    estimate = fit_root_estimate(np.concatenate(offsets)) if offsets else None
    familiar = movie_familiarity(
        np.concatenate(confidences),
        None if calibration is None else np.concatenate(p3s),
        calibration,
        checks or {},
    )
    if not polarity:
        return m, fps, np.zeros(m, bool), np.ones(m), estimate, familiar
    unary = np.concatenate(unary)
    if evidence is not None:
        tail, travel = np.concatenate(tail), np.concatenate(travel)
        weights = vote_weights(
            tail,
            travel,
            network_accuracy(calibration),
            evidence.tail_accuracy,
            np.concatenate(trusted),
        )
        unary = unary + weighted_votes(tail, travel, weights)  # as exchange_log_odds
    costs = unary, np.concatenate(straight), np.concatenate(crossed)
    states = viterbi_states(*costs)
    return m, fps, states, polarity_certainty(*costs, states), estimate, familiar


def _fps(first_row, last_row, m):
    from ..io import DEFAULT_FPS

    (f0, t0), (f1, t1) = first_row, last_row
    if m < 2 or t1 == t0:
        return float(DEFAULT_FPS)
    return float(round((f1 - f0) / (t1 - t0), 3))


def _overlapping(path, rows, overlap):
    """(table of a chunk with up to `overlap` rows of context either side, index of its first
    own row, number of own rows) for consecutive chunks of `rows` rows."""
    import pandas as pd

    from .tables import our_column, table_columns

    # only our own columns are parsed: a table with a million columns added in a
    # spreadsheet is cleaned as fast as ours (the cleaned table never carried them)
    wanted = [c for c in table_columns(path) if our_column(c)]
    before = None  # the last `overlap` rows already handed out as own rows
    pending = None  # own rows waiting for their context after
    for chunk in iter_table(path, max(rows, overlap), wanted):
        if pending is not None:
            parts = [p for p in (before, pending, chunk.iloc[:overlap]) if p is not None]
            n_before = 0 if before is None else len(before)
            yield pd.concat(parts, ignore_index=True), n_before, len(pending)
            before = pending.iloc[-overlap:]
        pending = chunk
    n_before = 0 if before is None else len(before)
    parts = [p for p in (before, pending) if p is not None]
    yield pd.concat(parts, ignore_index=True), n_before, len(pending)


def smooth_file(
    path,
    out,
    smoothing: dict,
    checks: dict,
    reference: dict | None = None,
    fps: float | None = None,
    calibration: dict | None = None,
    polarity: bool = True,
    *,
    evidence=None,
    dlc_path=None,
    rows: int = DEFAULT_CHUNK,
    progress: bool = False,
) -> dict:
    """Clean a raw (or already smoothed) tidy table at `path` into `out` (and the DLC CSV at
    `dlc_path`) `rows` rows at a time; returns the QC summary. Arguments and results are
    those of postprocess.smooth_and_check, the same to the last digit."""
    m, table_fps, states, certainty, estimate, familiar = _polarity_pass(
        path, rows, calibration, polarity, evidence, checks
    )
    fps = fps or table_fps
    overlap = chunk_overlap(smoothing)
    kept = {
        "flags": [],
        "step": [],
        "jitter": [],
        "shift": [],
        "p3": [],
    }
    counts = {"kept_raw": 0, "missing": 0, "from_root": 0}
    calibrated = calibration is not None
    # shown only when it takes a while (delay): a short movie prints its one line only
    bar = tqdm(total=m, desc="smoothing", unit="frame", disable=not progress, delay=2.0)
    start = 0  # movie row of the chunk's first own row
    with table_writer(out) as write, dlc_writer(dlc_path) as write_dlc, bar:
        for table, first, n in _overlapping(path, rows, overlap):
            lo = start - first
            here = slice(lo, lo + len(table))
            c = clean_frames(
                table,
                smoothing,
                checks,
                reference,
                fps,
                calibration,
                states[here],
                certainty[here],
                evidence=None if evidence is None else evidence.rows(here.start, here.stop),
                root_estimate=estimate,
                familiar=familiar,
            )
            own = slice(first, first + n)
            write(c.table(own, first_frame=lo))
            write_dlc(c.shown[own], c.p2[own], start)
            # per-frame values for the summary; a row's step looks one row ahead and its
            # jitter one either side, which the context holds except at the movie's ends
            rows_of = np.arange(start, start + n)
            at = np.arange(first, first + n)
            step = at[rows_of + 1 < m]
            inner = at[(rows_of >= 1) & (rows_of + 1 < m)]
            locs = c.locs
            kept["step"].append(np.linalg.norm(locs[step + 1] - locs[step], axis=-1))
            kept["jitter"].append(
                np.linalg.norm(locs[inner] - (locs[inner - 1] + locs[inner + 1]) / 2, axis=-1)
            )
            kept["shift"].append(np.linalg.norm(c.shown[own] - locs[own], axis=-1))
            kept["flags"].append({k: v[own] for k, v in c.flags.items()})
            if c.p3 is not None:
                kept["p3"].append(c.p3[own])
            counts["kept_raw"] += int(c.kept_raw[own].sum())
            if c.from_root is not None:
                counts["from_root"] += int(c.from_root[own].sum())
            counts["missing"] += int((~np.isfinite(c.shown[own]).all(axis=(1, 2))).sum())
            start += n
            bar.update(n)
    flags = {k: np.concatenate([f[k] for f in kept["flags"]]) for k in kept["flags"][0]}
    motion = {k: np.concatenate(kept[k]) for k in ("step", "jitter", "shift")}
    p3 = np.concatenate(kept["p3"]) if calibrated else None
    return movie_summary(
        flags,
        m,
        fps,
        motion,
        smoothing | checks | {"polarity": polarity},
        calibrated,
        states,
        certainty,
        calibrated_risk(p3, familiar),
        counts["kept_raw"],
        counts["missing"],
        root_summary(estimate, counts["from_root"]),
        familiar,
    )
