"""Leak-free train / validation / test splits: whole groups go to one side.

A group is everything that must not be seen on two sides: the 64 augmented copies of one
original (from `recover_originals`, or the `original_index` our `augment` writes), or, for
users' own data, a video or an animal. Splitting augmented frames at random instead puts copies
of one original on both sides and makes validation error look better than it is.

The split file is JSON: the frame indices of each part, the rule in words, counts, and
whatever provenance the caller adds (data checksum, group source). Evaluation reads it with
`load_split`.
"""

from __future__ import annotations

import os
import re

import numpy as np

from ..io import DataError, open_npz, read_json, read_key, write_json

SPLIT_FORMAT = "direction-tagger split v1"


def parse_fractions(text: str, names=("train", "val", "test")) -> dict[str, float]:
    """'0.8,0.1,0.1' -> {'train': 0.8, 'val': 0.1, 'test': 0.1}; 'train=0.9,test=0.1' also works."""
    parts = [p.strip() for p in str(text).split(",") if p.strip()]
    if parts and all("=" in p for p in parts):
        out = {k.strip(): float(v) for k, v in (p.split("=", 1) for p in parts)}
    else:
        if len(parts) != len(names):
            raise ValueError(
                f"fractions '{text}': expected {len(names)} numbers for {', '.join(names)}"
            )
        out = dict(zip(names, (float(p) for p in parts)))
    return out


def _normalise(fractions: dict[str, float]) -> dict[str, float]:
    if not fractions:
        raise ValueError("fractions: need at least one part")
    values = np.array([float(v) for v in fractions.values()])
    if not np.isfinite(values).all() or (values < 0).any() or values.sum() <= 0:
        raise ValueError(f"fractions must be >= 0 with a positive sum, got {fractions}")
    if abs(values.sum() - 1.0) > 1e-6:
        raise ValueError(f"fractions must sum to 1, got {fractions} (sum {values.sum():.6g})")
    return {k: float(v) for k, v in zip(fractions, values)}


def split_by_group(groups, fractions: dict[str, float], seed: int) -> dict[str, np.ndarray]:
    """Assign whole groups to parts so that each part's share of *frames* is close to its
    fraction: no group is on two sides, and for three parts every part's frame count is within
    one (largest) group's size of fraction x N.

    groups: (N,) group label of every frame (ints or strings). fractions: {part: fraction},
    summing to 1, in the order parts are named. The groups are shuffled with `seed`; each in
    turn goes to the part furthest below its target. Returns {part: sorted frame indices}.
    """
    groups = np.asarray(groups)
    if groups.ndim != 1:
        raise ValueError(f"groups must be one label per frame, got shape {groups.shape}")
    fractions = _normalise(fractions)
    names = list(fractions)
    n = len(groups)
    _, inverse, counts = np.unique(groups, return_inverse=True, return_counts=True)
    order = np.random.default_rng(seed).permutation(len(counts))
    target = np.array([fractions[k] for k in names]) * n
    filled = np.zeros(len(names))
    part_of_group = np.empty(len(counts), dtype=np.int64)
    for gi in order:
        p = int(np.argmax(target - filled))  # ties: the earlier-named part
        part_of_group[gi] = p
        filled[p] += counts[gi]
    part = part_of_group[inverse]
    return {name: np.flatnonzero(part == i) for i, name in enumerate(names)}


def natural_key(name: str) -> tuple:
    """'img10.png' after 'img9.png': digit runs compare as numbers (DLC names frames so)."""
    return tuple((0, int(t), "") if t.isdigit() else (1, 0, t) for t in re.split(r"(\d+)", name))


def contiguous_blocks(groups, blocks_per_group: int, names=None) -> np.ndarray:
    """(N,) block label of every frame: each group's frames, ordered by `names` (natural
    order, e.g. DLC's img0042.png) or else by frame index, cut into `blocks_per_group` runs of
    near-equal length (fewer when the group has fewer frames). Labels are "<group>#<k>".

    Neighbouring frames of a recording are near-duplicates; keeping runs together keeps most
    of them on one side when the split has to cut through a recording."""
    groups = np.asarray(groups)
    labels = np.empty(len(groups), dtype=object)
    for g in np.unique(groups):
        idx = np.flatnonzero(groups == g)
        if names is not None:
            idx = idx[sorted(range(len(idx)), key=lambda i: (natural_key(str(names[idx[i]])), i))]
        k = min(blocks_per_group, len(idx))
        for b, run in enumerate(np.array_split(idx, k)):
            labels[run] = f"{g}#{b}"
    return labels.astype(str)


