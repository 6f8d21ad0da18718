"""Video commands (library: videos): `track`, `recentre`, `to-video`, `render-video`,
`import-dlc`, `synth-video`.

    direction-tagger track --video V.mp4 --movie M.npz --table TRACK.csv --qc QC.json
                           [--figure TRACK.png] [--crop-side PX | --crop-scale 2]
    direction-tagger recentre --video V.mp4 --model MODEL.pt [--track TRACK.csv --movie M.npz]
                              [--out-movie M2.npz --out-table TRACK2.csv] [--summary S.json]
    direction-tagger to-video --predictions P.csv --dlc-csv D.csv --track TRACK.csv
                              --out P_VIDEO.csv --dlc-out D_VIDEO.csv
    direction-tagger render-video --video V.mp4 --predictions P_VIDEO.csv --out TAGGED.mp4
                                  [--view full|zoom]
    direction-tagger import-dlc PROJECT --out LABELLED.npz [--head NOSE --neck A+B --base TAIL]
    direction-tagger synth-video --frames N --out ARENA.mp4 [--truth TRUTH.npz]

A video's chain: `track` cuts the 50 x 50 movie the model reads (`recentre`, optionally,
cuts it again around the model's own nose - tail base midpoint); the movie chain (predict,
smooth) tags it; `to-video` brings the predictions back to video pixels; `render-video` draws
them on the original video.
"""

from __future__ import annotations

from pathlib import Path

from .arguments import (
    add_batch_size,
    add_crop_rule_options,
    add_model_options,
    beside,
    fps,
    int_in,
    positive_float,
    positive_int,
    seed,
)
from .found import found


def run_track(args) -> int:
    from ..videos.reader import video_info
    from ..videos.track import TrackSettings, track_video

    settings = TrackSettings(
        crop_side=args.crop_side,
        crop_scale=args.crop_scale,
        smooth_window=args.smooth_window,
        polarity=args.polarity,
        background_frames=args.background_frames,
    )
    info = video_info(args.video)
    qc = track_video(
        info,
        args.movie,
        args.table,
        args.qc,
        settings,
        not args.quiet,
        figure_out=args.figure,
        background_out=args.background,
    )
    print(
        f"{args.video}: {qc['frames']} frames tracked, animal lost on {qc['lost']} "
        f"({100 * qc['lost_fraction']:.1f}%), {qc['jumps']} jumps; crop side "
        f"{qc['crop_side_px']:.1f} px (body {qc['body_length_px']:.1f} px) -> {args.movie}"
    )
    return 0


def run_recentre(args) -> int:
    from ..io import write_json
    from ..movies.predict import load_predictor
    from ..videos.reader import video_info
    from ..videos.recentre import recentre_video

    predictor, _ = load_predictor(args.model, args.device, args.threads, args.precision)

    def predict(frames):
        return predictor.predict(frames, tta=args.tta, batch_size=args.batch_size).locs

    info = video_info(args.video)
    if args.background is not None:  # first: a wrong file stops the command before the work
        copy_background(args.background, args.out_background, info)
    summary = recentre_video(
        info,
        args.track,
        args.movie,
        predict,
        args.out_movie,
        args.out_table,
        not args.quiet,
        passes=args.passes,
    )
    summary = {"video": str(args.video), "model": str(args.model), **summary}
    if args.background is not None:
        summary["background"] = str(args.out_background)
    if args.summary:
        write_json(args.summary, summary)
    print(
        f"{args.video}: {summary['moved']} of {summary['frames']} crops re-centred on the "
        f"model's nose - tail base midpoint in {args.passes} passes (shift median "
        f"{summary['shift_crop_px_median']:.2f} crop px) -> {args.out_movie}"
    )
    return 0


