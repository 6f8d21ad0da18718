"""Movie commands (library: movies): `predict`, `smooth`, `render`, `movie-figures`, `qc-reference`.

    direction-tagger predict --model MODEL.pt --movie M.npz --out RAW.csv [--tta N]
    direction-tagger smooth --predictions RAW.csv --out SMOOTH.csv [--dlc-csv DLC.csv]
                            [--qc-json QC.json] [--reference REF.json] [smoothing options]
    direction-tagger render --movie M.npz --predictions P.csv --out V.mp4
                            [--scale 8] [--trail 15] [--panel]
    direction-tagger movie-figures --predictions SMOOTH.csv --outdir DIR
    direction-tagger qc-reference --labelled TRAIN.npz --out REF.json
    direction-tagger tag-movies --model MODEL.pt --movies A.npz B.npz ... [--outdirs DA DB ...]
                               [--tta N] [smoothing options]

File decisions:
- The smoothed CSV is one self-contained table: the main columns (base_x, ...,
  body_direction_deg, ...) hold the smoothed positions and the directions computed from them,
  the raw predictions sit alongside as *_raw columns, confidences and spreads are the raw
  ones, and the qc_* flags are computed on the raw predictions. `smooth` always starts from the
  raw values (the *_raw columns when given a smoothed table), so re-running it is idempotent.
- The DLC CSV holds the smoothed positions; where smoothing left a gap (NaN) it falls back to
  the raw prediction, whose likelihood (confidence) is low there -- DeepLabCut itself never
  writes NaN, and downstream tools filter by likelihood.
- `render` draws the table's main columns: smoothed positions for a smoothed table, raw ones
  for a raw table; the qc_* columns, when present, mark flagged frames.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from ..io import FRAME_SIZE, DataError, load_labelled, read_json, require_finite_lists, write_json
from ..movies.familiarity import UNFAMILIAR_CHOICES
from ..movies.qc import DEFAULT_FLAG_RISK
from .arguments import (
    add_batch_size,
    add_model_options,
    beside,
    beside_folder,
    fps,
    int_in,
    non_negative_float,
    non_negative_int,
    positive_float,
    positive_int,
    probability,
)


def run_predict(args) -> int:
    from ..movie_store import open_movie
    from ..movies.chunked import predict_file
    from ..movies.predict import load_predictor
    from ..train.model_file import require_metadata

    predictor, meta = load_predictor(args.model, args.device, args.threads, args.precision)
    with open_movie(args.movie) as movie:
        if args.truth_metrics and movie.locs is not None:
            require_metadata(meta, args.model, "train_mean_locs")
        kept = predict_file(
            predictor, movie, args.out, args.tta, args.batch_size, args.chunk_frames, progress=True
        )
        write_truth_metrics(args.truth_metrics, args.movie, movie.locs, kept, meta)
    return 0


def write_truth_metrics(path, movie_path, truth, kept, meta) -> None:
    """The movie's metrics against its ground truth (JSON at `path`; none: say so)."""
    if not path:
        return
    if truth is None:
        write_json(path, {"movie": str(movie_path), "ground_truth": False})
        return
    from ..evaluate.metrics import evaluate

    locs, confidence = kept
    metrics, _ = evaluate(locs, confidence, truth, np.asarray(meta["train_mean_locs"]))
    write_json(path, {"movie": str(movie_path), "ground_truth": True} | metrics)


def _read_reference(path) -> dict:
    from ..movies.qc import GEOMETRY_MEASURES

    ref = read_json(path, "geometry reference")
    missing = [k for k in ("percentiles", *GEOMETRY_MEASURES) if k not in ref]
    if missing:
        raise DataError(
            f"{path}: not a geometry reference (missing {missing}); make one with "
            "`direction-tagger qc-reference`"
        )
    count = len(ref["percentiles"]) if isinstance(ref["percentiles"], list) else None
    require_finite_lists(
        ref, path, ("percentiles", *GEOMETRY_MEASURES), "geometry reference", count
    )
    return ref


