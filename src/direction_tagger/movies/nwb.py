"""A movie's (or a tracked video's) predictions as an NWB file, for archives and DANDI.

Layout, as DeepLabCut and SLEAP export pose through the `ndx-pose` extension: a `behavior`
processing module holding
- `Skeletons` with one `Skeleton` "rat": nodes tail_base, neck, nose; edges tail_base-neck,
  neck-nose;
- `PoseEstimation` with one `PoseEstimationSeries` per keypoint: (x, y) px (video px for a
  tracked video, the 50 x 50 crop's px for a movie), confidence = the calibrated P(within
  2 px) where the run has a calibration, else the network's confidence;
- `CompassDirection` with `body_direction` (tail base -> neck) and `head_direction` (neck ->
  nose), degrees, 0 = +x (right on screen), 90 = up;
- `qc_any`: frames a quality-control flag was raised on (1) or not (0).
Times come from the table's `time_s` (a regular rate where the frames are regular, else one
timestamp per frame: a variable-frame-rate video keeps its own times). The model's metadata
goes to the file's `notes` as JSON.

Written with h5py, group by group as pynwb 4 writes the same objects (NWB 2.11, ndx-pose
0.4), with the schema pynwb caches copied from nwb_spec.json: importing pynwb and ndx-pose
loads every namespace, 1-3 s, which was most of the time writing a movie's file took
(issue #28: NWB <= 10 % of predict). The tests read every file back with pynwb and
nwbinspector, and compare its layout with what pynwb writes for the same content.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import os
import uuid
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from ..io import KEYPOINT_NAMES, KEYPOINTS, DataError, scratch_path
from .columns import read_columns, table_columns
from .nwb_spec import cached_spec, core_version

if TYPE_CHECKING:
    import h5py

NODES = [KEYPOINT_NAMES[k].replace(" ", "_") for k in KEYPOINTS]  # tail_base, neck, nose
REFERENCE_FRAME = (
    "(0, 0) is the centre of the top-left pixel; x to the right (column), y down (row), px"
)
ANGLES = "degrees in [0, 360): 0 = toward +x (right on screen), 90 = toward the top (-y)"


def _import_h5py():
    try:
        import h5py
    except ImportError:
        raise DataError(
            "NWB output needs h5py: pip install 'direction-tagger[nwb]' "
            "(or set nwb: false in the config)"
        ) from None
    return h5py


def _timing(times: np.ndarray) -> dict:
    """rate + starting_time when the frames are regular (up to the 0.1 ms the tables round
    times to), else one timestamp per frame."""
    steps = np.diff(times)
    if len(times) == 1:
        return {"rate": 30.0, "starting_time": float(times[0])}
    # the mean step, not np.median: that imports numpy.ma, a tenth of a short to-nwb's time
    if steps.min() > 0 and np.ptp(steps) <= 2e-4 + 1e-3 * steps.mean():
        rate = round((len(times) - 1) / (times[-1] - times[0]), 3)
        return {"rate": rate, "starting_time": float(times[0])}
    return {"timestamps": times}


def read_predictions(path) -> tuple[dict[str, np.ndarray], bool]:
    """The columns an NWB file holds, from a tidy predictions CSV (smooth, or to-video's in
    video px), and whether they are video px. Read without pandas (see columns.py)."""
    header = table_columns(path)
    video_px = "base_x_video" in header
    suffix = "_video" if video_px else ""
    calibrated = all(f"{k}_p_within_2px" in header for k in KEYPOINTS)
    names = [
        "time_s",
        *(f"{k}_{c}" for k in KEYPOINTS for c in (f"x{suffix}", f"y{suffix}")),
        *(f"{k}_{'p_within_2px' if calibrated else 'confidence'}" for k in KEYPOINTS),
        "body_direction_deg",
        "head_direction_deg",
    ]
    return read_columns(path, names, optional=["qc_any"], header=header), video_px


def _typed(group: h5py.Group, neurodata_type: str, namespace: str = "core", **attrs):
    """Mark `group` as an NWB object: its type, namespace and a fresh object id."""
    group.attrs.update(attrs)
    group.attrs["namespace"] = namespace
    group.attrs["neurodata_type"] = neurodata_type
    group.attrs["object_id"] = str(uuid.uuid4())
    return group


def _text(group: h5py.Group, name: str, value, encoding="utf-8", **attrs) -> h5py.Dataset:
    """Text as pynwb stores it: variable-length strings, UTF-8 (ASCII for dates)."""
    import h5py

    data = group.create_dataset(name, data=value, dtype=h5py.string_dtype(encoding))
    data.attrs.update(attrs)
    return data


def _times(group: h5py.Group, timing: dict) -> None:
    """A series' times: a start and a rate, or one timestamp per frame (seconds)."""
    if "rate" in timing:
        start = group.create_dataset("starting_time", data=np.float64(timing["starting_time"]))
        start.attrs.update(rate=np.float64(timing["rate"]), unit="seconds")
    else:
        stamps = group.create_dataset("timestamps", data=np.asarray(timing["timestamps"], float))
        stamps.attrs.update(interval=np.int64(1), unit="seconds")