def copy_background(source, out, info) -> None:
    """The tracker's background beside the re-cut movie: the folder then holds all that
    smoothing needs to find keypoints off the animal (movie, track table, background)."""
    import shutil

    from ..io import DataError, atomic_path
    from ..videos.silhouette import ArenaBackground

    shape = ArenaBackground(source).image.shape  # checked: a background `track` saved
    if shape != (info.height, info.width):
        raise DataError(
            f"{source}: background of {shape[1]}x{shape[0]} px, but {info.path} is "
            f"{info.width}x{info.height}; expected the background `track` saved for this video"
        )
    with atomic_path(out) as tmp:
        shutil.copyfile(source, tmp)


def run_to_video(args) -> int:
    from ..io import DataError
    from ..movies.tables import our_column, read_table, write_table
    from ..videos.to_video import read_track, video_dlc_csv, video_table

    if bool(args.dlc_csv) != bool(args.dlc_out):
        given, needed = ("--dlc-csv", "--dlc-out") if args.dlc_csv else ("--dlc-out", "--dlc-csv")
        raise DataError(
            f"{given} needs {needed}: the DLC CSV is read in crop px and written in video px"
        )
    track = read_track(args.track)
    table = video_table(
        read_table(args.predictions, our_column), track, args.predictions, args.track
    )
    write_table(args.out, table)
    if args.dlc_csv:
        video_dlc_csv(args.dlc_csv, track, args.dlc_out, args.track)
    return 0


def video_table_with(path, needed: list[str], also=lambda c: False):
    """The columns `needed` of a tracked video's predictions in video px (`to-video`), and
    those `also` accepts; one line naming the first missing column otherwise."""
    from ..io import DataError
    from ..movies.tables import read_table

    table = read_table(path, lambda c: c in needed or also(c))
    if missing := [c for c in needed if c not in table.columns]:
        raise DataError(
            f"{path}: no column {missing[0]} (a video-pixel column); make the table with "
            "`direction-tagger to-video`"
        )
    return table


def run_render_video(args) -> int:
    import numpy as np

    from ..io import KEYPOINTS
    from ..movies.tables import shown_confidence, table_flags
    from ..videos.reader import video_info
    from ..videos.render import VideoMarks, check_marks, render_on_video

    columns = [f"{k}_{a}_video" for k in KEYPOINTS for a in "xy"] + ["crop_x", "crop_side"]
    table = video_table_with(  # only what is drawn is read: other columns may be anything
        args.predictions,
        columns,
        lambda c: (
            c == "crop_y" or c.startswith("qc_") or c.endswith(("_kept_raw", "_p_within_2px"))
        ),
    )
    locs = np.stack(
        [table[[f"{k}_x_video", f"{k}_y_video"]].to_numpy(float) for k in KEYPOINTS], axis=1
    )
    confidence, hollow = shown_confidence(table)
    hollow = np.zeros(locs.shape[:2], bool) if hollow is None else hollow
    marks = VideoMarks(
        locs,
        confidence,
        hollow,
        table[["crop_x", "crop_y"]].to_numpy(float),
        table["crop_side"].to_numpy(float),
        table_flags(table),
    )
    info = video_info(args.video)
    check_marks(marks, info, args.predictions)
    render_on_video(args.out, info, marks, args.view, args.size, progress=not args.quiet)
    return 0


def run_flag_map(args) -> int:
    import numpy as np

    from ..videos.figures import flag_map_figure
    from ..videos.silhouette import ArenaBackground

    needed = ["head_x_video", "head_y_video", "base_x_video", "base_y_video", "crop_side"]
    table = video_table_with(args.predictions, needed, lambda c: c.startswith("qc_"))
    background = ArenaBackground(args.background).image
    # cells a quarter of the crop side (half a body length): fine enough to tell a wall or a
    # corner from the open field, coarse enough to hold frames
    cell = float(np.nanmedian(table["crop_side"].to_numpy(float))) / 4
    drawn = flag_map_figure(args.out, background, table, cell)
    worst = drawn["worst_cell"]
    print(
        f"{args.out}: {drawn['flagged']} of {drawn['frames']} frames flagged"
        + (f"; most in the cell at ({worst['x']:.0f}, {worst['y']:.0f}) px: "
           f"{worst['share']:.0%} of its {worst['frames']} frames" if worst else "")
    )  # fmt: skip
    return 0