def _smoothing_settings(args) -> tuple[dict, dict, dict | None, dict | None]:
    """(smoothing, checks, reference, calibration) from the smoothing options."""
    from ..movies.smooth import check_settings

    check_settings(args.method, args.window, args.polyorder)
    reference = _read_reference(args.reference) if args.reference else None
    smoothing = {
        "method": args.method,
        "window": args.window,
        "polyorder": args.polyorder,
        "min_confidence": args.min_confidence,
        "max_gap": args.max_gap,
        "outlier_px": args.outlier_px or None,
    }
    checks = {
        "max_jump_px": args.max_jump_px,
        "max_spread_px": args.max_spread_px,
        "min_confidence": args.min_confidence,
        "flag_risk": args.flag_risk,
        "unfamiliar": args.unfamiliar,
    }
    calibration = None
    if args.calibration:
        from ..evaluate.calibration import load_calibration

        calibration = load_calibration(args.calibration)
    return smoothing, checks, reference, calibration


def _evidence(track_path, reference: dict | None, predictions=None, movie=None, background=None):
    """Polarity evidence from a video's track table (tail roots, travel), the tail root's
    accuracy from the labelled frames when the reference measured it; with the tracked
    `movie` and the tracker's `background`, where the keypoints of `predictions` that are off
    the animal go (videos/silhouette.py)."""
    from ..movies.evidence import evidence_from_track
    from ..videos.to_video import read_track

    track = read_track(track_path)
    times = track["time_s"].to_numpy(float)
    fps = 1.0 / float(np.median(np.diff(times))) if len(times) > 1 else 30.0
    tail = (reference or {}).get("tail_root", {}).get("accuracy")
    evidence = evidence_from_track(track, fps, tail)
    if movie is not None and background is not None:
        from ..videos.silhouette import onto_animal_of_movie

        locs = _model_locs(predictions)
        evidence.onto_animal = onto_animal_of_movie(background, movie, track, locs)
    return evidence


def _model_locs(predictions) -> np.ndarray:
    """(M, 3, 2) the model's own keypoints of a raw or smoothed predictions table (a smoothed
    one keeps them in its *_raw columns), reading those columns only."""
    import pandas as pd

    from ..movies.columns import table_columns
    from ..movies.tables import table_locs

    columns = table_columns(predictions)
    suffix = "_raw" if "base_x_raw" in columns else ""
    wanted = [f"{k}_{a}{suffix}" for k in ("base", "neck", "head") for a in "xy"]
    missing = [c for c in wanted if c not in columns]
    if missing:
        raise DataError(f"{predictions}: no column {missing[0]}; expected a predictions table")
    return table_locs(pd.read_csv(predictions, usecols=wanted), suffix)


def _smooth_one(
    args, settings, predictions, out, dlc_csv, qc_json, track=None, movie=None, background=None
) -> None:
    from ..movies.chunked import smooth_file
    from ..movies.tables import table_columns

    smoothing, checks, reference, calibration = settings
    evidence = _evidence(track, reference, predictions, movie, background) if track else None
    if calibration is not None:
        _check_spread(calibration, table_columns(predictions), predictions, args)
    qc = smooth_file(
        predictions,
        out,
        smoothing,
        checks,
        reference,
        args.fps,
        calibration,
        args.polarity,
        evidence=evidence,
        dlc_path=dlc_csv,
        rows=args.chunk_rows,
        progress=not args.quiet,
    )
    if qc_json:
        qc["settings"]["outlier_px"] = args.outlier_px
        qc["settings"]["reference"] = str(args.reference) if args.reference else None
        qc["settings"]["calibration"] = str(args.calibration) if args.calibration else None
        qc["settings"]["track"] = str(track) if track else None
        qc["settings"]["background"] = str(background) if track and background else None
        write_json(qc_json, qc)
    print(
        f"{out}: {qc['n_frames']} frames smoothed ({args.method}, window "
        f"{args.window}); {100 * qc['flagged_share']['any']:.1f}% flagged by QC; "
        f"head and tail exchanged on {qc['polarity']['exchanged_frames']} frames"
    )


def run_smooth(args) -> int:
    settings = _smoothing_settings(args)
    if (args.movie is None) != (args.background is None) or (args.movie and not args.track):
        raise DataError(
            "--movie and --background go together, with --track: the tracked movie, the "
            "tracker's background and its track table find keypoints off the animal"
        )
    _smooth_one(
        args,
        settings,
        args.predictions,
        args.out,
        args.dlc_csv,
        args.qc_json,
        args.track,
        args.movie,
        args.background,
    )
    return 0


def _beside(movie_path, name: str) -> Path | None:
    """The file `name` that `track` wrote beside a tracked video's movie.npz (its track
    table and background: the evidence the smooth rule passes), or None."""
    movie_path = Path(movie_path)
    found = movie_path.with_name(name)
    return found if movie_path.name == "movie.npz" and found.is_file() else None