def blocks_needed(fractions: dict[str, float]) -> int:
    """Blocks per group for the fallback: enough that the smallest non-empty part can get a
    whole block near its share (10 for 0.8 / 0.1 / 0.1)."""
    smallest = min(v for v in _normalise(fractions).values() if v > 0)
    return int(np.ceil(1 / smallest - 1e-9))


def split_with_fallback(groups, fractions: dict[str, float], seed: int, names=None):
    """`split_by_group`, unless that leaves a part with a share above 0 empty (one or two
    recordings for three parts): then every group is cut into contiguous blocks
    (`contiguous_blocks`, `blocks_needed` per group) and whole blocks are split instead.

    Returns (split, blocks): blocks is None when whole groups were split, else the block label
    of every frame (what no part may share)."""
    split = split_by_group(groups, fractions, seed)
    if all(len(split[k]) or not v for k, v in _normalise(fractions).items()):
        return split, None
    blocks = contiguous_blocks(groups, blocks_needed(fractions), names)
    return split_by_group(blocks, fractions, seed), blocks


def groups_on_several_parts(split: dict[str, np.ndarray], groups) -> list:
    """Group labels that appear in more than one part (empty for a leak-free split)."""
    groups = np.asarray(groups)
    seen: dict = {}
    leaks = set()
    for name, idx in split.items():
        for g in np.unique(groups[np.asarray(idx, dtype=np.int64)]).tolist():
            if seen.setdefault(g, name) != name:
                leaks.add(g)
    return sorted(leaks)


def describe_split(split: dict[str, np.ndarray], groups=None) -> dict:
    """Frame (and group) counts and frame shares of each part."""
    n = sum(len(v) for v in split.values())
    out = {}
    for name, idx in split.items():
        entry = {"n_frames": int(len(idx)), "fraction": float(len(idx) / n) if n else 0.0}
        if groups is not None:
            entry["n_groups"] = int(
                len(np.unique(np.asarray(groups)[np.asarray(idx, dtype=np.int64)]))
            )
        out[name] = entry
    return out


def save_split(
    path: str | os.PathLike, split: dict[str, np.ndarray], rule_text: str, groups=None, **meta
) -> dict:
    """Write the split as JSON, atomically: `rule` (in words), `parts` (counts), `indices`
    ({part: [frame index, ...]}), `n_frames`, plus `meta` (JSON-able provenance). With
    `groups`, also checks that no group is on two sides and counts groups per part.
    Returns what was written, without the indices."""
    if groups is not None:
        leaks = groups_on_several_parts(split, groups)
        if leaks:
            raise ValueError(f"split puts {len(leaks)} groups on two sides, e.g. {leaks[:5]}")
    indices = {k: sorted(int(i) for i in np.asarray(v).reshape(-1)) for k, v in split.items()}
    info = {
        "format": SPLIT_FORMAT,
        "rule": str(rule_text),
        "n_frames": int(sum(len(v) for v in indices.values())),
        "parts": describe_split(split, groups),
        **meta,
    }
    write_json(path, info | {"indices": indices}, indent=1)
    return info


def _read(path) -> dict:
    data = read_json(path, "split JSON")
    if not isinstance(data.get("indices"), dict):
        raise DataError(
            f"{path}: no 'indices' mapping; expected a file from `direction-tagger split`"
        )
    return data


def load_split(path: str | os.PathLike, n_frames: int | None = None) -> dict[str, np.ndarray]:
    """{part: int64 frame indices} from a split JSON; a frame in two parts is a DataError, and
    so is an index beyond `n_frames` (the frames of the labelled set it is used with)."""
    data = _read(path)
    out, seen = {}, set()
    for name, idx in data["indices"].items():
        arr = np.asarray(idx)
        if (
            arr.ndim != 1
            or (arr.size and not np.issubdtype(arr.dtype, np.integer))
            or (arr < 0).any()
        ):
            raise DataError(f"{path}: part '{name}' must be a list of frame indices >= 0")
        arr = arr.astype(np.int64)
        if n_frames is not None and arr.size and arr.max() >= n_frames:
            raise DataError(
                f"{path}: part '{name}' has frame index {arr.max()}, but the labelled set has "
                f"{n_frames} frames (indices 0..{n_frames - 1}); a split of another file?"
            )
        both = seen.intersection(arr.tolist())
        if both:
            raise DataError(f"{path}: {len(both)} frames are in '{name}' and another part")
        seen.update(arr.tolist())
        out[name] = arr
    return out


def load_split_info(path: str | os.PathLike) -> dict:
    """Everything in a split JSON but the indices: rule, counts, provenance."""
    data = _read(path)
    data.pop("indices")
    return data


