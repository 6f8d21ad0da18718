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

import h5py
import numpy as np

from ..io import KEYPOINT_NAMES, KEYPOINTS, scratch_path
from .columns import read_columns, table_columns
from .nwb_spec import cached_spec, core_version

NODES = [KEYPOINT_NAMES[k].replace(" ", "_") for k in KEYPOINTS]  # tail_base, neck, nose
REFERENCE_FRAME = (
    "(0, 0) is the centre of the top-left pixel; x to the right (column), y down (row), px"
)
ANGLES = "degrees in [0, 360): 0 = toward +x (right on screen), 90 = toward the top (-y)"
TEXT = h5py.string_dtype("utf-8")
DATE = h5py.string_dtype("ascii")  # pynwb writes ISO 8601 dates as ASCII


def _timing(times: np.ndarray) -> dict:
    """rate + starting_time when the frames are regular (up to the 0.1 ms the tables round
    times to), else one timestamp per frame."""
    steps = np.diff(times)
    if len(times) == 1:
        return {"rate": 30.0, "starting_time": float(times[0])}
    if steps.min() > 0 and np.ptp(steps) <= 2e-4 + 1e-3 * np.median(steps):
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


def _text(group: h5py.Group, name: str, value, dtype=TEXT, **attrs) -> h5py.Dataset:
    data = group.create_dataset(name, data=value, dtype=dtype)
    data.attrs.update(attrs)
    return data


def _series(parent, name, neurodata_type, *, description, data, unit, timing, namespace="core"):
    """A TimeSeries (or a subtype): data with its unit, then its times."""
    group = _typed(parent.create_group(name), neurodata_type, namespace,
                   comments="no comments", description=description)  # fmt: skip
    values = group.create_dataset("data", data=data)
    values.attrs.update(conversion=1.0, offset=0.0, resolution=-1.0, unit=unit)
    if "rate" in timing:
        start = group.create_dataset("starting_time", data=np.float64(timing["starting_time"]))
        start.attrs.update(rate=np.float64(timing["rate"]), unit="seconds")
    else:
        stamps = group.create_dataset("timestamps", data=np.asarray(timing["timestamps"], float))
        stamps.attrs.update(interval=np.int32(1), unit="seconds")
    return group