def _series(parent, name, neurodata_type, *, description, data, unit, timing, namespace="core"):
    """A TimeSeries (or a subtype): data with its unit, then its times."""
    group = _typed(parent.create_group(name), neurodata_type, namespace,
                   comments="no comments", description=description)  # fmt: skip
    values = group.create_dataset("data", data=data)
    values.attrs.update(conversion=1.0, offset=0.0, resolution=-1.0, unit=unit)
    _times(group, timing)
    return group


def _identity(arrays) -> str:
    """The same predictions, the same identifier (a hash of the numbers written)."""
    digest = hashlib.sha256()
    for values in arrays:
        digest.update(np.ascontiguousarray(values).tobytes())
    return digest.hexdigest()


def _session(f, *, identifier, source, start, model_metadata, subject) -> h5py.Group:
    """The file's root and `general`: what, when, which animal, which model. Returns the
    camera (a Device) the source video and the pose estimation link to."""
    import h5py

    _typed(f, "NWBFile", nwb_version=core_version())
    now = dt.datetime.now(dt.timezone.utc).isoformat()
    f.create_dataset("file_create_date", data=[now], dtype=h5py.string_dtype("ascii"))
    _text(f, "identifier", identifier)
    _text(f, "session_description", f"Keypoints and directions of one rat in {Path(source).name}")
    _text(f, "session_start_time", start.isoformat(), "ascii")
    _text(f, "timestamps_reference_time", start.isoformat(), "ascii")
    for name in ("analysis", "stimulus/presentation", "stimulus/templates"):
        f.create_group(name)
    general = f.create_group("general")
    notes = json.dumps({"model": model_metadata, "source": str(source)}, default=str)
    _text(general, "notes", notes)
    _text(general, "source_script", "direction-tagger", file_name="direction_tagger/movies/nwb.py")
    person = _typed(general.create_group("subject"), "Subject")
    for key, value in sorted(subject.items()):
        _text(person, key, str(value), **({"reference": "birth"} if key == "age" else {}))
    return _typed(general.create_group("devices/camera"), "Device",
                  description=f"the camera of {source}")  # fmt: skip


def _source_video(f, camera, *, source, where, frame_size, timing, frames) -> h5py.Group:
    """An ImageSeries naming the movie or video (an external file; no pixels copied)."""
    import h5py

    video = _typed(f.create_group("acquisition/source_video"), "ImageSeries",
                   comments="no comments",
                   description=f"what the keypoints were found in ({where})")  # fmt: skip
    empty = video.create_dataset("data", shape=(0, 0, 0), dtype="uint8")
    empty.attrs.update(conversion=1.0, offset=0.0, resolution=-1.0, unit="unknown")
    video["device"] = h5py.SoftLink(camera.name)
    video.create_dataset("dimension", data=np.asarray(frame_size, dtype="int64"))
    external = _text(video, "external_file", [str(source)])
    external.attrs["starting_frame"] = np.zeros(1, dtype="int64")
    _text(video, "format", "external")
    if "rate" in timing:
        video.create_dataset("num_samples", data=np.uint32(frames))
    _times(video, timing)
    return video


def _skeleton(behavior) -> h5py.Group:
    skeletons = _typed(behavior.create_group("Skeletons"), "Skeletons", "ndx-pose")
    rat = _typed(skeletons.create_group("rat"), "Skeleton", "ndx-pose")
    rat.create_dataset("edges", data=np.array([[0, 1], [1, 2]], dtype="uint8"))
    _text(rat, "nodes", NODES)
    return rat


