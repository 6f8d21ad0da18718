"""Reading and writing the data contract (see DESIGN.md).

Labelled set `.npz`: `images` uint8 (N, 50, 50); `locs_base`, `locs_neck`, `locs_head`
float (N, 2) in pixel (x, y), x = column, y = row, pixel centres at integers.
Movie `.npz`: `images` uint8 (M, 50, 50); optional `locs_*` ground truth; optional `fps`.

Nothing from outside is ever unpickled: `allow_pickle=False`, and an object array is a
`DataError` naming the file and the key. Every array's header is read before its data, so a
header declaring more bytes than the file holds is refused before anything is allocated.
Labels must lie in the frame, [-0.5, 49.5] px. Writers go through `atomic_path` so a crash
never leaves a half-written file under the final name.
"""

from __future__ import annotations

import contextlib
import errno
import hashlib
import json
import os
import re
import warnings
import zipfile
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from .checks import FPS

FRAME_SIZE = 50
KEYPOINTS = ("base", "neck", "head")  # order of the keypoint axis everywhere
KEYPOINT_NAMES = {"base": "tail base", "neck": "neck", "head": "nose"}
# Spellings seen in the published README; accepted with a warning.
KEY_ALIASES = {"locs_neck": ("locs_necks", "loclocs_necks")}
DEFAULT_FPS = 30.0
LABEL_BOUNDS = (-0.5, FRAME_SIZE - 0.5)  # px: the outer edges of the edge pixels
LABEL_MARGIN_PX = 5.0  # labels this close outside the frame are kept (check_in_frame)
# A compressed member holds at most about this many times its size (deflate's limit is ~1032).
MAX_DEFLATE_RATIO = 1100


class DataError(ValueError):
    """Bad input data; the message is one line naming the file, the key and what was expected.

    `lines`, when given, say the same to a person in a few short lines: a summary first, then
    what happened and what to do. The command line prints those instead of the one line (a
    failed download needs more than one line to say what the user can do about it)."""

    def __init__(self, message: str = "", lines: Sequence[str] = ()):
        super().__init__(message)
        self.lines = tuple(lines)


def _first_line(err: BaseException) -> str:
    """The gist of a library's error, for a one-line message."""
    lines = str(err).strip().splitlines()
    return lines[0] if lines else type(err).__name__


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


def scratch_path(folder: Path, prefix: str, suffix: str = "") -> Path:
    """`folder/<prefix><pid><suffix>`, this process's scratch file, after removing those a
    killed run of the same step left there (same prefix and suffix, a process id that no
    longer runs on this machine): a rerun cleans up after the run it replaces."""
    pattern = re.compile(re.escape(prefix) + r"(\d+)" + re.escape(suffix))
    if folder.is_dir():
        for stale in folder.iterdir():
            found = pattern.fullmatch(stale.name)
            if found and not _process_runs(int(found.group(1))):
                with contextlib.suppress(OSError):
                    stale.unlink()
    return folder / f"{prefix}{os.getpid()}{suffix}"


def _process_runs(pid: int) -> bool:
    if pid == os.getpid():
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except OSError:  # it runs, as another user
        return True
    return True


@contextlib.contextmanager
def atomic_path(path: str | os.PathLike):
    """Yield a temporary path beside `path`; rename it onto `path` only if the block succeeds.

    A failed write (full disk, no permission) names `path`, not the temporary."""
    path = Path(path)
    if path.is_dir():
        raise IsADirectoryError(errno.EISDIR, "is a folder; expected a file name", str(path))
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = scratch_path(path.parent, f".{path.name}.tmp-")
    try:
        yield tmp
        os.replace(tmp, path)
    except OSError as err:
        named = {os.fspath(f) for f in (err.filename, err.filename2) if f is not None}
        if err.errno is None or (named and str(tmp) not in named):
            raise  # not about writing this file
        raise OSError(err.errno, err.strerror, str(path)) from err
    finally:
        if tmp.exists():
            tmp.unlink()


def check_writable(path: str | os.PathLike, folder: bool = False) -> None:
    """Refuse, before any work, an output that cannot be written: a file name that is a
    folder (or a folder name that is a file), or a place without write permission."""
    path = Path(path)
    if path.exists() and path.is_dir() != folder:
        if folder:
            raise NotADirectoryError(errno.ENOTDIR, "is a file; expected a folder", str(path))
        raise IsADirectoryError(errno.EISDIR, "is a folder; expected a file name", str(path))
    place = path if folder and path.exists() else path.parent
    while not place.exists() and place != place.parent:
        place = place.parent
    if not place.is_dir():
        raise NotADirectoryError(errno.ENOTDIR, f"{place} is a file, not a folder", str(path))
    if not os.access(place, os.W_OK | os.X_OK):
        message = f"Permission denied (no write permission in {place})"
        raise PermissionError(errno.EACCES, message, str(path))


def sha256_file(path: str | os.PathLike, chunk: int = 1 << 20) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        while block := f.read(chunk):
            digest.update(block)
    return digest.hexdigest()


