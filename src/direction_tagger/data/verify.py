"""Verify a labelled set or a movie against the data contract, and describe it.

`verify_labelled` / `verify_movie` return a JSON-able summary; fatal problems raise
`io.DataError` with one line naming the file, the key and the problem:
object arrays (refused from the `.npy` header, never unpickled), missing keys, images not
(N, 50, 50), an empty set, non-finite labels, labels outside the frame [-0.5, 49.5] px
(pixel centres at integers, so the frame's edges are at -0.5 and 49.5). Anything else worth
knowing is a note in the summary: N other than `expected_n` (a warning) or, with no
expectation, other than the published 98,944; duplicate frames; zero-length body segments.

`write_outputs` adds the summary JSON, a montage of sample frames with their labels, and
label-distribution plots (body length, body/head heading), each written atomically.
"""

from __future__ import annotations

import hashlib
import os
import warnings
from pathlib import Path

import numpy as np

from .. import io
from ..figures import new_figure, save_figure
from ..geometry import body_direction, head_direction
from ..io import (  # noqa: F401  (npz_headers: re-exported, verify's own check)
    FRAME_SIZE,
    KEYPOINTS,
    LABEL_BOUNDS,
    DataError,
    npz_headers,
    write_json,
)

PUBLISHED_N = 98_944  # 1,546 originals x 64 augmentations
MONTAGE_FRAMES = 32
HEADING_BINS = 36  # 10 degrees each
PLOT_FILES = {
    "body_length": "body_length.png",
    "heading": "heading.png",
    "brightness": "brightness.png",
}


# --------------------------------------------------------------------------- checks


def _row_digests(images: np.ndarray, extra: np.ndarray | None = None) -> list[bytes]:
    flat = images.reshape(len(images), -1)
    if extra is None:
        return [hashlib.blake2b(row.tobytes(), digest_size=16).digest() for row in flat]
    tail = np.ascontiguousarray(extra.reshape(len(extra), -1))
    return [
        hashlib.blake2b(row.tobytes() + t.tobytes(), digest_size=16).digest()
        for row, t in zip(flat, tail)
    ]


def _duplicates(digests: list[bytes]) -> int:
    """Frames that repeat an earlier frame exactly."""
    return len(digests) - len(set(digests))


def _histogram(values: np.ndarray, bins, range_=None) -> dict:
    counts, edges = np.histogram(values, bins=bins, range=range_)
    return {"edges": [round(float(e), 4) for e in edges], "counts": counts.astype(int).tolist()}


def _describe(values: np.ndarray) -> dict:
    q = np.percentile(values, [0, 5, 50, 95, 100])
    return {
        "min": float(q[0]),
        "p5": float(q[1]),
        "median": float(q[2]),
        "mean": float(values.mean()),
        "p95": float(q[3]),
        "max": float(q[4]),
    }


def label_stats(locs: np.ndarray) -> dict:
    """Body length |neck-base| + |head-neck| (px) and heading (degrees, 0 = +x, 90 = up)."""
    locs = np.asarray(locs, dtype=np.float64)
    back = np.linalg.norm(locs[:, 1] - locs[:, 0], axis=1)
    head = np.linalg.norm(locs[:, 2] - locs[:, 1], axis=1)
    length = back + head
    top = max(1.0, float(np.ceil(length.max())))
    per_keypoint = {
        name: {
            "x": [float(locs[:, k, 0].min()), float(locs[:, k, 0].max())],
            "y": [float(locs[:, k, 1].min()), float(locs[:, k, 1].max())],
        }
        for k, name in enumerate(KEYPOINTS)
    }
    return {
        "bounds_px": list(LABEL_BOUNDS),
        "range_px": per_keypoint,
        "body_length_px": _describe(length)
        | {"histogram": _histogram(length, int(min(2 * top, 120)), (0, top))},
        "base_neck_px": _describe(back),
        "neck_head_px": _describe(head),
        "zero_length_segments": int(((back == 0) | (head == 0)).sum()),
        "outside_frame": int(np.any([io.outside_frame(locs[:, k]) for k in range(3)], 0).sum()),
        "body_direction_deg": {
            "histogram": _histogram(body_direction(locs), HEADING_BINS, (0, 360))
        },
        "head_direction_deg": {
            "histogram": _histogram(head_direction(locs), HEADING_BINS, (0, 360))
        },
    }