def run_tag_movies(args) -> int:
    from ..movie_store import open_movie
    from ..movies.chunked import predict_file
    from ..movies.files import MOVIE_FILES
    from ..movies.predict import load_predictor
    from ..train.model_file import require_metadata

    if len(args.movies) != len(args.outdirs):
        raise DataError(
            f"--movies names {len(args.movies)} movies and --outdirs {len(args.outdirs)} "
            "folders; expected one folder per movie"
        )
    settings = _smoothing_settings(args)  # every setting checked before the first movie
    predictor, meta = load_predictor(args.model, args.device, args.threads, args.precision)
    for movie_path, outdir in zip(args.movies, args.outdirs):
        files = {k: Path(outdir) / name for k, name in MOVIE_FILES.items()}
        with open_movie(movie_path) as movie:
            if movie.locs is not None:
                require_metadata(meta, args.model, "train_mean_locs")
            kept = predict_file(
                predictor, movie, files["raw"], args.tta, args.batch_size, args.chunk_frames
            )
            write_truth_metrics(files["truth"], movie_path, movie.locs, kept, meta)
        background = _beside(movie_path, "background.npz")
        _smooth_one(
            args,
            settings,
            files["raw"],
            files["smooth"],
            files["dlc"],
            files["qc"],
            _beside(movie_path, "track.csv"),
            movie_path if background else None,
            background,
        )
    print(f"{len(args.movies)} movies predicted, smoothed and checked with one model load")
    return 0


def _check_spread(calibration: dict, columns, predictions, args) -> None:
    """A calibration made with TTA needs the TTA spread in the predictions, and one made
    without TTA cannot use it (the spread feature would mean something else)."""
    has_spread = all(f"{k}_spread_px" in columns for k in ("base", "neck", "head"))
    if (calibration["tta"] > 1) != has_spread:
        raise DataError(
            f"{args.calibration}: calibrated for TTA {calibration['tta']}, but "
            f"{predictions} was predicted {'with' if has_spread else 'without'} TTA; "
            "calibrate with the TTA the predictions use"
        )


def run_render(args) -> int:
    from ..movie_store import open_movie
    from ..movies.render import render_video

    with open_movie(args.movie) as movie:
        drawn = _drawn_columns(args.predictions, args.chunk_rows)
        if len(drawn["locs"]) != len(movie):
            raise DataError(
                f"{args.predictions}: {len(drawn['locs'])} rows, but {args.movie} has "
                f"{len(movie)} frames; expected one row per frame"
            )
        render_video(
            args.out,
            movie,
            drawn["locs"],
            drawn["confidence"],
            movie.fps,
            flags=drawn["flags"],
            hollow=drawn["hollow"],
            scale=args.scale,
            trail=args.trail,
            panel=args.panel,
            crf=args.crf,
            preset=args.preset,
            progress=not args.quiet,
        )
        print(f"{args.out}: {len(movie)} frames at {movie.fps:g} fps")
    return 0


def _drawn_columns(path, rows: int) -> dict:
    """What the video draws from a predictions table, read a chunk at a time and only its
    columns (about 100 bytes a frame): positions, the calibrated confidence when the table
    has it (doubtful points are drawn hollow), the points kept raw, the qc_* flags."""
    from ..io import KEYPOINTS
    from ..movies.tables import iter_table, shown_confidence, table_columns, table_flags, table_locs

    header = table_columns(path)
    suffixes = ("_x", "_y", "_confidence", "_p_within_2px", "_kept_raw")
    wanted = [f"{k}{s}" for k in KEYPOINTS for s in suffixes] + [
        c for c in header if c.startswith("qc_")
    ]
    parts = {"locs": [], "confidence": [], "hollow": [], "flags": []}
    for chunk in iter_table(path, rows, wanted):
        confidence, hollow = shown_confidence(chunk)
        parts["locs"].append(table_locs(chunk))
        parts["confidence"].append(confidence)
        parts["hollow"].append(hollow)
        parts["flags"].append(table_flags(chunk))
    flags = parts["flags"][0] and {
        name: np.concatenate([f[name] for f in parts["flags"]]) for name in parts["flags"][0]
    }
    return {
        "locs": np.concatenate(parts["locs"]),
        "confidence": np.concatenate(parts["confidence"]),
        "hollow": None if parts["hollow"][0] is None else np.concatenate(parts["hollow"]),
        "flags": flags or None,
    }