def _member_header(zf: zipfile.ZipFile, info: zipfile.ZipInfo, path: Path) -> dict:
    """dtype and shape from one `.npy` member's header; the data is never read. A header that
    declares more bytes than the member holds (a damaged or hostile file) is a DataError."""
    key = info.filename.removesuffix(".npy")
    with zf.open(info) as f:
        version = np.lib.format.read_magic(f)
        read = (
            np.lib.format.read_array_header_1_0
            if version == (1, 0)
            else np.lib.format.read_array_header_2_0
        )
        shape, _, dtype = read(f)
    if dtype.hasobject:
        raise DataError(
            f"{path}: key '{key}' holds a pickled object array ({dtype}); refusing to "
            "unpickle it (expected a plain numeric array)"
        )
    declared = int(np.prod(shape, dtype=object)) * dtype.itemsize
    stored = info.compress_type == zipfile.ZIP_STORED
    holds = min(info.file_size, info.compress_size * (1 if stored else MAX_DEFLATE_RATIO))
    if declared > holds:
        raise DataError(
            f"{path}: key '{key}' declares shape {tuple(shape)} {dtype} = {declared:,} bytes, "
            f"but the file holds {holds:,}; refusing to load it (a damaged file?)"
        )
    return {"dtype": str(dtype), "shape": list(shape)}


def npz_headers(path: str | os.PathLike, arrays_only: bool = False) -> dict[str, dict]:
    """{key: {'dtype', 'shape'}} read from each `.npy` header only: no data, no unpickling.

    An object array in any key is a DataError (numpy would need pickle to read it), and so is
    a header declaring more bytes than the file holds. `arrays_only`: skip members that are
    not `.npy` arrays (numpy ignores them too)."""
    path = Path(path)
    if not path.exists():
        raise DataError(f"{path}: file not found")
    headers = {}
    try:
        size = path.stat().st_size
        with zipfile.ZipFile(path) as zf:
            for info in zf.infolist():
                if arrays_only and not info.filename.endswith(".npy"):
                    continue
                if info.compress_size > size:
                    raise DataError(
                        f"{path}: member '{info.filename}' claims {info.compress_size:,} bytes "
                        f"in a file of {size:,}; refusing to load it (a damaged file?)"
                    )
                key = info.filename.removesuffix(".npy")
                headers[key] = _member_header(zf, info, path)
    except DataError:
        raise
    except (zipfile.BadZipFile, ValueError, OSError, EOFError) as err:
        raise DataError(f"{path}: not a readable .npz file ({_first_line(err)})") from None
    return headers


def open_npz(path: str | os.PathLike):
    """An open `.npz` (use it in a `with`), its headers checked first (see `npz_headers`)."""
    path = Path(path)
    npz_headers(path, arrays_only=True)
    try:
        npz = np.load(path, allow_pickle=False)
    except (zipfile.BadZipFile, ValueError, OSError, EOFError) as err:
        raise DataError(f"{path}: not a readable .npz file ({_first_line(err)})") from None
    if not isinstance(npz, np.lib.npyio.NpzFile):  # a zip that numpy reads as one .npy
        raise DataError(f"{path}: not a readable .npz file (expected a zip of .npy arrays)")
    return npz


def read_key(npz, path: str | os.PathLike, key: str) -> np.ndarray:
    """One array of an open `.npz`; a DataError naming the file and key when it cannot be read."""
    try:
        return npz[key]
    except ValueError as err:  # numpy refuses object arrays when allow_pickle=False
        if "allow_pickle" in str(err) or "Object arrays" in str(err):
            raise DataError(
                f"{path}: key '{key}' holds a pickled object array; refusing to unpickle it "
                "(expected a plain numeric array)"
            ) from None
        raise DataError(f"{path}: key '{key}' could not be read ({_first_line(err)})") from None
    except (zipfile.BadZipFile, OSError, EOFError) as err:
        raise DataError(f"{path}: key '{key}' is damaged ({_first_line(err)})") from None
    except MemoryError:
        raise DataError(f"{path}: key '{key}' is too large to load into memory") from None


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
        locs = read_key(npz, path, key)
        if locs.dtype == object or not np.issubdtype(locs.dtype, np.number):
            raise DataError(f"{path}: key '{key}' has dtype {locs.dtype}; expected float (N, 2)")
        if locs.shape != (n, 2):
            raise DataError(f"{path}: key '{key}' has shape {locs.shape}; expected ({n}, 2)")
        if not np.isfinite(locs).all():
            bad = int((~np.isfinite(locs)).any(axis=1).sum())
            raise DataError(f"{path}: key '{key}' has {bad} non-finite (NaN/inf) labels")
        check_in_frame(locs, path, key)
        columns.append(locs.astype(np.float32))
    return np.stack(columns, axis=1)


def outside_frame(locs: np.ndarray, margin: float = 0.0) -> np.ndarray:
    """(N,) bool: labels (N, 2) beyond LABEL_BOUNDS by more than `margin` px on an axis."""
    lo, hi = LABEL_BOUNDS
    return ((locs < lo - margin) | (locs > hi + margin)).any(axis=1)