def _image_stats(images: np.ndarray) -> dict:
    flat = images.reshape(len(images), -1)
    means = flat.mean(axis=1, dtype=np.float64)
    constant = int((flat.min(axis=1) == flat.max(axis=1)).sum())
    return {
        "min": int(flat.min()),
        "max": int(flat.max()),
        "mean": float(means.mean()),
        "frame_mean_range": [float(means.min()), float(means.max())],
        "constant_frames": constant,
    }


def _load(path: Path, loader):
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        data = loader(path)
    return data, [str(w.message) for w in caught]


def _verify_labelled(path, expected_n: int | None = None) -> tuple[dict, io.LabelledSet]:
    path = Path(path)
    headers = npz_headers(path)
    data, notes = _load(path, io.load_labelled)
    n = len(data)
    expected_n = expected_n or None  # 0 = no expectation (what the workflow passes for others)
    if expected_n is not None and n != expected_n:
        notes.append(
            f"WARNING: N = {n:,} frames, expected {expected_n:,}; a different version of "
            "the data? (pin its sha256 to be sure)"
        )
    elif n != PUBLISHED_N:
        notes.append(
            f"N = {n:,}, not the published set's {PUBLISHED_N:,}; fine for another labelled set"
        )
    image_digests = _row_digests(data.images)
    dup_frames = _duplicates(image_digests)
    dup_examples = _duplicates(_row_digests(data.images, data.locs)) if dup_frames else 0
    if dup_frames:
        notes.append(
            f"{dup_frames} frames repeat an earlier image exactly "
            f"({dup_examples} with the same labels too)"
        )
    labels = label_stats(data.locs)
    if labels["outside_frame"]:
        notes.append(
            f"{labels['outside_frame']} frames have a label just outside the frame (within "
            f"{io.LABEL_MARGIN_PX:g} px of its edge, e.g. from a shifted copy); kept for training"
        )
    if labels["zero_length_segments"]:
        notes.append(
            f"{labels['zero_length_segments']} frames have two keypoints at the same place"
        )
    summary = {
        "file": str(path),
        "kind": "labelled",
        "sha256": io.sha256_file(path),
        "keys": headers,
        "n_frames": n,
        "published_n": PUBLISHED_N,
        "expected_n": expected_n,
        "n_matches_expected": None if expected_n is None else n == expected_n,
        "image_size": [FRAME_SIZE, FRAME_SIZE],
        "images": _image_stats(data.images),
        "duplicates": {"frames": dup_frames, "examples": dup_examples},
        "labels": labels,
        "notes": notes,
    }
    return summary, data


def verify_labelled(path: str | os.PathLike, expected_n: int | None = None) -> dict:
    """Check a labelled `.npz` against the contract and summarise it (JSON-able dict).

    Raises DataError (one line: file, key, problem) on anything fatal. A frame count other
    than `expected_n` (None or 0: no expectation) is a warning in the notes, not an error."""
    return _verify_labelled(path, expected_n)[0]


def _verify_movie(path) -> tuple[dict, io.Movie]:
    path = Path(path)
    headers = npz_headers(path)
    movie, notes = _load(path, io.load_movie)
    if movie.locs is None and any(k.startswith("locs_") for k in headers):
        notes.append("some but not all locs_* keys present; ground truth ignored")
    digests = _row_digests(movie.images)
    repeats = sum(a == b for a, b in zip(digests, digests[1:]))
    summary = {
        "file": str(path),
        "kind": "movie",
        "sha256": io.sha256_file(path),
        "keys": headers,
        "n_frames": len(movie),
        "fps": movie.fps,
        "fps_from_file": "fps" in headers,
        "duration_s": len(movie) / movie.fps,
        "image_size": [FRAME_SIZE, FRAME_SIZE],
        "images": _image_stats(movie.images),
        "duplicates": {"frames": _duplicates(digests), "consecutive_repeats": int(repeats)},
        "ground_truth": movie.locs is not None,
        "labels": label_stats(movie.locs) if movie.locs is not None else None,
        "notes": notes,
    }
    if "fps" not in headers:
        notes.append(f"no 'fps' key; assuming {io.DEFAULT_FPS:g} fps")
    return summary, movie


def verify_movie(path: str | os.PathLike) -> dict:
    """Check a movie `.npz` (images, optional locs_* ground truth and fps) and summarise it."""
    return _verify_movie(path)[0]