def subsample_originals(train_indices, originals, count: int, seed: int) -> np.ndarray:
    """The frames of `count` originals drawn at random among those of the training part, every
    copy of them included: the training set a lab that labelled only `count` frames would have.

    train_indices: frame indices of the training part. originals: (N,) the original of every
    frame of the whole set (its copy group; np.arange(N) when frames are independent). The
    originals are shuffled once per `seed` and the first `count` taken, so with one seed the
    subsets are nested (the 20 originals include the 10): a learning curve then shows the effect
    of more labels, not of another draw. A count above the originals available takes them all.
    Returns sorted frame indices, all within `train_indices`.
    """
    if count < 1:
        raise ValueError(f"count must be >= 1, got {count}")
    train_indices = np.asarray(train_indices, dtype=np.int64).reshape(-1)
    originals = np.asarray(originals)
    if originals.ndim != 1:
        raise ValueError(f"originals must be one label per frame, got shape {originals.shape}")
    if train_indices.size and (train_indices.min() < 0 or train_indices.max() >= len(originals)):
        raise ValueError(
            f"training frame indices outside 0..{len(originals) - 1} (the frames labelled)"
        )
    labels = originals[train_indices]
    # Sorted, so the draw depends on the seed and the set of originals, not on frame order.
    available = np.unique(labels)
    order = np.random.default_rng(seed).permutation(len(available))
    chosen = available[order[:count]]
    return np.sort(train_indices[np.isin(labels, chosen)])


def load_subset(
    path: str | os.PathLike, name: str, n_frames: int | None = None, allow_empty: bool = True
) -> np.ndarray:
    """The frame indices of one part ('train', 'val', 'test') of a split file, each below
    `n_frames` when given; an empty part is a DataError unless `allow_empty`."""
    split = load_split(path, n_frames)
    if name not in split:
        raise DataError(f"{path}: no subset '{name}'; it has {sorted(split)}")
    if not allow_empty and len(split[name]) == 0:
        raise DataError(f"{path}: part '{name}' is empty; expected at least one frame")
    return np.asarray(split[name], dtype=np.int64)


def _npz_key(path, key: str, required: bool = True) -> np.ndarray | None:
    with open_npz(path) as npz:
        if key not in npz.files and not required:
            return None
        if key not in npz.files:
            raise DataError(f"{path}: no key '{key}' (it has {', '.join(npz.files)})")
        return read_key(npz, path, key)


def frame_names(data_path, n: int):
    """The image name of each frame (key `frame`, as `import-dlc` writes it), or None: what
    orders a recording's frames in time when a split has to cut through it."""
    names = _npz_key(data_path, "frame", required=False)
    if names is None or np.ndim(names) != 1 or len(names) != n:
        return None
    return np.asarray(names).astype(str)


def frame_groups(
    data_path,
    n: int,
    data_sha256: str,
    groups_path=None,
    group_key=None,
    default_key: str = "groups",
):
    """(group of every one of the n frames of data_path, where it came from): from a groups file
    (`recover`'s), a key of the data file (or "frame": each frame its own group), else
    `default_key` when the file has it; (None, None) when it has not. Shared by `split`
    and `subsample-split`, so both read groups the same way and refuse the same mistakes."""
    if groups_path:
        groups, source = _npz_key(groups_path, "groups"), f"key 'groups' of {groups_path}"
        made_from = _npz_key(groups_path, "data_sha256", required=False)
        if made_from is not None and str(made_from) != data_sha256:
            # Same frame count is no proof: a re-augmented set has as many frames as the
            # published one, in another order. Groups of another file would leak silently.
            raise DataError(
                f"{groups_path}: its groups were recovered from another file (sha256 "
                f"{str(made_from)[:12]}...) than {data_path} ({data_sha256[:12]}...); a set made "
                "by `direction-tagger augment` carries its own `groups`: give no --groups"
            )
    elif group_key == "frame":
        groups, source = np.arange(n), "every frame its own group (--group-key frame)"
    elif group_key:
        groups, source = (
            _npz_key(data_path, group_key),
            f"key '{group_key}' of {data_path}",
        )
    else:
        groups = _npz_key(data_path, default_key, required=False)
        if groups is None:
            return None, None
        source = f"key '{default_key}' of {data_path}"
    groups = np.asarray(groups).reshape(-1) if np.ndim(groups) else groups
    if np.ndim(groups) != 1 or len(groups) != n:
        raise DataError(
            f"groups from {source}: {np.shape(groups)} labels for {n} frames of {data_path}"
        )
    return groups, source