def run_movie_figures(args) -> int:
    from ..movies.figures import save_movie_figures
    from ..movies.tables import our_column, read_table

    paths = save_movie_figures(args.outdir, read_table(args.predictions, our_column))
    print("\n".join(str(p) for p in paths))
    return 0


def run_to_nwb(args) -> int:
    import datetime as dt

    from ..movies.nwb import read_predictions, write_pose_nwb

    # neither pandas nor torch: each costs more than writing a 1,000-frame file (#28)
    table, video_px = read_predictions(args.predictions)
    metadata = {}
    if args.model:
        from ..train.model_facts import read_metadata

        metadata = read_metadata(args.model)
        if metadata is None:  # a model file from before its facts were kept as JSON
            from ..train.model_file import load_model

            metadata = load_model(args.model)[1]
    source = Path(args.source) if args.source else Path(args.predictions)
    if video_px and args.source:
        from ..videos.reader import video_info

        info = video_info(args.source)
        frame_size = (info.width, info.height)
    else:
        frame_size = (FRAME_SIZE, FRAME_SIZE)
    # the recording's file time: the same file gives the same NWB, run after run
    started = dt.datetime.fromtimestamp(source.stat().st_mtime, dt.timezone.utc)
    write_pose_nwb(
        args.out,
        table,
        video_px=video_px,
        model_metadata=metadata,
        source=str(source),
        session_start=started.replace(microsecond=0),
        frame_size=frame_size,
        subject={"subject_id": args.subject, "species": args.species, "age": args.age},
    )
    units = "video px" if video_px else "crop px"
    print(
        f"{args.out}: {len(table['time_s'])} frames, 3 keypoints ({units}), body and head direction"
    )
    if not args.age:
        print("note: no --age (nwb.subject.age): DANDI and nwbinspector ask for the animal's age")
    return 0


def _smoothed_name(raw: Path) -> Path:
    """predictions_raw.csv -> predictions.csv, walk.csv -> walk_smoothed.csv."""
    stem = raw.stem.removesuffix("_raw") if raw.stem.endswith("_raw") else f"{raw.stem}_smoothed"
    return raw.with_name(stem + ".csv")


def run_qc_reference(args) -> int:
    from ..movies.qc import geometry_reference

    labelled = load_labelled(args.labelled)
    ref = geometry_reference(labelled.locs) | {"source": str(args.labelled)}
    if "tail_root" in labelled.extra:  # an imported DLC project: the tail root's accuracy
        from ..movies.evidence import tail_root_agreement

        ref["tail_root"] = tail_root_agreement(labelled.locs, labelled.extra["tail_root"])
    write_json(args.out, ref)
    print(f"{args.out}: geometry reference from {ref['n_labels']} labels")
    return 0


def add_smoothing_options(p) -> None:
    """The options of `smooth`, shared with `tag-movies`."""
    p.add_argument(
        "--reference",
        type=Path,
        help="geometry reference JSON (qc-reference); without it no geometry flag",
    )
    p.add_argument("--method", choices=("savgol", "median"), default="savgol")
    p.add_argument("--window", type=positive_int, default=7, help="filter window, frames (7)")
    p.add_argument("--polyorder", type=non_negative_int, default=2, help="Savitzky-Golay order (2)")
    p.add_argument(
        "--min-confidence",
        type=probability,
        default=0.5,
        help="drop points below this confidence; also the QC threshold (0.5)",
    )
    p.add_argument(
        "--max-gap",
        type=non_negative_int,
        default=5,
        help="interpolate gaps up to this many frames (5)",
    )
    p.add_argument(
        "--outlier-px",
        type=non_negative_float,
        default=6.0,
        help="drop points this far from the running median, px; 0 = off (6)",
    )
    p.add_argument(
        "--max-jump-px",
        type=positive_float,
        default=None,
        help="QC jump threshold, px per frame (default 180 px/s at the fps, >= 3)",
    )
    p.add_argument(
        "--max-spread-px", type=positive_float, default=2.0, help="QC TTA spread limit (2)"
    )
    p.add_argument(
        "--fps",
        type=fps,
        default=None,
        help="frames per second (default: from the time_s column)",
    )
    p.add_argument(
        "--calibration",
        help="the model's calibration JSON (from `calibrate`, with the predictions' TTA): "
        "confidence becomes P(error <= 2 px) and QC flags frames by their calibrated risk",
    )
    p.add_argument(
        "--flag-risk",
        type=probability,
        default=DEFAULT_FLAG_RISK,
        help="with --calibration: flag a frame when the chance that some keypoint is more than "
        f"3 px off exceeds this ({DEFAULT_FLAG_RISK})",
    )
    p.add_argument(
        "--unfamiliar",
        choices=UNFAMILIAR_CHOICES,
        default="movie",
        help="with --calibration, a keypoint the whole movie is unfamiliar with (median "
        "confidence below 95 %% of the validation frames'): 'movie' flags the frames where "
        "the movie itself doubts it (its confidence's low outliers), 'calibration' every "
        "frame the calibration doubts (movie)",
    )
    p.add_argument(
        "--no-polarity",
        dest="polarity",
        action="store_false",
        help="keep each frame's head/tail polarity as predicted (default: least-cost path)",
    )
    p.add_argument(
        "--chunk-rows",
        type=positive_int,
        default=16384,
        help="rows cleaned at a time: memory is bounded by it, whatever the movie's length; "
        "the result is the same for any value (16384)",
    )
    p.add_argument("--quiet", action="store_true", help="no progress bar")