# --------------------------------------------------------------------------- outputs


def plot_body_length(stats: dict, path: str | os.PathLike, title: str = "") -> Path:
    hist = stats["body_length_px"]["histogram"]
    edges, counts = np.array(hist["edges"]), np.array(hist["counts"])
    fig = new_figure(figsize=(5, 3.5), layout="constrained")
    ax = fig.add_subplot()
    ax.stairs(counts, edges, fill=True, alpha=0.8)
    ax.axvline(stats["body_length_px"]["median"], color="k", lw=1, ls="--", label="median")
    ax.set_xlabel("body length |neck−base| + |nose−neck| (px)")
    ax.set_ylabel("frames")
    ax.set_title(title or "Body length")
    ax.legend(frameon=False)
    return save_figure(fig, path, dpi=100, facecolor="white")


def plot_headings(stats: dict, path: str | os.PathLike, title: str = "") -> Path:
    """Polar histograms; 0° = right (+x), 90° = up on screen, as everywhere in the project."""
    fig = new_figure(figsize=(7.4, 3.8), layout="constrained")
    fig.get_layout_engine().set(w_pad=0.15)  # room for the 0 deg / 180 deg tick labels
    for i, (key, label) in enumerate(
        [("body_direction_deg", "body (base→neck)"), ("head_direction_deg", "head (neck→nose)")]
    ):
        hist = stats[key]["histogram"]
        edges = np.radians(hist["edges"])
        ax = fig.add_subplot(1, 2, i + 1, projection="polar")
        ax.bar(
            edges[:-1],
            hist["counts"],
            width=np.diff(edges),
            align="edge",
            alpha=0.8,
            edgecolor="white",
            linewidth=0.5,
        )
        ax.set_title(label, fontsize=10)
        ax.set_yticklabels([])
    fig.suptitle(title or "Heading distribution")
    return save_figure(fig, path, dpi=100, facecolor="white")


def plot_brightness(
    images: np.ndarray, fps: float, path: str | os.PathLike, title: str = ""
) -> Path:
    means = images.reshape(len(images), -1).mean(axis=1)
    fig = new_figure(figsize=(6, 3), layout="constrained")
    ax = fig.add_subplot()
    ax.plot(np.arange(len(means)) / fps, means, lw=0.8)
    ax.set_xlabel("time (s)")
    ax.set_ylabel("mean grey level")
    ax.set_title(title or "Frame brightness")
    return save_figure(fig, path, dpi=100, facecolor="white")


def sample_indices(n: int, k: int = MONTAGE_FRAMES, seed: int = 0) -> np.ndarray:
    """A fixed, spread-out sample of frame indices (the same every run)."""
    if n <= k:
        return np.arange(n)
    return np.sort(np.random.default_rng(seed).choice(n, size=k, replace=False))


def write_outputs(
    path: str | os.PathLike,
    summary_path,
    montage_path,
    plots_dir,
    *,
    movie: bool = False,
    expected_n: int | None = None,
) -> dict:
    """Verify `path` and write the summary JSON, the montage PNG and the plots in `plots_dir`."""
    from ..montage import save_montage

    if movie:
        summary, data = _verify_movie(path)
        fps = data.fps
    else:
        summary, data = _verify_labelled(path, expected_n)
    name = Path(path).name
    plots_dir = Path(plots_dir)
    plots_dir.mkdir(parents=True, exist_ok=True)
    plots = {}
    if summary["labels"] is not None:
        plots["body_length"] = str(
            plot_body_length(
                summary["labels"], plots_dir / PLOT_FILES["body_length"], f"Body length — {name}"
            )
        )
        plots["heading"] = str(
            plot_headings(
                summary["labels"], plots_dir / PLOT_FILES["heading"], f"Headings — {name}"
            )
        )
    if movie:
        plots["brightness"] = str(
            plot_brightness(
                data.images, fps, plots_dir / PLOT_FILES["brightness"], f"Frame brightness — {name}"
            )
        )
    idx = sample_indices(len(data.images))
    locs = data.locs[idx] if data.locs is not None else None
    save_montage(montage_path, data.images[idx], locs=locs, titles=[f"#{i}" for i in idx])  # atomic
    summary["montage"] = {"path": str(montage_path), "frames": idx.tolist()}
    summary["plots"] = plots
    write_json(summary_path, summary)
    return summary
