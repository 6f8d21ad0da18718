"""A movie's frames, chunk by chunk: memory that does not grow with the movie's length.

`open_movie(path)` checks the `.npz` headers (never the frames; the same checks as
`io.load_movie`) and returns a `MovieFrames` that hands out frame ranges:

- an uncompressed `.npz` (what `io.save_movie`, `np.savez` and `write_movie` write) is read
  in place: a frame range is one read at its byte offset inside the file, in any order. (Not a
  memory map: the pages of a map count as the process's memory while they stay resident, so
  a map grows with the movie where a read does not.)
- a compressed one (`np.savez_compressed`) is decompressed front to back; reading backwards
  starts again from the beginning, so it is made for one pass.

fps and ground-truth labels (24 bytes a frame) are read as `load_movie` reads them. Both
kinds of file stay readable by `np.load` and `load_movie`: nothing about the data contract
changes, and `write_movie` writes a movie of any length without holding it in memory
(`MovieWriter` when the length is not known until the end).
"""

from __future__ import annotations

import os
import struct
import zipfile
from collections.abc import Iterable
from pathlib import Path

import numpy as np

from .io import (
    DEFAULT_FPS,
    FRAME_SIZE,
    KEYPOINTS,
    DataError,
    _check_images,
    _label_key,
    _read_fps,
    _read_locs,
    atomic_path,
    check_writable,
    npz_headers,
    open_npz,
    scratch_path,
)

FRAME_PIXELS = FRAME_SIZE * FRAME_SIZE
DEFAULT_CHUNK = 4096  # frames: 10 MB of uint8 frames


class MovieFrames:
    """The frames of one movie `.npz`, read a range at a time (see the module docstring)."""

    def __init__(self, path: Path, info: zipfile.ZipInfo, n: int, dtype, fps, locs):
        self.path = path
        self.fps = fps
        self.locs = locs  # (M, 3, 2) float32 ground truth, or None
        self._info = info
        self._n = n
        self._dtype = np.dtype(dtype)
        self._frame_bytes = FRAME_PIXELS * self._dtype.itemsize
        self._offset = _stored_offset(path, info) if info.compress_type == 0 else None
        self._stream = None  # (open zip, open member, next frame) of a compressed file
        self._buffer = (0, np.empty((0, FRAME_SIZE, FRAME_SIZE), np.uint8))  # for __getitem__

    def __len__(self) -> int:
        return self._n

    @property
    def stored(self) -> bool:
        """True when the frames are uncompressed (read in place, any order)."""
        return self._offset is not None

    def read(self, start: int, stop: int) -> np.ndarray:
        """Frames [start, stop) as a new (n, 50, 50) uint8 array."""
        start, stop = max(0, int(start)), min(self._n, int(stop))
        n = max(0, stop - start)
        frames = np.empty((n, FRAME_SIZE, FRAME_SIZE), self._dtype)
        buffer = memoryview(frames).cast("B")
        if self._offset is not None:
            with open(self.path, "rb") as f:
                f.seek(self._offset + start * self._frame_bytes)
                got = f.readinto(buffer)
        else:
            got = self._read_compressed(start, buffer)
        if got != n * self._frame_bytes:
            raise DataError(
                f"{self.path}: key 'images' ends after {start + got // self._frame_bytes} "
                f"of {self._n} frames; the file was cut short (a damaged file?)"
            )
        return _check_images(frames, self.path) if n else frames.astype(np.uint8)

    def __getitem__(self, i: int) -> np.ndarray:
        """Frame `i` (50, 50) uint8, from a buffer of DEFAULT_CHUNK frames read ahead: made
        for going through the movie in order (rendering)."""
        i = int(i)
        if not 0 <= i < self._n:
            raise IndexError(f"frame {i} of a {self._n}-frame movie")
        first, frames = self._buffer
        if not first <= i < first + len(frames):
            self._buffer = first, frames = i, self.read(i, i + DEFAULT_CHUNK)
        return frames[i - first]

    def grey_histogram(self, size: int = 512) -> np.ndarray:
        """(256,) int64: how many pixels of the whole movie have each grey level. `size`
        frames at a time: bincount widens them to int64 (8 bytes a pixel, 10 MB here)."""
        hist = np.zeros(256, np.int64)
        for _, frames in self.chunks(size):
            hist += np.bincount(frames.reshape(-1), minlength=256)
        return hist

    def chunks(self, size: int = DEFAULT_CHUNK, start: int = 0, stop: int | None = None):
        """(first frame, frames) for consecutive ranges of at most `size` frames."""
        stop = self._n if stop is None else min(stop, self._n)
        for first in range(start, stop, size):
            yield first, self.read(first, min(first + size, stop))

    def _read_compressed(self, start: int, buffer: memoryview) -> int:
        """Decompress frames from `start` into `buffer`; the number of bytes read."""
        if self._stream is None or self._stream[2] > start:
            self.close()
            zf = zipfile.ZipFile(self.path)
            member = zf.open(self._info)
            _skip_npy_header(member)
            self._stream = [zf, member, 0]
        zf, member, at = self._stream
        while at < start:  # skip forward, a chunk at a time
            step = min(start - at, DEFAULT_CHUNK)
            if len(member.read(step * self._frame_bytes)) != step * self._frame_bytes:
                return 0
            at += step
        got = 0
        while got < len(buffer):  # a zip member may hand out less than asked
            n = member.readinto(buffer[got:])
            if not n:
                break
            got += n
        self._stream[2] = at + got // self._frame_bytes
        return got

    def close(self) -> None:
        if self._stream is not None:
            self._stream[1].close()
            self._stream[0].close()
            self._stream = None

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()