def add_chunk_frames(p) -> None:
    p.add_argument(
        "--chunk-frames",
        type=positive_int,
        default=4096,
        help="frames read, predicted and written at a time: memory is bounded by it, "
        "whatever the movie's length (4096, rounded to whole batches)",
    )


def register(subparsers) -> None:
    p = subparsers.add_parser(
        "predict",
        help="predict keypoints for every frame of a movie",
        description="Writes the raw per-frame table (x, y, confidence per "
        "keypoint, directions, body length, speed).",
    )
    add_model_options(p)
    p.add_argument("--movie", required=True, help="movie .npz (images, optional fps and labels)")
    p.add_argument("--out", help="raw predictions CSV (default: MOVIE_predictions_raw.csv)")
    add_batch_size(p)
    add_chunk_frames(p)
    p.add_argument("--truth-metrics", help="when the movie carries labels: metrics JSON to write")
    p.set_defaults(
        func=run_predict,
        writes=("out", "truth_metrics"),
        fill_outputs=beside("movie", out="_predictions_raw.csv"),
    )

    p = subparsers.add_parser(
        "smooth",
        help="smooth a movie's raw predictions, run QC, write tables",
        description="Confidence-aware smoothing (drop low-confidence and outlying points, "
        "interpolate short gaps, Savitzky-Golay or median filter) and label-free QC of a raw "
        "predictions CSV. Writes the smoothed tidy CSV (raw values kept as *_raw columns, "
        "qc_* flags), optionally a DeepLabCut-style CSV and a QC summary JSON.",
    )
    p.add_argument("--predictions", required=True, type=Path, help="raw tidy predictions CSV")
    p.add_argument("--out", type=Path, help="smoothed CSV (default: X_raw.csv -> X.csv)")
    p.add_argument(
        "--track",
        type=Path,
        help="the video's track table (`track`): its tail roots and the direction of travel "
        "are evidence for head/tail polarity",
    )
    p.add_argument("--movie", type=Path, help="the tracked movie the predictions are of")
    p.add_argument(
        "--background",
        type=Path,
        help="the tracker's background (`track`): with --movie and --track, keypoints the "
        "network put off the animal are moved onto it and flagged off_animal",
    )
    p.add_argument("--dlc-csv", type=Path, help="also write a DeepLabCut-style CSV here")
    p.add_argument("--qc-json", type=Path, help="also write the QC summary JSON here")
    add_smoothing_options(p)
    p.set_defaults(
        func=run_smooth,
        writes=("out", "dlc_csv", "qc_json"),
        fill_outputs=lambda a: {"out": _smoothed_name(a.predictions)},
    )

    p = subparsers.add_parser(
        "tag-movies",
        help="predict, smooth and check many movies in one process (the model loaded once)",
        description="For each movie, what `predict` then `smooth` write, into its folder "
        "(--outdirs, one per movie; default MOVIE_tagged/ beside it): predictions_raw.csv, "
        "ground_truth_metrics.json, "
        "predictions.csv, predictions_dlc.csv, qc.json. For many short "
        "clips: the start-up (imports, model load) is paid once, not per movie.",
    )
    add_model_options(p)
    p.add_argument("--movies", required=True, nargs="+", help="movie .npz files")
    p.add_argument(
        "--outdirs",
        nargs="+",
        help="one output folder per movie, in order (default: MOVIE_tagged/ beside each)",
    )
    add_batch_size(p)
    add_chunk_frames(p)
    add_smoothing_options(p)
    p.set_defaults(
        func=run_tag_movies,
        writes_folders=("outdirs",),
        fill_outputs=lambda a: {"outdirs": [beside_folder(m, "_tagged") for m in a.movies]},
    )

    p = subparsers.add_parser(
        "render",
        help="render the tagged video of a movie",
        description="Draw keypoints (fill = keypoint: tail base blue, neck white, nose "
        "magenta; ring = confidence red->green), skeleton, body (orange) and head (cyan) "
        "direction arrows, nose trail, frame number and time, QC-flagged frames (red border) "
        "on every frame; H.264 MP4 at the movie's fps.",
    )
    p.add_argument("--movie", required=True, type=Path, help="movie .npz (images, fps)")
    p.add_argument(
        "--predictions",
        required=True,
        type=Path,
        help="tidy predictions CSV; its main columns are drawn (smoothed when it is "
        "the smooth step's output)",
    )
    p.add_argument("--out", type=Path, help="video to write (default: MOVIE_tagged.mp4)")
    p.add_argument("--scale", type=positive_int, default=8, help="upscaling factor (8: 400x400)")
    p.add_argument(
        "--trail", type=non_negative_int, default=15, help="nose trail length, frames (15)"
    )
    p.add_argument(
        "--panel", action="store_true", help="add a side panel with scrolling direction traces"
    )
    p.add_argument(
        "--crf", type=int_in(0, 51), default=20, help="H.264 quality, lower = better (20)"
    )
    p.add_argument(
        "--preset",
        default="ultrafast",
        choices=("ultrafast", "superfast", "veryfast", "faster", "fast", "medium"),
        help="libx264 speed preset, always with CABAC: slower = a little smaller (ultrafast)",
    )
    p.add_argument("--quiet", action="store_true", help="no progress bar")
    p.add_argument(
        "--chunk-rows",
        type=positive_int,
        default=16384,
        help="table rows read at a time (frames are read 4096 at a time) (16384)",
    )
    p.set_defaults(
        func=run_render, writes=("out",), fill_outputs=beside("movie", out="_tagged.mp4")
    )

    p = subparsers.add_parser(
        "to-nwb",
        help="write a predictions table as NWB (ndx-pose), for archives and DANDI",
        description="Keypoints (PoseEstimation with a skeleton; confidence = calibrated "
        "P(within 2 px) where there is one), body and head direction (CompassDirection), the "
        "QC flag, timestamps from the table; video px when the table has them (to-video). "
        "Needs pip install 'direction-tagger[nwb]'.",
    )
    p.add_argument("--predictions", required=True, type=Path, help="predictions CSV (smooth)")
    p.add_argument("--out", type=Path, help="NWB file to write (default: poses.nwb beside it)")
    p.add_argument("--model", type=Path, help="the model that made them (its facts go in)")
    p.add_argument("--source", type=Path, help="the movie or video they were made from")
    p.add_argument("--subject", help="the animal's id (default: the source's file name)")
    p.add_argument("--species", help="Latin binomial (default: Rattus norvegicus)")
    p.add_argument("--age", help="ISO 8601 duration, e.g. P90D (DANDI asks for it)")
    p.set_defaults(
        func=run_to_nwb,
        writes=("out",),
        fill_outputs=beside("predictions", out="=poses.nwb"),
    )

    p = subparsers.add_parser(
        "movie-figures",
        help="figures of a movie's predictions",
        description="Direction traces, body-centre trajectory, polar heading histogram and QC "
        "timeline as PNG files in OUTDIR.",
    )
    p.add_argument("--predictions", required=True, type=Path, help="tidy predictions CSV")
    p.add_argument("--outdir", type=Path, help="folder for the PNGs (default: P_figures/)")
    p.set_defaults(
        func=run_movie_figures,
        writes_folders=("outdir",),
        fill_outputs=beside("predictions", outdir="_figures"),
    )

    p = subparsers.add_parser(
        "qc-reference",
        help="skeleton geometry percentiles of a labelled set, for QC",
        description="Percentiles of tail base->neck and neck->nose length, body length and "
        "head angle relative to the body over the labels, as JSON for `smooth --reference`.",
    )
    p.add_argument("--labelled", required=True, type=Path, help="labelled set .npz")
    p.add_argument("--out", type=Path, help="reference JSON (default: SET_reference.json)")
    p.set_defaults(
        func=run_qc_reference,
        writes=("out",),
        fill_outputs=beside("labelled", out="_reference.json"),
    )
