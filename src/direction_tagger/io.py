"""Reading and writing the data contract (see DESIGN.md).

Labelled set `.npz`: `images` uint8 (N, 50, 50); `locs_base`, `locs_neck`, `locs_head`
float (N, 2) in pixel (x, y), x = column, y = row, pixel centres at integers.
Movie `.npz`: `images` uint8 (M, 50, 50); optional `locs_*` ground truth; optional `fps`.

Nothing from outside is ever unpickled: `allow_pickle=False`, and an object array is a
`DataError` naming the file and the key. Writers go through `atomic_path` so a crash
never leaves a half-written file under the final name.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import warnings
import zipfile
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

FRAME_SIZE = 50
KEYPOINTS = ("base", "neck", "head")  # order of the keypoint axis everywhere
KEYPOINT_NAMES = {"base": "tail base", "neck": "neck", "head": "nose"}
# Spellings seen in the published README; accepted with a warning.
KEY_ALIASES = {"locs_neck": ("locs_necks", "loclocs_necks")}
DEFAULT_FPS = 30.0


class DataError(ValueError):
    """Bad input data; the message is one line naming the file, the key and what was expected."""


@dataclass
class LabelledSet:
    images: np.ndarray  # (N, 50, 50) uint8
    locs: np.ndarray  # (N, 3, 2) float32, keypoints in KEYPOINTS order, (x, y) px
    extra: dict[str, np.ndarray] = field(default_factory=dict)

    def __len__(self) -> int:
        return len(self.images)


@dataclass
class Movie:
    images: np.ndarray  # (M, 50, 50) uint8
    fps: float = DEFAULT_FPS
    locs: np.ndarray | None = None  # (M, 3, 2) ground truth when the movie carries it

    def __len__(self) -> int:
        return len(self.images)


@contextlib.contextmanager
def atomic_path(path: str | os.PathLike):
    """Yield a temporary path beside `path`; rename it onto `path` only if the block succeeds."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.tmp-{os.getpid()}")
    try:
        yield tmp
        os.replace(tmp, path)
    finally:
        if tmp.exists():
            tmp.unlink()


def sha256_file(path: str | os.PathLike, chunk: int = 1 << 20) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        while block := f.read(chunk):
            digest.update(block)
    return digest.hexdigest()


def _open_npz(path: Path):
    if not path.exists():
        raise DataError(f"{path}: file not found")
    try:
        return np.load(path, allow_pickle=False)
    except (zipfile.BadZipFile, ValueError, OSError, EOFError) as err:
        raise DataError(f"{path}: not a readable .npz file ({err})") from None


def _read_key(npz, path: Path, key: str) -> np.ndarray:
    try:
        return npz[key]
    except ValueError as err:  # numpy refuses object arrays when allow_pickle=False
        if "allow_pickle" in str(err) or "Object arrays" in str(err):
            raise DataError(
                f"{path}: key '{key}' holds a pickled object array; refusing to unpickle it "
                "(expected a plain numeric array)"
            ) from None
        raise DataError(f"{path}: key '{key}' could not be read ({err})") from None
    except (zipfile.BadZipFile, OSError, EOFError) as err:
        raise DataError(f"{path}: key '{key}' is damaged ({err})") from None


def _check_images(images: np.ndarray, path: Path) -> np.ndarray:
    if images.dtype == object:
        raise DataError(f"{path}: key 'images' is an object array; expected uint8 (N, 50, 50)")
    if images.ndim != 3 or images.shape[1:] != (FRAME_SIZE, FRAME_SIZE):
        raise DataError(
            f"{path}: key 'images' has shape {images.shape}; expected (N, {FRAME_SIZE}, {FRAME_SIZE})"
        )
    if len(images) == 0:
        raise DataError(f"{path}: key 'images' holds no frames; expected at least one")
    if images.dtype != np.uint8:
        if not np.issubdtype(images.dtype, np.integer) or images.min() < 0 or images.max() > 255:
            raise DataError(
                f"{path}: key 'images' has dtype {images.dtype}; expected uint8 grey levels 0-255"
            )
        images = images.astype(np.uint8)
    return images


def _label_key(npz, path: Path, key: str) -> str | None:
    if key in npz.files:
        return key
    for alias in KEY_ALIASES.get(key, ()):
        if alias in npz.files:
            warnings.warn(
                f"{path}: reading '{alias}' as '{key}' (published README spelling)", stacklevel=3
            )
            return alias
    return None