def _iso(when: dt.datetime) -> str:
    return when.isoformat()


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
    """Write `table` (the columns of a tidy predictions table by name, as
    `read_predictions` reads them; with `video_px` its `<kp>_x_video` columns) as an NWB file at `path`,
    atomically. `source`: the movie or video it was made from; `frame_size`: (width,
    height) px of what the coordinates refer to; `subject`: Subject fields (subject_id: the
    source's name, species: Rattus norvegicus, sex: U unless given; DANDI also wants `age`,
    ISO 8601 such as P90D)."""

    def column(name, dtype=float):
        return np.asarray(table[name], dtype=dtype)

    times = column("time_s")
    timing = _timing(times)
    suffix = "_video" if video_px else ""
    where = "the original video" if video_px else "the 50 x 50 crop the model read"
    calibrated = all(f"{k}_p_within_2px" in table for k in KEYPOINTS)
    confidence = "p_within_2px" if calibrated else "confidence"
    positions = {
        k: np.column_stack([column(f"{k}_x{suffix}"), column(f"{k}_y{suffix}")]) for k in KEYPOINTS
    }
    confidences = {k: column(f"{k}_{confidence}") for k in KEYPOINTS}
    directions = {d: column(f"{d}_direction_deg") for d in ("body", "head")}
    qc_any = None
    if "qc_any" in table:  # 1 / 0 / NaN: an empty cell (no verdict) counts as no flag
        qc_any = (column("qc_any") == 1).astype("uint8")
    # the same predictions, the same identifier
    identity = hashlib.sha256()
    for values in (times, *positions.values(), *confidences.values(), *directions.values()):
        identity.update(np.ascontiguousarray(values).tobytes())
    if qc_any is not None:
        identity.update(qc_any.tobytes())
    subject = {"subject_id": Path(source).stem, "species": "Rattus norvegicus", "sex": "U"} | {
        k: v for k, v in (subject or {}).items() if v is not None
    }
    architecture = model_metadata.get("architecture", "unknown")
    version = str(model_metadata.get("package_version", model_metadata.get("library_version", "")))
    start = _iso(session_start)

    path = Path(path)
    tmp = scratch_path(path.parent, f".{path.stem}.tmp-", ".nwb")
    try:
        with h5py.File(tmp, "w") as f:
            _typed(f, "NWBFile", nwb_version=core_version())
            f.create_dataset("file_create_date", data=[_iso(dt.datetime.now(dt.timezone.utc))],
                             dtype=DATE)  # fmt: skip
            _text(f, "identifier", identity.hexdigest())
            _text(f, "session_description",
                  f"Keypoints and directions of one rat in {Path(source).name}")  # fmt: skip
            _text(f, "session_start_time", start, DATE)
            _text(f, "timestamps_reference_time", start, DATE)
            for name in ("analysis", "stimulus/presentation", "stimulus/templates"):
                f.create_group(name)
            general = f.create_group("general")
            camera = _typed(general.create_group("devices/camera"), "Device",
                            description=f"the camera of {source}")  # fmt: skip
            _text(general, "notes",
                  json.dumps({"model": model_metadata, "source": str(source)}, default=str))  # fmt: skip
            _text(general, "source_script", "direction-tagger",
                  file_name="direction_tagger/movies/nwb.py")  # fmt: skip
            person = _typed(general.create_group("subject"), "Subject")
            for key, value in sorted(subject.items()):
                _text(person, key, str(value), **({"reference": "birth"} if key == "age" else {}))

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
                video.create_dataset("num_samples", data=np.uint32(len(times)))
                started = video.create_dataset("starting_time",
                                               data=np.float64(timing["starting_time"]))  # fmt: skip
                started.attrs.update(rate=np.float64(timing["rate"]), unit="seconds")
            else:
                stamps = video.create_dataset("timestamps", data=times)
                stamps.attrs.update(interval=np.int32(1), unit="seconds")

            behavior = _typed(f.create_group("processing/behavior"), "ProcessingModule",
                              description="pose estimated by direction-tagger")  # fmt: skip
            skeletons = _typed(behavior.create_group("Skeletons"), "Skeletons", "ndx-pose")
            rat = _typed(skeletons.create_group("rat"), "Skeleton", "ndx-pose")
            rat.create_dataset("edges", data=np.array([[0, 1], [1, 2]], dtype="uint8"))
            _text(rat, "nodes", NODES)

            estimation = _typed(behavior.create_group("PoseEstimation"), "PoseEstimation",
                                "ndx-pose")  # fmt: skip
            _text(estimation, "description",
                  f"direction-tagger ({architecture}) on {Path(source).name}, px in {where}")  # fmt: skip
            estimation["device"] = h5py.SoftLink(camera.name)
            estimation[rat.name.rsplit("/", 1)[1]] = h5py.SoftLink(rat.name)
            _text(estimation, "scorer", f"direction-tagger {architecture}")
            _text(estimation, "source_software", "direction-tagger", version=version)
            estimation["source_video"] = h5py.SoftLink(video.name)
            definition = (
                "calibrated P(this point is within 2 px of the truth)"
                if calibrated
                else "the network's confidence (no calibration)"
            )
            for k, node in zip(KEYPOINTS, NODES):
                series = _series(estimation, node, "PoseEstimationSeries", namespace="ndx-pose",
                                 description=f"{KEYPOINT_NAMES[k]}, px in {where}",
                                 data=positions[k], unit="pixels", timing=timing)  # fmt: skip
                series.create_dataset("confidence", data=confidences[k]).attrs["definition"] = (
                    definition
                )
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