def check_in_frame(locs: np.ndarray, path, key: str) -> None:
    """(N, 2) labels (x, y) px must lie in the frame, LABEL_BOUNDS on both axes, or within
    LABEL_MARGIN_PX of it: augmented sets shift frames by a pixel or two, carrying a tail
    base just off the edge (verify counts them; training keeps them, the heatmap target may
    lie partly outside the crop). Further out is a coordinate mistake."""
    lo, hi = LABEL_BOUNDS
    outside = outside_frame(locs, LABEL_MARGIN_PX)
    if outside.any():
        i = int(np.flatnonzero(outside)[0])
        raise DataError(
            f"{path}: key '{key}' has {int(outside.sum())} labels outside the frame "
            f"[{lo}, {hi}] px by more than {LABEL_MARGIN_PX:g} px (first: frame {i}, "
            f"({locs[i, 0]:.2f}, {locs[i, 1]:.2f}))"
        )


def load_labelled(path: str | os.PathLike) -> LabelledSet:
    """Load a labelled set; raise DataError with a one-line cause on anything off-contract."""
    path = Path(path)
    with open_npz(path) as npz:
        if "images" not in npz.files:
            raise DataError(f"{path}: missing key 'images'; expected uint8 (N, 50, 50)")
        images = _check_images(read_key(npz, path, "images"), path)
        locs = _read_locs(npz, path, len(images), required=True)
        extra = {}
        # tail_root: (N, 2) where the tracker saw the tail join the body (DLC imports)
        for key in ("groups", "video", "tail_root"):
            if key in npz.files:
                value = read_key(npz, path, key)
                if value.shape[:1] == (len(images),):
                    extra[key] = value
    return LabelledSet(images=images, locs=locs, extra=extra)


def load_movie(path: str | os.PathLike) -> Movie:
    """Load a movie; ground-truth labels and fps are optional."""
    path = Path(path)
    with open_npz(path) as npz:
        if "images" not in npz.files:
            raise DataError(f"{path}: missing key 'images'; expected uint8 (M, 50, 50)")
        images = _check_images(read_key(npz, path, "images"), path)
        has_all_labels = all(_label_key(npz, path, f"locs_{k}") for k in KEYPOINTS)
        locs = _read_locs(npz, path, len(images), required=False) if has_all_labels else None
        fps = _read_fps(npz, path) if "fps" in npz.files else DEFAULT_FPS
    return Movie(images=images, fps=fps, locs=locs)


def _read_fps(npz, path: Path) -> float:
    """The movie's frame rate: one number (any shape holding one value), in FPS_RANGE."""
    values = np.asarray(read_key(npz, path, "fps")).reshape(-1)
    if values.size != 1:
        held = "no value" if values.size == 0 else f"{values.size} values"
        raise DataError(f"{path}: key 'fps' holds {held}; expected one number, frames per second")
    value = values[0].item()
    if not isinstance(value, (int, float)) or isinstance(value, bool):
        raise DataError(f"{path}: key 'fps' is {value!r} ({values.dtype}); expected a number")
    try:
        return FPS.check(float(value))
    except ValueError as err:
        raise DataError(f"{path}: key 'fps': {err}") from None


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


def read_json(path, what: str = "JSON", required=()) -> dict:
    """Read a JSON object; a missing or unparsable file is a one-line DataError, and so is one
    without a `required` key: a name, a dotted path ("keypoints.head.median") or a tuple of
    names (for names holding dots)."""
    path = Path(path)
    if not path.exists():
        raise DataError(f"{path}: file not found")
    try:
        data = json.loads(path.read_text())
    except (json.JSONDecodeError, UnicodeDecodeError) as err:
        raise DataError(f"{path}: not a valid {what} ({err})") from None
    if not isinstance(data, dict):
        raise DataError(f"{path}: expected a JSON object, found {type(data).__name__}")
    for keys in required:
        _require(data, path, keys.split(".") if isinstance(keys, str) else keys, what)
    return data


def require_finite_lists(data: dict, path, keys, what: str, length: int | None = None) -> None:
    """Each `data[key]` a list of finite numbers (`length` of them when given): JSON allows
    NaN and Infinity, and a file full of them would make every answer NaN without a word."""
    for key in keys:
        values = data.get(key)
        ok = isinstance(values, list) and (length is None or len(values) == length)
        ok = ok and all(
            isinstance(v, (int, float)) and not isinstance(v, bool) and np.isfinite(v)
            for v in values
        )
        if not ok:
            shown = json.dumps(values, allow_nan=True)[:60]
            count = f"{length} " if length else ""
            raise DataError(
                f"{path}: key '{key}' is {shown}; expected a list of {count}finite numbers "
                f"in a {what}"
            )


def _require(data: dict, path: Path, keys, what: str) -> None:
    node = data
    for depth, key in enumerate(keys):
        if not isinstance(node, dict) or key not in node:
            missing = ".".join(str(k) for k in keys[: depth + 1])
            raise DataError(f"{path}: no key '{missing}'; expected a {what}")
        node = node[key]