def run_import_dlc(args) -> int:
    from ..videos.dlc import import_project

    summary = import_project(
        args.project,
        args.out,
        {"head": args.head, "neck": args.neck, "base": args.base},
        crop_scale=args.crop_scale,
        polarity=args.polarity,
        summary_out=args.summary,
        progress=not args.quiet,
    )
    skipped = ", ".join(f"{n} {why}" for why, n in summary["skipped"].items() if n) or "none"
    print(
        f"{args.out}: {summary['frames']} frames of {len(summary['recordings'])} recordings "
        f"(skipped: {skipped}); body parts {summary['mapping']}"
    )
    return 0


def run_synth_video(args) -> int:
    import numpy as np

    from ..data.synth.arena import write_arena_video
    from ..io import KEYPOINTS, save_npz

    truth = write_arena_video(
        args.out,
        args.frames,
        args.seed,
        fps=args.fps,
        width=args.width,
        height=args.height,
        tether=not args.no_tether,
    )
    if args.truth:
        locs = {f"locs_{name}": truth[:, k] for k, name in enumerate(KEYPOINTS)}
        save_npz(args.truth, **locs, fps=np.float32(args.fps))
    print(f"wrote a {args.frames}-frame {args.width}x{args.height} arena video to {args.out}")
    return 0


def _project_files(args) -> list[Path]:
    """What `import-dlc` reads inside the project: its labelled frames and tables."""
    project = Path(args.project)
    return [p for p in (project / "labeled-data").rglob("*") if p.is_file()] + [
        p for p in [project / "config.yaml"] if p.is_file()
    ]


def tracked_beside(args) -> dict:
    """What `track --video V` writes by default, for what was not given: V_track.csv and
    V_movie.npz beside the video, and V_background.npz where it is there."""
    video = Path(args.video)
    wanted = {"track": "_track.csv", "movie": "_movie.npz"}
    paths = {}
    background = video.with_name(video.stem + "_background.npz")
    if getattr(args, "background", "given") is None and background.is_file():
        paths["background"] = background
    for name, ending in wanted.items():
        if getattr(args, name) is not None:
            continue
        path = video.with_name(video.stem + ending)
        if not path.is_file():
            from ..io import DataError

            raise DataError(
                f"{path}: not found (`direction-tagger track --video {video}` writes it); "
                f"give --{name}"
            )
        paths[name] = path
    return paths