def _skip_npy_header(f):
    version = np.lib.format.read_magic(f)
    read = (
        np.lib.format.read_array_header_1_0
        if version == (1, 0)
        else np.lib.format.read_array_header_2_0
    )
    return read(f)


def _stored_offset(path: Path, info: zipfile.ZipInfo) -> int:
    """Byte offset of the first frame of an uncompressed member inside the file."""
    with open(path, "rb") as f:
        f.seek(info.header_offset)
        local = f.read(30)
        if len(local) != 30 or local[:4] != b"PK\x03\x04":
            raise DataError(f"{path}: key 'images' has a damaged zip header (a damaged file?)")
        name_len, extra_len = struct.unpack("<HH", local[26:30])
        f.seek(info.header_offset + 30 + name_len + extra_len)
        _skip_npy_header(f)
        return f.tell()


def open_movie(path: str | os.PathLike) -> MovieFrames:
    """A movie `.npz`, its headers, fps and labels checked, its frames left on disk."""
    path = Path(path)
    headers = npz_headers(path, arrays_only=True)
    if "images" not in headers:
        raise DataError(f"{path}: missing key 'images'; expected uint8 (M, 50, 50)")
    shape, dtype = tuple(headers["images"]["shape"]), np.dtype(headers["images"]["dtype"])
    if len(shape) != 3 or shape[1:] != (FRAME_SIZE, FRAME_SIZE):
        raise DataError(
            f"{path}: key 'images' has shape {shape}; expected (N, {FRAME_SIZE}, {FRAME_SIZE})"
        )
    if shape[0] == 0:
        raise DataError(f"{path}: key 'images' holds no frames; expected at least one")
    if not np.issubdtype(dtype, np.integer):
        raise DataError(f"{path}: key 'images' has dtype {dtype}; expected uint8 grey levels 0-255")
    with zipfile.ZipFile(path) as zf:
        info = zf.getinfo("images.npy")
        with zf.open(info) as f:
            fortran = _skip_npy_header(f)[1]
    if fortran or info.compress_type not in (zipfile.ZIP_STORED, zipfile.ZIP_DEFLATED):
        raise DataError(
            f"{path}: key 'images' is stored {'in Fortran order' if fortran else 'encrypted'}; "
            "expected a plain np.savez / np.savez_compressed array"
        )
    with open_npz(path) as npz:
        has_all_labels = all(_label_key(npz, path, f"locs_{k}") for k in KEYPOINTS)
        locs = _read_locs(npz, path, shape[0], required=False) if has_all_labels else None
        fps = _read_fps(npz, path) if "fps" in npz.files else DEFAULT_FPS
    return MovieFrames(path, info, shape[0], dtype, fps, locs)


