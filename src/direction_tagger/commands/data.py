"""Data commands (library: data): `download`, `verify` and `synth` (synthetic rats for the demo
and tests): get the data, checked, and look at it before training."""

from __future__ import annotations

import argparse
import json
import textwrap

from .. import io
from ..checks import FPS_RANGE
from ..data import synth
from ..data.download import (
    CACHE_DIRNAME,
    DATA_DIR,
    LABELLED_NAME,
    MOVIE_NAME,
    PIN_HINT,
    PUBLISHED_DRIVE_ID,
    fetch,
)
from ..data.transport import FetchError, drive_view_url, parse_source
from ..data.verify import PLOT_FILES, PUBLISHED_N, write_outputs
from ..io import DataError
from .arguments import (
    beside,
    non_negative_float,
    non_negative_int,
    number_in,
    positive_float,
    positive_int,
    seed,
)

DOWNLOAD_EPILOG = f"""\
sources:
  a Google Drive share link (https://drive.google.com/file/d/<id>/view, ...open?id=<id>,
  ...uc?id=<id>) or bare file id; an http(s) URL (mirror, Zenodo); or a local path.

no network when the data is already here:
  a file already at --out is checked and kept; so is a file named --member (or an archive
  holding it) that you put into {DATA_DIR}/ or --out's folder, and an earlier download kept
  in <--out folder>/{CACHE_DIRNAME}/.

checks, in order (a failing file is moved to <name>.bad-<sha8>, never to --out):
  not an HTML page; a complete zip (.npz and archives are zips); the pinned sha256.
  Without --sha256 the hash is written to <name>.sha256 and printed; pin it in the
  config as `{PIN_HINT} <hex>`.

failures:
  retried with backoff (--retries, --backoff), resuming where the server allows: timeouts,
  dropped or reset connections, short bodies, HTTP 429 and 5xx. Not retried, reported at
  once: a host name that does not resolve, a refused connection, no route, TLS errors,
  other HTTP 4xx, a Google Drive quota or permission page. The error then says how to get
  the file by hand, where to put it, and the other ways (mirror, login node, demo).

archive or .npz:
  decided by content. A single .npz becomes --out; an archive holding .npz files is kept
  in {CACHE_DIRNAME}/ and --member (default: --out's file name) is extracted to --out.
  Published members: {LABELLED_NAME}, {MOVIE_NAME}.
"""

VERIFY_EPILOG = f"""\
fatal (exit 2, one line naming file, key and problem): object arrays (refused from the
header, never unpickled), missing keys, images not (N, 50, 50), an empty set, NaN/inf
labels, labels outside [-0.5, 49.5] px.
notes in the summary (also printed): N other than --expected-n (a warning) or, without
one, other than the published {PUBLISHED_N:,}; duplicate frames; zero-length body
segments; the README spelling 'locs_necks'.
plots written to --plots-dir: {PLOT_FILES["body_length"]}, {PLOT_FILES["heading"]}
(labelled sets and movies with ground truth), {PLOT_FILES["brightness"]} (movies).
"""


