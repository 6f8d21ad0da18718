"""The pynwb writer this package used before #28, kept as the reference the h5py writer
(direction_tagger.movies.nwb) must match: the same groups, datasets, links, types and
attributes for the same predictions (tests/test_nwb_and_readers.py)."""

from __future__ import annotations

import datetime as dt
import hashlib
import json
from pathlib import Path

import ndx_pose
import numpy as np
import pandas as pd
import pynwb
from pynwb.behavior import CompassDirection, SpatialSeries

from direction_tagger.io import KEYPOINT_NAMES, KEYPOINTS
from direction_tagger.movies.nwb import ANGLES, NODES, REFERENCE_FRAME, _timing


def reference_nwb(
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
        source_software_version=str(model_metadata.get("package_version", "")),
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
    with pynwb.NWBHDF5IO(str(path), "w") as io:
        io.write(nwbfile)
    return Path(path)