def _read_locs(npz, path: Path, n: int, required: bool) -> np.ndarray | None:
    columns = []
    for name in KEYPOINTS:
        key = _label_key(npz, path, f"locs_{name}")
        if key is None:
            if required:
                raise DataError(f"{path}: missing key 'locs_{name}'; expected float (N, 2) labels")
            return None
        locs = _read_key(npz, path, key)
        if locs.dtype == object or not np.issubdtype(locs.dtype, np.number):
            raise DataError(f"{path}: key '{key}' has dtype {locs.dtype}; expected float (N, 2)")
        if locs.shape != (n, 2):
            raise DataError(f"{path}: key '{key}' has shape {locs.shape}; expected ({n}, 2)")
        if not np.isfinite(locs).all():
            bad = int((~np.isfinite(locs)).any(axis=1).sum())
            raise DataError(f"{path}: key '{key}' has {bad} non-finite (NaN/inf) labels")
        columns.append(locs.astype(np.float32))
    return np.stack(columns, axis=1)


def load_labelled(path: str | os.PathLike) -> LabelledSet:
    """Load a labelled set; raise DataError with a one-line cause on anything off-contract."""
    path = Path(path)
    with _open_npz(path) as npz:
        if "images" not in npz.files:
            raise DataError(f"{path}: missing key 'images'; expected uint8 (N, 50, 50)")
        images = _check_images(_read_key(npz, path, "images"), path)
        locs = _read_locs(npz, path, len(images), required=True)
        extra = {}
        for key in ("groups", "video"):
            if key in npz.files:
                value = _read_key(npz, path, key)
                if value.shape[:1] == (len(images),):
                    extra[key] = value
    return LabelledSet(images=images, locs=locs, extra=extra)


def load_movie(path: str | os.PathLike) -> Movie:
    """Load a movie; ground-truth labels and fps are optional."""
    path = Path(path)
    with _open_npz(path) as npz:
        if "images" not in npz.files:
            raise DataError(f"{path}: missing key 'images'; expected uint8 (M, 50, 50)")
        images = _check_images(_read_key(npz, path, "images"), path)
        has_all_labels = all(_label_key(npz, path, f"locs_{k}") for k in KEYPOINTS)
        locs = _read_locs(npz, path, len(images), required=False) if has_all_labels else None
        fps = DEFAULT_FPS
        if "fps" in npz.files:
            fps = float(np.asarray(_read_key(npz, path, "fps")).reshape(-1)[0])
            if not np.isfinite(fps) or fps <= 0:
                raise DataError(f"{path}: key 'fps' is {fps}; expected a positive number")
    return Movie(images=images, fps=fps, locs=locs)


def _contract_arrays(images: np.ndarray, locs: np.ndarray | None) -> dict[str, np.ndarray]:
    arrays = {"images": np.ascontiguousarray(images, dtype=np.uint8)}
    if locs is not None:
        for k, name in enumerate(KEYPOINTS):
            arrays[f"locs_{name}"] = np.asarray(locs[:, k], dtype=np.float32)
    return arrays


def save_npz(path, **arrays: np.ndarray) -> None:
    """Write arrays to an uncompressed `.npz`, atomically."""
    with atomic_path(path) as tmp, open(tmp, "wb") as f:
        np.savez(f, **arrays)


def save_labelled(path, images: np.ndarray, locs: np.ndarray, **extra: np.ndarray) -> None:
    """Write a labelled set in the data contract, atomically."""
    save_npz(path, **_contract_arrays(images, locs), **{k: np.asarray(v) for k, v in extra.items()})


def save_movie(path, images: np.ndarray, fps: float = DEFAULT_FPS, locs=None) -> None:
    """Write a movie in the data contract, atomically (ground truth optional)."""
    save_npz(path, **_contract_arrays(images, locs), fps=np.float32(fps))


def write_json(path, data, indent: int = 2) -> None:
    """Write strict JSON (NaN refused: it is not JSON), atomically."""
    with atomic_path(path) as tmp:
        Path(tmp).write_text(json.dumps(data, indent=indent, allow_nan=False) + "\n")


def read_json(path, what: str = "JSON") -> dict:
    """Read a JSON object; a missing or unparsable file is a one-line DataError."""
    path = Path(path)
    if not path.exists():
        raise DataError(f"{path}: file not found")
    try:
        data = json.loads(path.read_text())
    except (json.JSONDecodeError, UnicodeDecodeError) as err:
        raise DataError(f"{path}: not a valid {what} ({err})") from None
    if not isinstance(data, dict):
        raise DataError(f"{path}: expected a JSON object, found {type(data).__name__}")
    return data