def register(subparsers) -> None:
    register_synth(subparsers)
    p = subparsers.add_parser(
        "download",
        help="fetch a data file, checksummed, without ever keeping bad data",
        description="Fetch the labelled set or movie from Google Drive, a URL or a path; retry "
        "with backoff, resume where the server allows, and rename onto --out only after all "
        "checks passed.",
        epilog=DOWNLOAD_EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument(
        "--source", required=True, help="Google Drive link or id, http(s) URL, or local path"
    )
    p.add_argument("--out", required=True, help="data file to produce (.npz)")
    p.add_argument(
        "--sha256",
        default=None,
        help=f"expected sha256 of the download (config `{PIN_HINT}`); empty = not pinned",
    )
    p.add_argument(
        "--member",
        default=None,
        help="file to take when the download is an archive (default: --out's name)",
    )
    p.add_argument(
        "--force",
        action="store_true",
        help="download again even if --out exists (replaced only if the new file passes)",
    )
    p.add_argument(
        "--retries", type=non_negative_int, default=5, help="retries after a failure (default 5)"
    )
    p.add_argument(
        "--backoff",
        type=non_negative_float,
        default=1.0,
        help="first retry delay in s, doubled each retry (default 1)",
    )
    p.add_argument(
        "--timeout",
        type=positive_float,
        default=60.0,
        help="seconds to wait for the server between bytes (default 60)",
    )
    p.add_argument(
        "--local-dir",
        action="append",
        default=None,
        help=f"folder to look in for a file put there by hand (repeatable; default {DATA_DIR}/)",
    )
    p.set_defaults(func=run_download, writes=("out",))

    p = subparsers.add_parser(
        "verify",
        help="check a labelled set (or movie) and write summary, montage and plots",
        description="Check keys, dtypes, shapes, label finiteness and bounds, duplicates and N; "
        "write a summary JSON, a montage of sample frames with labels drawn, and "
        "label-distribution plots.",
        epilog=VERIFY_EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument("--data", required=True, help="labelled set .npz (or movie .npz with --movie)")
    p.add_argument("--summary", help="summary JSON to write (default: DATA_verify.json)")
    p.add_argument("--montage", help="montage PNG to write (default: DATA_montage.png)")
    p.add_argument("--plots-dir", help="folder for the plots (default: DATA_plots/)")
    p.add_argument(
        "--expected-n",
        type=non_negative_int,
        default=None,
        help=f"frame count to expect; another count is a warning (published: "
        f"{PUBLISHED_N}; 0 = no expectation)",
    )
    p.add_argument("--movie", action="store_true", help="--data is a movie (labels optional)")
    p.set_defaults(
        func=run_verify,
        writes=("summary", "montage"),
        writes_folders=("plots_dir",),
        fill_outputs=beside(
            "data", summary="_verify.json", montage="_montage.png", plots_dir="_plots"
        ),
    )


def run_download(args) -> int:
    try:
        fetch(
            args.source,
            args.out,
            args.sha256 or None,
            member=args.member,
            force=args.force,
            retries=args.retries,
            backoff=args.backoff,
            timeout=args.timeout,
            local_dirs=args.local_dir,
        )
    except FetchError as err:
        # This is the first command a new user runs (the workflow's download), often on a
        # machine that cannot reach Google Drive: after what went wrong, say what they can do.
        raise DataError(str(err), [*err.lines, *what_to_do(args.source, args.out)]) from None
    return 0


ADVICE_WIDTH = 98  # the CLI indents these lines by 2: 100 characters in all


def what_to_do(source: str, out: str) -> list[str]:
    """The ways to the data when the download fails, in a few lines of at most 98 characters
    (longer only where a link or a path is): by hand, from a mirror, from the login node, or
    none at all (the demo)."""
    src = parse_source(source)
    link = {"drive": drive_view_url(src.value), "http": src.value}.get(
        src.kind, drive_view_url(PUBLISHED_DRIVE_ID)
    )
    paragraphs = [
        f"Download it by hand from {link}",
        f"and put it at {out}: its sha256 is then recorded and can be pinned "
        "(data.published.sha256); data.published.url also takes a mirror URL or a local path.",
        "On a cluster the download runs where snakemake runs: start snakemake on the login node.",
        "No data at all? `bash scripts/demo.sh` runs everything offline on synthetic rats.",
    ]
    return [
        line
        for text in paragraphs
        for line in textwrap.wrap(
            text, ADVICE_WIDTH, break_long_words=False, break_on_hyphens=False
        )
    ]


def run_verify(args) -> int:
    summary = write_outputs(
        args.data,
        args.summary,
        args.montage,
        args.plots_dir,
        movie=args.movie,
        expected_n=args.expected_n,
    )
    short = {k: summary[k] for k in ("file", "kind", "n_frames", "sha256", "duplicates")}
    print(json.dumps(short))
    for note in summary["notes"]:
        print(f"note: {note}")
    return 0


MONTAGE_FRAMES = 32


def register_synth(subparsers) -> None:
    parser = subparsers.add_parser(
        "synth",
        help="make synthetic rat frames (labelled set or movie with ground truth)",
        description="Render synthetic rats seen from above in 50x50 uint8 frames, with labels "
        "for tail base, neck and nose. The same seed always gives the same file.",
    )
    kinds = parser.add_subparsers(dest="synth_kind", required=True, metavar="KIND")

    labelled = kinds.add_parser(
        "labelled",
        help="independent labelled frames (data contract: images, locs_base/neck/head)",
        description="Write N independent labelled frames: random posture, heading, size, "
        "polarity, floor, blur, noise and distractors.",
    )
    labelled.add_argument("--n", type=positive_int, required=True, help="number of frames")
    labelled.add_argument(
        "--species",
        choices=synth.SPECIES,
        default="rat",
        help="rat (default), mouse (larger head and ears, rounder body) or mixed (each frame "
        "either)",
    )
    labelled.add_argument(
        "--variety",
        choices=synth.VARIETIES,
        default="standard",
        help="standard (default) or wide: looks, sizes, tails and lighting varied as widely as "
        "real rigs vary (what the pretrained start model learns from)",
    )
    _synth_options(labelled)
    labelled.set_defaults(func=run_labelled)

    movie = kinds.add_parser(
        "movie",
        help="a continuous movie of one animal, with ground-truth labels",
        description="Write a movie of one animal that walks, pauses, looks around, turns and "
        "turns around; the crop follows it. Ground truth is stored as locs_* (data contract).",
    )
    movie.add_argument("--frames", type=positive_int, required=True, help="number of frames")
    movie.add_argument(
        "--fps",
        type=number_in(synth.MIN_MOVIE_FPS, FPS_RANGE[1], " frames per second"),
        default=30.0,
        help="frame rate (default: 30)",
    )
    _synth_options(movie)
    movie.set_defaults(func=run_movie)


def _synth_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--seed", type=seed, default=0, help="random seed (default: 0)")
    parser.add_argument("--out", required=True, metavar="PATH.npz", help="output .npz file")
    parser.add_argument(
        "--polarity",
        choices=["random", "light", "dark"],
        default="random",
        help="light animal on dark floor, dark on light, or random (default; per frame for "
        "labelled sets, per movie for movies)",
    )
    parser.add_argument(
        "--montage",
        metavar="PNG",
        help=f"also write a PNG of the first {MONTAGE_FRAMES} frames with their labels",
    )
    parser.set_defaults(writes=("out", "montage"))


def run_labelled(args) -> int:
    images, locs = synth.make_labelled_set(
        args.n, args.seed, polarity=args.polarity, species=args.species, variety=args.variety
    )
    io.save_labelled(args.out, images, locs)
    if args.montage:
        k = min(MONTAGE_FRAMES, len(images))
        from ..montage import save_montage  # matplotlib: only for the montage

        save_montage(args.montage, images[:k], locs[:k], titles=[str(i) for i in range(k)])
    print(f"wrote {len(images)} labelled frames to {args.out}")
    return 0


def run_movie(args) -> int:
    images, locs = synth.make_movie(args.frames, args.seed, fps=args.fps, polarity=args.polarity)
    io.save_movie(args.out, images, args.fps, locs)
    if args.montage:
        k = min(MONTAGE_FRAMES, len(images))
        from ..montage import save_montage  # matplotlib: only for the montage

        save_montage(args.montage, images[:k], locs[:k], titles=[f"frame {i}" for i in range(k)])
    print(f"wrote a {len(images)}-frame movie at {args.fps:g} fps to {args.out}")
    return 0