def write_pose_nwb(
    path,
    table,
    *,
    video_px: bool,
    model_metadata: dict,
    source: str,
    session_start: dt.datetime,
    frame_size: tuple[int, int],
    subject: dict | None = None,
) -> Path:
    """Write `table` (a tidy predictions table's columns by name, as `read_predictions`
    reads them; with `video_px` its `<kp>_x_video` columns) as an NWB file at `path`,
    atomically. `source`: the movie or video it was made from; `frame_size`: (width,
    height) px of what the coordinates refer to; `subject`: Subject fields (subject_id: the
    source's name, species: Rattus norvegicus, sex: U unless given; DANDI also wants `age`,
    ISO 8601 such as P90D)."""
    h5py = _import_h5py()

    def column(name):
        return np.asarray(table[name], dtype=float)

    times = column("time_s")
    timing = _timing(times)
    suffix = "_video" if video_px else ""
    where = "the original video" if video_px else "the 50 x 50 crop the model read"
    calibrated = all(f"{k}_p_within_2px" in table for k in KEYPOINTS)
    positions = {
        k: np.column_stack([column(f"{k}_x{suffix}"), column(f"{k}_y{suffix}")]) for k in KEYPOINTS
    }
    confidence = {
        k: column(f"{k}_p_within_2px" if calibrated else f"{k}_confidence") for k in KEYPOINTS
    }
    directions = {d: column(f"{d}_direction_deg") for d in ("body", "head")}
    # 1 / 0 / NaN: an empty cell (no verdict) counts as no flag
    qc_any = (column("qc_any") == 1).astype("uint8") if "qc_any" in table else None
    identifier = _identity(
        [times, *positions.values(), *confidence.values(), *directions.values()]
        + ([qc_any] if qc_any is not None else [])
    )
    subject = {"subject_id": Path(source).stem, "species": "Rattus norvegicus", "sex": "U"} | {
        k: v for k, v in (subject or {}).items() if v is not None
    }
    architecture = model_metadata.get("architecture", "unknown")
    definition = (
        "calibrated P(this point is within 2 px of the truth)"
        if calibrated
        else "the network's confidence (no calibration)"
    )

    path = Path(path)
    tmp = scratch_path(path.parent, f".{path.stem}.tmp-", ".nwb")
    try:
        with h5py.File(tmp, "w") as f:
            camera = _session(f, identifier=identifier, source=source, start=session_start,
                              model_metadata=model_metadata, subject=subject)  # fmt: skip
            video = _source_video(f, camera, source=source, where=where, frame_size=frame_size,
                                  timing=timing, frames=len(times))  # fmt: skip
            behavior = _typed(f.create_group("processing/behavior"), "ProcessingModule",
                              description="pose estimated by direction-tagger")  # fmt: skip
            rat = _skeleton(behavior)

            estimation = _typed(behavior.create_group("PoseEstimation"), "PoseEstimation",
                                "ndx-pose")  # fmt: skip
            _text(estimation, "description",
                  f"direction-tagger ({architecture}) on {Path(source).name}, px in {where}")  # fmt: skip
            estimation["device"] = h5py.SoftLink(camera.name)
            estimation["rat"] = h5py.SoftLink(rat.name)  # the skeleton, by its name
            _text(estimation, "scorer", f"direction-tagger {architecture}")
            _text(estimation, "source_software", "direction-tagger",
                  version=str(model_metadata.get("package_version", "")))  # fmt: skip
            estimation["source_video"] = h5py.SoftLink(video.name)
            for k, node in zip(KEYPOINTS, NODES):
                series = _series(estimation, node, "PoseEstimationSeries", namespace="ndx-pose",
                                 description=f"{KEYPOINT_NAMES[k]}, px in {where}",
                                 data=positions[k], unit="pixels", timing=timing)  # fmt: skip
                series.create_dataset("confidence", data=confidence[k])
                series["confidence"].attrs["definition"] = definition
                _text(series, "reference_frame", REFERENCE_FRAME)

            compass = _typed(behavior.create_group("CompassDirection"), "CompassDirection")
            for name, what in (("body", "tail base -> neck"), ("head", "neck -> nose")):
                series = _series(compass, f"{name}_direction", "SpatialSeries",
                                 description=f"{what}, {ANGLES}", data=directions[name],
                                 unit="degrees", timing=timing)  # fmt: skip
                _text(series, "reference_frame", REFERENCE_FRAME)
            if qc_any is not None:
                _series(behavior, "qc_any", "TimeSeries", data=qc_any, unit="n.a.",
                        description="1 where a quality-control flag was raised on the frame",
                        timing=timing)  # fmt: skip

            # the schema, as pynwb caches it: readers without ndx-pose still know our types
            specifications = f.create_group("specifications")
            for key, text in cached_spec().items():
                _text(specifications, key, text)
            f.attrs[".specloc"] = specifications.ref
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)
    return path