def register(subparsers) -> None:
    p = subparsers.add_parser(
        "track",
        help="find the animal in a video and cut the 50x50 movie around it",
        description="Model the empty arena (median of frames spread over the video), find "
        "the animal in every frame (largest blob of its contrast, tail and cables opened "
        "away), smooth the track, and crop every frame around it with one crop side. Writes "
        "the movie .npz, a per-frame track table (crop centre and side, raw detection, "
        "lost / jump flags) and a QC summary. One pass, memory flat in the video's length.",
    )
    p.add_argument("--video", required=True, type=Path, help="video file (mp4, avi, ...)")
    p.add_argument("--movie", type=Path, help="50x50 movie .npz (default: VIDEO_movie.npz)")
    p.add_argument("--table", type=Path, help="track table (default: VIDEO_track.csv)")
    p.add_argument("--qc", type=Path, help="tracking QC (default: VIDEO_track_qc.json)")
    p.add_argument("--figure", type=Path, help="tracking figure to write (.png)")
    p.add_argument(
        "--background",
        type=Path,
        help="the empty arena, for `smooth --background` (default: VIDEO_background.npz)",
    )
    p.add_argument(
        "--crop-side", type=positive_float, help="crop side in video px (default: from the animal)"
    )
    add_crop_rule_options(p)
    p.add_argument(
        "--smooth-window",
        type=positive_int,
        default=9,
        help="frames over which the crop centre is a running median (9; an even number "
        "acts as the next odd one)",
    )
    p.add_argument(
        "--background-frames",
        type=int_in(3, 1000),
        default=41,
        help="frames spread over the video that model the empty arena (41)",
    )
    p.add_argument("--quiet", action="store_true", help="no progress bar")
    p.set_defaults(
        func=run_track,
        writes=("movie", "table", "qc", "figure", "background"),
        fill_outputs=beside(
            "video",
            movie="_movie.npz",
            table="_track.csv",
            qc="_track_qc.json",
            background="_background.npz",
        ),
    )

    p = subparsers.add_parser(
        "recentre",
        help="cut a tracked video again around the model's nose - tail base midpoint",
        description="The model predicts the tracked movie (no TTA unless asked), each "
        "frame's crop centre moves to the midpoint of its predicted nose and tail base "
        "(where that is within a quarter of the crop side of the tracker's), and the video is "
        "cut again there. Writes the re-centred movie and track table (crop_x / crop_y the "
        "new centres, tracker_crop_x / tracker_crop_y the tracker's): predict the movie and "
        "run to-video with this table.",
    )
    p.add_argument("--video", required=True, type=Path, help="the video `track` read")
    p.add_argument(
        "--track", type=Path, help="its track table (default: VIDEO_track.csv, track's default)"
    )
    p.add_argument(
        "--movie", type=Path, help="its tracked movie (default: VIDEO_movie.npz, track's default)"
    )
    add_model_options(p)
    add_batch_size(p)
    p.add_argument(
        "--out-movie", type=Path, help="re-centred movie .npz (default: MOVIE_recentred.npz)"
    )
    p.add_argument(
        "--out-table",
        type=Path,
        help="re-centred track table (default: MOVIE_recentred_track.csv)",
    )
    p.add_argument(
        "--passes",
        type=int_in(1, 4),
        default=2,
        help="times the model looks and the video is cut, each from the last crops (2)",
    )
    p.add_argument(
        "--background",
        type=Path,
        help="the tracker's background (default: VIDEO_background.npz where it is there): "
        "copied to --out-background, beside the re-cut movie, for `smooth --background`",
    )
    p.add_argument(
        "--out-background",
        type=Path,
        help="where the background is copied (default: MOVIE_recentred_background.npz)",
    )
    p.add_argument("--summary", type=Path, help="summary to write (.json)")
    p.add_argument("--quiet", action="store_true", help="no progress bar")
    p.set_defaults(
        func=run_recentre,
        writes=("out_movie", "out_table", "out_background", "summary"),
        fill_inputs=found(tracked_beside),
        fill_outputs=beside(
            "movie",
            out_movie="_recentred.npz",
            out_table="_recentred_track.csv",
            out_background="_recentred_background.npz",
        ),
    )

    p = subparsers.add_parser(
        "to-video",
        help="bring a tracked video's predictions back to video pixels",
        description="Add <kp>_x_video / <kp>_y_video (and for the raw predictions), the crop, "
        "the tracker's flags and the speed in video px to the predictions table; rewrite the "
        "DeepLabCut CSV in video px (for DLC-based tools reading the original video).",
    )
    p.add_argument("--predictions", required=True, type=Path, help="smoothed predictions CSV")
    p.add_argument("--track", required=True, type=Path, help="the video's track table")
    p.add_argument("--out", type=Path, help="table in video px (default: P_video.csv)")
    p.add_argument("--dlc-csv", type=Path, help="the movie's DeepLabCut CSV (crop px)")
    p.add_argument("--dlc-out", type=Path, help="DeepLabCut CSV to write, video px")
    p.set_defaults(
        func=run_to_video,
        writes=("out", "dlc_out"),
        fill_outputs=beside("predictions", out="_video.csv"),
    )

    p = subparsers.add_parser(
        "render-video",
        help="draw the predictions on the original video",
        description="The original video with keypoints (tail base blue, neck white, nose "
        "magenta; ring = confidence red->green; hollow = doubtful), skeleton, the crop the "
        "model saw and QC flags. --view full: the whole frame; zoom: a close-up following "
        "the animal.",
    )
    p.add_argument("--video", required=True, type=Path, help="the original video")
    p.add_argument(
        "--predictions", required=True, type=Path, help="predictions in video px (to-video)"
    )
    p.add_argument("--out", type=Path, help="video to write (default: VIDEO_tagged.mp4)")
    p.add_argument(
        "--view", choices=("full", "zoom"), default="full", help="full frame or close-up"
    )
    p.add_argument(
        "--size", type=int_in(64, 4096), default=400, help="side of the zoom view, px (400)"
    )
    p.add_argument("--quiet", action="store_true", help="no progress bar")
    p.set_defaults(
        func=run_render_video,
        writes=("out",),
        fill_outputs=beside("video", out="_tagged.mp4"),
    )

    p = subparsers.add_parser(
        "flag-map",
        help="where in the arena a tracked video's flagged frames fall (PNG)",
        description="The arena's background with the body's midpoint of every frame (grey, or "
        "the colour of the frame's first QC flag), and beside it the share of frames flagged "
        "per cell of the arena: walls, corners or a glare where the model is unsure show "
        "at once.",
    )
    p.add_argument(
        "--predictions", required=True, type=Path, help="predictions in video px (to-video)"
    )
    p.add_argument(
        "--background", required=True, type=Path, help="the video's background.npz (track)"
    )
    p.add_argument("--out", type=Path, help="PNG to write (default: P_flags.png)")
    p.set_defaults(
        func=run_flag_map, writes=("out",), fill_outputs=beside("predictions", out="_flags.png")
    )

    p = subparsers.add_parser(
        "import-dlc",
        help="turn a DeepLabCut project's labelled frames into a labelled set",
        description="Read labeled-data/*/CollectedData_*.csv and the frames beside them; crop "
        "each frame around the animal found in the image (the rule `track` uses on videos, "
        "never the labels), one crop side per recording; write the labelled .npz with the "
        "recording as `video` (the split's group). Frames with a missing label are skipped "
        "and counted.",
    )
    p.add_argument("project", type=Path, help="the DeepLabCut project folder")
    p.add_argument("--out", type=Path, help="labelled .npz (default: PROJECT_labelled.npz)")
    p.add_argument("--summary", type=Path, help="import summary to write (.json)")
    for ours, example in (("head", "nose"), ("neck", "left_ear+right_ear"), ("base", "tail_base")):
        p.add_argument(
            f"--{ours}",
            help=f"DLC body part for our {ours} (e.g. {example}; a+b = their midpoint; "
            "default: guessed from common names)",
        )
    add_crop_rule_options(p)
    p.add_argument("--quiet", action="store_true", help="no progress bar")
    p.set_defaults(
        func=run_import_dlc,
        writes=("out", "summary"),
        reads=_project_files,
        fill_outputs=beside("project", out="_labelled.npz"),
    )

    p = subparsers.add_parser(
        "synth-video",
        help="an arena video (H.264 .mp4) of the synthetic animal, as a camera records it",
        description="Write a whole-arena video: the synthetic animal walking on a textured "
        "floor inside a darker wall, a static object, a cable hanging to its neck (unless "
        "--no-tether), lighting drifting over the video and sensor noise. Ground-truth "
        "keypoints in video pixels go to --truth (.npz, locs_* (M, 2) each).",
    )
    p.add_argument("--frames", type=positive_int, required=True, help="number of frames")
    p.add_argument("--seed", type=seed, default=0, help="random seed (default: 0)")
    p.add_argument("--out", required=True, type=Path, help="video to write (.mp4)")
    p.add_argument("--truth", type=Path, help="ground truth to write (.npz, video px)")
    p.add_argument("--width", type=int_in(64, 4096), default=640, help="frame width (640)")
    p.add_argument("--height", type=int_in(64, 4096), default=480, help="frame height (480)")
    p.add_argument("--fps", type=fps, default=30.0, help="frame rate (default: 30)")
    p.add_argument("--no-tether", action="store_true", help="no cable to the animal")
    p.set_defaults(func=run_synth_video, writes=("out", "truth"))
