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
goes to the file's `notes` as JSON. pynwb and ndx-pose are optional dependencies
(`pip install direction-tagger[nwb]`), imported only here.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import os
from pathlib import Path

import numpy as np
import pandas as pd

from ..io import KEYPOINT_NAMES, KEYPOINTS, DataError, scratch_path

NODES = [KEYPOINT_NAMES[k].replace(" ", "_") for k in KEYPOINTS]  # tail_base, neck, nose
REFERENCE_FRAME = (
    "(0, 0) is the centre of the top-left pixel; x to the right (column), y down (row), px"
)
ANGLES = "degrees in [0, 360): 0 = toward +x (right on screen), 90 = toward the top (-y)"


def _import_nwb():
    try:
        import ndx_pose
        import pynwb
    except ImportError:
        raise DataError(
            "NWB output needs pynwb and ndx-pose: pip install 'direction-tagger[nwb]' "
            "(or set nwb: false in the config)"
        ) from None
    return pynwb, ndx_pose


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


def write_pose_nwb(
    path,
    table: pd.DataFrame,
    *,
    video_px: bool,
    model_metadata: dict,
    source: str,
    session_start: dt.datetime,
    frame_size: tuple[int, int],
    subject: dict | None = None,
) -> Path:
    """Write `table` (a tidy predictions table; with `video_px` its `<kp>_x_video` columns)
    as an NWB file at `path`, atomically. `source`: the movie or video it was made from;
    `frame_size`: (width, height) px of what the coordinates refer to; `subject`: pynwb
    Subject fields (subject_id: the source's name, species: Rattus norvegicus, sex: U
    unless given; DANDI also wants `age`, ISO 8601 such as P90D)."""
    pynwb, ndx_pose = _import_nwb()
    from pynwb.behavior import CompassDirection, SpatialSeries

    times = table["time_s"].to_numpy(float)
    timing = _timing(times)
    suffix = "_video" if video_px else ""
    where = "the original video" if video_px else "the 50 x 50 crop the model read"
    calibrated = all(f"{k}_p_within_2px" in table for k in KEYPOINTS)
    identity = hashlib.sha256(
        pd.util.hash_pandas_object(table, index=False).to_numpy().tobytes()
    ).hexdigest()
    nwbfile = pynwb.NWBFile(
        session_description=f"Keypoints and directions of one rat in {Path(source).name}",
        identifier=identity,  # the same predictions, the same identifier
        session_start_time=session_start,
        notes=json.dumps({"model": model_metadata, "source": str(source)}, default=str),
        source_script="direction-tagger",
        source_script_file_name="direction_tagger/movies/nwb.py",
        subject=pynwb.file.Subject(
            **(
                {"subject_id": Path(source).stem, "species": "Rattus norvegicus", "sex": "U"}
                | {k: v for k, v in (subject or {}).items() if v is not None}
            )
        ),
    )
    camera = nwbfile.create_device(name="camera", description=f"the camera of {source}")
    video = pynwb.image.ImageSeries(
        name="source_video",
        description=f"what the keypoints were found in ({where})",
        external_file=[str(source)],
        format="external",
        starting_frame=[0],
        dimension=list(frame_size),
        device=camera,
        **timing,
        **({"num_samples": len(times)} if "rate" in timing else {}),
    )
    nwbfile.add_acquisition(video)
    skeleton = ndx_pose.Skeleton(
        name="rat", nodes=NODES, edges=np.array([[0, 1], [1, 2]], dtype="uint8")
    )
    series = []
    for k, node in zip(KEYPOINTS, NODES):
        xy = table[[f"{k}_x{suffix}", f"{k}_y{suffix}"]].to_numpy(float)
        column = f"{k}_p_within_2px" if calibrated else f"{k}_confidence"
        series.append(
            ndx_pose.PoseEstimationSeries(
                name=node,
                description=f"{KEYPOINT_NAMES[k]}, px in {where}",
                data=xy,
                unit="pixels",
                reference_frame=REFERENCE_FRAME,
                confidence=table[column].to_numpy(float),
                confidence_definition=(
                    "calibrated P(this point is within 2 px of the truth)"
                    if calibrated
                    else "the network's confidence (no calibration)"
                ),
                **timing,
            )
        )
    architecture = model_metadata.get("architecture", "unknown")
    estimation = ndx_pose.PoseEstimation(
        name="PoseEstimation",
        pose_estimation_series=series,
        description=f"direction-tagger ({architecture}) on {Path(source).name}, px in {where}",
        source_video=video,
        device=camera,
        scorer=f"direction-tagger {architecture}",
        source_software="direction-tagger",
        source_software_version=str(model_metadata.get("library_version", "")),
        skeleton=skeleton,
    )
    directions = CompassDirection(
        spatial_series=[
            SpatialSeries(
                name=name,
                description=f"{what}, {ANGLES}",
                data=table[column].to_numpy(float),
                reference_frame=REFERENCE_FRAME,
                unit="degrees",
                **timing,
            )
            for name, column, what in (
                ("body_direction", "body_direction_deg", "tail base -> neck"),
                ("head_direction", "head_direction_deg", "neck -> nose"),
            )
        ]
    )
    behavior = nwbfile.create_processing_module(
        name="behavior", description="pose estimated by direction-tagger"
    )
    behavior.add(ndx_pose.Skeletons(skeletons=[skeleton]))
    behavior.add(estimation)
    behavior.add(directions)
    if "qc_any" in table:
        behavior.add(
            pynwb.TimeSeries(
                name="qc_any",
                description="1 where a quality-control flag was raised on the frame",
                data=table["qc_any"].fillna(False).to_numpy(bool).astype("uint8"),
                unit="n.a.",
                **timing,
            )
        )
    path = Path(path)
    tmp = scratch_path(path.parent, f".{path.stem}.tmp-", ".nwb")  # pynwb wants .nwb
    try:
        with pynwb.NWBHDF5IO(str(tmp), "w") as io:
            io.write(nwbfile)
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)
    return path
