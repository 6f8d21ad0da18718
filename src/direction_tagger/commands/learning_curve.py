"""`subsample-split` and `learning-curve`: how many frames does a lab need to label?"""

from __future__ import annotations

import argparse
from pathlib import Path

from .found import found, recorded_path

SUBSAMPLE_EPILOG = """\
originals, first found: --groups FILE (its `groups` key, e.g. from `direction-tagger recover`:
the copies of one hand-labelled frame); --group-key KEY (a key of --data; `frame` = every
frame its own original, right for data without copies); the `original_index` key of --data
(written by `direction-tagger augment`).
The subset is drawn from the originals of the split's `train` part; `val` and `test` are
copied unchanged, so every point of a learning curve is validated and tested on the same
frames. One seed gives nested subsets: --count 20 holds the originals of --count 10.
"""


def register(subparsers) -> None:
    p = subparsers.add_parser(
        "subsample-split",
        help="a split whose training part is N labelled originals (learning curve)",
        description="Keep `count` randomly chosen originals, with all their copies, of a "
        "split's training part; validation and test stay as they are.",
        epilog=SUBSAMPLE_EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument("--split", required=True, help="split JSON (from `direction-tagger split`)")
    p.add_argument(
        "--data",
        help="the labelled set .npz the split is of (default: the one the split records)",
    )
    src = p.add_mutually_exclusive_group()
    src.add_argument("--groups", help="groups .npz: key `groups` = the original of each frame")
    src.add_argument("--group-key", help="key of --data holding the original of each frame")
    p.add_argument("--count", type=int, required=True, help="labelled originals to keep")
    p.add_argument("--seed", type=int, default=0, help="which random subset (>= 0; default 0)")
    p.add_argument(
        "--out", help="split JSON to write (default: SPLIT_n<COUNT>_seed<SEED>.json beside it)"
    )
    p.set_defaults(
        func=run_subsample_split,
        writes=("out",),
        fill_inputs=found(_data_of_split),
        fill_outputs=lambda a: {
            "out": Path(a.split).with_name(f"{Path(a.split).stem}_n{a.count}_seed{a.seed}.json")
        },
    )

    p = subparsers.add_parser(
        "learning-curve",
        help="error against the number of labelled originals: table, figure, Markdown",
        description="Gather the evaluations of models trained on nested subsets (from "
        "`subsample-split`) into one row per subset, mean ± sd over seeds per count.",
    )
    p.add_argument("--splits", nargs="+", required=True, help="each subset's split JSON")
    p.add_argument(
        "--metrics",
        nargs="+",
        required=True,
        help="each subset's metrics JSON (from `evaluate`), in the order of --splits",
    )
    p.add_argument(
        "--csv", help="table to write, one row per count and seed (default: learning_curve.csv)"
    )
    p.add_argument("--figure", help="PNG to write (default: learning_curve.png)")
    p.add_argument("--markdown", help="Markdown table to write (default: learning_curve.md)")
    p.add_argument("--title", default="", help="what the curve is of (e.g. the run's name)")
    # many inputs, one curve: written in the current folder, as `refine` writes ./refine
    p.set_defaults(
        func=run_learning_curve,
        writes=("csv", "figure", "markdown"),
        fill_outputs=lambda a: {
            n: Path(f"learning_curve{ending}")
            for n, ending in (("csv", ".csv"), ("figure", ".png"), ("markdown", ".md"))
        },
    )


def _data_of_split(args) -> dict:
    """The labelled set the split records (`data`, written by `split`)."""
    if args.data is not None:
        return {}
    from ..io import read_json

    record = Path(args.split)
    data = read_json(record, "split JSON").get("data")
    return {"data": recorded_path(record, "data", data, "data")}


def run_subsample_split(args) -> int:
    import numpy as np

    from ..io import DataError, load_labelled, sha256_file
    from ..originals.split import (
        frame_groups,
        load_split,
        load_split_info,
        save_split,
        subsample_originals,
    )

    if args.count < 1:
        raise DataError(f"--count must be at least 1, got {args.count}")
    if args.seed < 0:
        raise DataError(f"--seed must be >= 0, got {args.seed}")
    data = load_labelled(args.data)
    split, info = load_split(args.split, len(data)), load_split_info(args.split)
    if "train" not in split:
        raise DataError(f"{args.split}: no part 'train' (it has {sorted(split)})")
    data_sha256 = sha256_file(args.data)
    if info.get("data_sha256") not in (None, data_sha256):
        raise DataError(
            f"{args.split} is a split of another file than {args.data} (sha256 "
            f"{info['data_sha256'][:12]}... vs {data_sha256[:12]}...)"
        )
    originals, source = frame_groups(
        args.data, len(data), data_sha256, args.groups, args.group_key, default_key="original_index"
    )
    if originals is None:
        raise DataError(
            f"{args.data}: no originals to count; give --groups (from "
            "`direction-tagger recover`) or --group-key, or --group-key frame for "
            "data without copies"
        )
    try:
        subset = subsample_originals(split["train"], originals, args.count, args.seed)
    except ValueError as err:  # e.g. a split of a larger set than --data
        raise DataError(f"{args.split}: {err}") from None
    available = len(np.unique(originals[split["train"]]))
    used = len(np.unique(originals[subset]))
    rule = (
        f"learning-curve subset: {used} of the {available} originals ({source}) of the "
        f"training part of {args.split} (asked {args.count}), shuffled with seed "
        f"{args.seed} and taken in that order (a larger count with this seed adds "
        f"originals), with all {len(subset)} of their training frames; val and test are "
        "that split's, unchanged."
    )
    save_split(
        args.out,
        split | {"train": subset},
        rule,
        data=str(args.data),
        data_sha256=data_sha256,
        original_source=source,
        source_split=str(args.split),
        source_rule=info.get("rule"),
        count_requested=args.count,
        n_originals=used,
        n_originals_available=available,
        seed=args.seed,
    )
    print(rule)
    return 0


def run_learning_curve(args) -> int:
    from ..io import DataError
    from ..learning_curve import write_learning_curve

    if len(args.splits) != len(args.metrics):
        raise DataError(
            f"{len(args.splits)} --splits but {len(args.metrics)} --metrics; "
            "give one of each per subset"
        )
    table = write_learning_curve(
        args.splits, args.metrics, args.csv, args.figure, args.markdown, title=args.title
    )
    print(table.to_string(index=False))
    return 0