def write_movie(
    path: str | os.PathLike,
    chunks: Iterable[np.ndarray],
    n_frames: int,
    fps: float = DEFAULT_FPS,
    locs: np.ndarray | None = None,
) -> Path:
    """Write a movie `.npz` (uncompressed, readable in place) from frame chunks, atomically.

    chunks: (n, 50, 50) uint8 arrays adding up to `n_frames` frames; locs: optional (M, 3, 2)
    ground truth. Only one chunk is held at a time."""
    path = Path(path)
    header = {
        "descr": "|u1",
        "fortran_order": False,
        "shape": (int(n_frames), FRAME_SIZE, FRAME_SIZE),
    }
    written = 0
    with atomic_path(path) as tmp, zipfile.ZipFile(tmp, "w", zipfile.ZIP_STORED) as zf:
        with zf.open("images.npy", "w", force_zip64=True) as f:
            np.lib.format.write_array_header_2_0(f, header)
            for chunk in chunks:
                chunk = np.ascontiguousarray(chunk, dtype=np.uint8)
                if chunk.shape[1:] != (FRAME_SIZE, FRAME_SIZE) or written + len(chunk) > n_frames:
                    raise ValueError(
                        f"chunk of shape {chunk.shape} after {written} frames; expected "
                        f"(n, {FRAME_SIZE}, {FRAME_SIZE}) chunks adding up to {n_frames} frames"
                    )
                f.write(chunk.tobytes())
                written += len(chunk)
        if written != n_frames:
            raise ValueError(f"chunks held {written} frames; expected {n_frames}")
        extra = {"fps": np.float32(fps)}
        if locs is not None:
            for k, name in enumerate(KEYPOINTS):
                extra[f"locs_{name}"] = np.asarray(locs[:, k], dtype=np.float32)
        for key, value in extra.items():
            with zf.open(f"{key}.npy", "w") as f:
                np.lib.format.write_array(f, np.asarray(value), allow_pickle=False)
    return path


class MovieWriter:
    """Write a movie `.npz` frame by frame, memory flat in its length: the frames go to a
    scratch file first, and `close` streams them into the `.npz` (uncompressed, so readers
    can take it in chunks) under a temporary name, then renames it onto `path`. Use as a
    context manager: on an error nothing is left at `path`."""

    def __init__(self, path, fps: float = DEFAULT_FPS, **extra: np.ndarray):
        self.path = Path(path)
        check_writable(self.path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self.fps = float(fps)
        self.extra = extra
        self._raw_path = scratch_path(self.path.parent, f".{self.path.name}.frames-")
        self._raw = open(self._raw_path, "wb")
        self.count = 0

    def write(self, frames: np.ndarray) -> None:
        """Append frames (B, 50, 50) or one frame (50, 50), uint8."""
        frames = np.asarray(frames)
        if frames.ndim == 2:
            frames = frames[None]
        if frames.dtype != np.uint8 or frames.shape[1:] != (FRAME_SIZE, FRAME_SIZE):
            raise ValueError(f"frames must be uint8 (B, 50, 50), got {frames.dtype} {frames.shape}")
        self._raw.write(np.ascontiguousarray(frames).tobytes())
        self.count += len(frames)

    def close(self) -> None:
        self._raw.close()
        header = {
            "descr": "|u1",
            "fortran_order": False,
            "shape": (self.count, FRAME_SIZE, FRAME_SIZE),
        }
        try:
            with atomic_path(self.path) as tmp, zipfile.ZipFile(tmp, "w") as zf:
                with zf.open("images.npy", "w", force_zip64=True) as member:
                    np.lib.format.write_array_header_1_0(member, header)
                    with open(self._raw_path, "rb") as raw:
                        while block := raw.read(1 << 22):
                            member.write(block)
                for name, value in {"fps": np.float32(self.fps), **self.extra}.items():
                    with zf.open(f"{name}.npy", "w") as member:
                        np.lib.format.write_array(member, np.asarray(value), allow_pickle=False)
        finally:
            self._raw_path.unlink(missing_ok=True)

    def abort(self) -> None:
        self._raw.close()
        self._raw_path.unlink(missing_ok=True)

    def __enter__(self):
        return self

    def __exit__(self, kind, err, tb):
        if kind is None:
            self.close()
        else:
            self.abort()


def percentiles_of_histogram(hist: np.ndarray, q) -> np.ndarray:
    """np.percentile(values, q) (linear method) from the values' histogram over 0..255, to
    the last bit: the same index and interpolation arithmetic as numpy's."""
    hist = np.asarray(hist, np.int64)
    n = int(hist.sum())
    cum = np.cumsum(hist)
    q = np.true_divide(np.asarray(q, np.float64), 100)
    virtual = q * (n - 1)
    below = np.floor(virtual).astype(np.int64)
    above = np.minimum(below + 1, n - 1)
    a = np.searchsorted(cum, below, side="right").astype(np.float64)  # value of rank `below`
    b = np.searchsorted(cum, above, side="right").astype(np.float64)
    t = virtual - below
    diff = b - a
    out = a + diff * t
    return np.where(t >= 0.5, b - diff * (1 - t), out)
