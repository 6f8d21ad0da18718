"""`recover`, `augment` and `split`: originals from the published set, our own x64, and a
train / validation / test split that keeps every group on one side."""

from __future__ import annotations

import argparse
import json

import numpy as np

from ..io import (
    FRAME_SIZE,
    DataError,
    load_labelled,
    save_labelled,
    save_npz,
    sha256_file,
    write_json,
)
from .arguments import beside, int_in, non_negative_float, non_negative_int, seed

RECOVER_EPILOG = """\
outputs:
  --out      originals in the data contract (one representative per group, labels mapped
             into its frame and averaged over the group), plus `group_size` and
             `representative_frame` (index into --data).
  --groups   `groups` (group id of every frame of --data, in its order; `direction-tagger
             split --groups` reads it), `representative_frame`, and each frame's transform
             relative to its representative: `frame_k`, `frame_flip`, `frame_shift` (x, y px),
             with the alignment residual `frame_residual`.
  --report   group count, size distribution, groups off the usual size, high-residual frames.
exit status 0 even when groups look odd: read the report (printed in short).
"""

AUGMENT_EPILOG = """\
factors (each x2 when on, x1 when off; all on = x64): rot90 (x4), vertical flip, pixel noise,
pixel shift, label noise. Output order: original-major, variants in a fixed order; keys
`original_index`, `groups` (the original's `groups` if it had them, else original_index) and
the transform of every frame (`aug_k`, `aug_flip`, `aug_shift_x`, `aug_shift_y`,
`aug_pixel_noise`, `aug_label_noise`). Same seed, same output.
"""

SPLIT_EPILOG = """\
groups, first found: --groups FILE (its `groups` key, one per frame of --data, e.g. from
`direction-tagger recover`); --group-key KEY (a key of --data, e.g. `video`; `frame` = every
frame its own group, only right for data without copies); the `groups` key of --data (written
by `direction-tagger augment`). Without any, the command refuses: a random split over
augmented copies leaks.

Too few groups to give every part with a share above 0 at least one (one or two recordings
for train / val / test): each group is cut into contiguous blocks of frames instead, ordered by
the data's `frame` key (image names, as `import-dlc` writes them) or by frame index, and whole
blocks are split; the split JSON's `rule` and `fallback` say so.
"""


def register(subparsers) -> None:
    p = subparsers.add_parser(
        "recover",
        help="group an augmented set by original (from the pixels) and recover the originals",
        description="Group the frames of an augmented labelled set by the original they came from "
        "(through rotation, flip, pixel shift and noise; order unknown), and write one clean "
        "representative per group with its labels averaged over the copies.",
        epilog=RECOVER_EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument("--data", required=True, help="augmented labelled set .npz")
    p.add_argument("--out", help="originals .npz to write (default: DATA_originals.npz)")
    p.add_argument("--groups", help="group of every frame .npz to write (default: DATA_groups.npz)")
    p.add_argument("--report", help="report JSON to write (default: DATA_recover_report.json)")
    p.add_argument("--montage", help="PNG of group representatives with their labels")
    p.add_argument(
        "--max-shift-px",
        type=int_in(0, 6),
        default=2,
        help="largest shift (px per axis) of a copy from its original (default 2)",
    )
    p.add_argument(
        "--representative",
        choices=("cleanest", "median"),
        default="cleanest",
        help="least noisy un-shifted copy, or per-pixel median of the un-shifted copies",
    )
    p.add_argument(
        "--residual-factor",
        type=non_negative_float,
        default=3.0,
        help="accept a copy when its residual <= factor x noise-explained + floor (default 3)",
    )
    p.add_argument(
        "--residual-floor",
        type=non_negative_float,
        default=1.0,
        help="grey levels^2 added to the acceptance threshold (default 1)",
    )
    p.add_argument(
        "--subpixel",
        choices=("auto", "on", "off"),
        default="auto",
        help="keep sub-pixel shift estimates (auto: when the copies show them)",
    )
    p.add_argument(
        "--threads",
        type=non_negative_int,
        default=1,
        help="torch threads for its many small matrix products (default 1; 0 = torch's own)",
    )
    p.set_defaults(
        func=run_recover,
        writes=("out", "groups", "report", "montage"),
        fill_outputs=beside(
            "data", out="_originals.npz", groups="_groups.npz", report="_recover_report.json"
        ),
    )

    p = subparsers.add_parser(
        "augment",
        help="make rotated / flipped / shifted / noisy copies of labelled originals",
        description="Re-create the published x64 augmentation from originals, each factor "
        "switchable and sized; labels transformed exactly.",
        epilog=AUGMENT_EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument("--data", required=True, help="originals .npz")
    p.add_argument("--out", help="augmented .npz to write (default: DATA_augmented.npz)")
    p.add_argument(
        "--seed", type=seed, default=0, help="random seed (same seed, same output; default 0)"
    )
    for flag, what in (
        ("rot90", "rotations by 90 degrees"),
        ("vflip", "vertical flips"),
        ("pixel-noise", "pixel-noise copies"),
        ("pixel-shift", "shifted copies"),
        ("label-noise", "label-noise copies"),
    ):
        p.add_argument(f"--no-{flag}", action="store_true", help=f"no {what}")
    p.add_argument(
        "--pixel-noise-sigma", type=non_negative_float, default=4.0, help="grey levels (default 4)"
    )
    p.add_argument(
        "--pixel-shift-px",
        type=int_in(0, FRAME_SIZE // 2 - 1),  # half the frame moves the animal out of it
        default=2,
        help="shifted copies move by -s..s px per axis, never (0, 0) (default 2)",
    )
    p.add_argument(
        "--label-noise-sigma",
        type=non_negative_float,
        default=0.5,
        help="px per coordinate (default 0.5)",
    )
    p.add_argument("--montage", help="PNG of all variants of one original")
    p.add_argument(
        "--montage-index", type=non_negative_int, default=0, help="which original (default 0)"
    )
    p.set_defaults(
        func=run_augment,
        writes=("out", "montage"),
        fill_outputs=beside("data", out="_augmented.npz"),
    )

    p = subparsers.add_parser(
        "split",
        help="train / validation / test split by group (no group on two sides)",
        description="Split the frames of a labelled set into parts, whole groups at a time, "
        "with each part's share of frames close to its fraction.",
        epilog=SPLIT_EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument("--data", required=True, help="labelled set .npz to split")
    src = p.add_mutually_exclusive_group()
    src.add_argument("--groups", help="groups .npz (key `groups`, one per frame)")
    src.add_argument("--group-key", help="key of --data holding the group of each frame")
    p.add_argument(
        "--fractions",
        default="0.8,0.1,0.1",
        help="train,val,test shares of frames, or name=share,... (default 0.8,0.1,0.1)",
    )
    p.add_argument("--seed", type=seed, default=0, help="shuffles the groups (default 0)")
    p.add_argument("--out", help="split JSON to write (default: DATA_split.json)")
    p.set_defaults(func=run_split, writes=("out",), fill_outputs=beside("data", out="_split.json"))


def run_recover(args) -> int:
    from ..originals.recover import recover_originals

    data = load_labelled(args.data)
    subpixel = {"auto": "auto", "on": True, "off": False}[args.subpixel]
    res = recover_originals(
        data.images,
        data.locs,
        max_shift_px=args.max_shift_px,
        representative=args.representative,
        residual_factor=args.residual_factor,
        residual_floor=args.residual_floor,
        subpixel=subpixel,
        threads=args.threads or None,
        progress=True,
    )
    sizes = np.bincount(res.group_of_frame, minlength=len(res.images))
    data_sha256 = sha256_file(args.data)
    save_labelled(
        args.out,
        res.images,
        res.locs,
        group_size=sizes,
        representative_frame=res.representative_frame,
    )
    save_npz(
        args.groups,
        groups=res.group_of_frame,
        representative_frame=res.representative_frame,
        frame_k=res.frame_k,
        frame_flip=res.frame_flip,
        frame_shift=res.frame_shift,
        frame_residual=res.frame_residual,
        data_sha256=np.array(data_sha256),  # `split --groups` checks it is given the same data
    )
    report = {
        "data": str(args.data),
        "data_sha256": data_sha256,
        "out": str(args.out),
        "groups_file": str(args.groups),
    } | res.report
    write_json(args.report, report, indent=1)
    if args.montage:
        from ..montage import save_montage

        # Odd groups first (they are what to look at), then the others in order.
        modal = report["modal_group_size"]
        order = np.argsort(sizes == modal, kind="stable")[:32]
        save_montage(
            args.montage,
            res.images[order],
            res.locs[order],
            titles=[f"group {g}: {sizes[g]} frames" for g in order],
        )
    short = {
        k: report[k]
        for k in (
            "n_frames",
            "n_groups",
            "modal_group_size",
            "group_size_counts",
            "n_groups_off_modal_size",
            "n_frames_high_residual",
        )
    }
    print(json.dumps(short))
    for warning in report["warnings"]:
        print(f"warning: {warning}")
    return 0


def run_augment(args) -> int:
    from ..originals.augment import augment_originals, augmentation_plan

    data = load_labelled(args.data)
    if args.montage and args.montage_index >= len(data.images):
        raise DataError(
            f"{args.data}: --montage-index {args.montage_index} is not one of its "
            f"{len(data.images)} originals"
        )
    factors = dict(
        rot90=not args.no_rot90,
        vflip=not args.no_vflip,
        noise=not args.no_pixel_noise,
        shift=not args.no_pixel_shift,
        label_noise=not args.no_label_noise,
    )
    images, locs, original = augment_originals(
        data.images,
        data.locs,
        args.seed,
        pixel_noise_sigma=args.pixel_noise_sigma,
        pixel_shift_px=args.pixel_shift_px,
        label_noise_sigma=args.label_noise_sigma,
        **factors,
    )
    plan = augmentation_plan(
        len(data.images), args.seed, pixel_shift_px=args.pixel_shift_px, **factors
    )
    extra = {key: value[original] for key, value in data.extra.items()}
    extra.setdefault("groups", original)
    save_labelled(
        args.out,
        images,
        locs,
        original_index=original,
        aug_k=plan["k"],
        aug_flip=plan["flip"],
        aug_shift_x=plan["shift_x"],
        aug_shift_y=plan["shift_y"],
        aug_pixel_noise=plan["pixel_noise"],
        aug_label_noise=plan["label_noise"],
        **extra,
    )
    if args.montage:
        from ..montage import save_montage

        sel = np.flatnonzero(original == args.montage_index)
        titles = [
            f"r{plan['k'][i] * 90}{' f' if plan['flip'][i] else ''}"
            f" s{plan['shift_x'][i]:+d}{plan['shift_y'][i]:+d}"
            f"{' n' if plan['pixel_noise'][i] else ''}{' l' if plan['label_noise'][i] else ''}"
            for i in sel
        ]
        save_montage(args.montage, images[sel], locs[sel], titles=titles, ncols=8)
    print(
        json.dumps(
            {
                "originals": len(data.images),
                "frames": len(images),
                "variants_per_original": len(images) // max(1, len(data.images)),
            }
        )
    )
    return 0


def run_split(args) -> int:
    from ..originals.split import (
        frame_groups,
        frame_names,
        parse_fractions,
        save_split,
        split_with_fallback,
    )

    data = load_labelled(args.data)
    data_sha256 = sha256_file(args.data)
    groups, source = frame_groups(args.data, len(data), data_sha256, args.groups, args.group_key)
    if groups is None:
        raise DataError(
            f"{args.data}: no groups to split by; give --groups (from `direction-tagger "
            "recover`) or --group-key (e.g. video), or --group-key frame for data "
            "without copies"
        )
    names = frame_names(args.data, len(data))
    try:
        fractions = parse_fractions(args.fractions)
        if "train" in fractions and not fractions["train"] > 0:
            raise ValueError(f"the 'train' part needs a share above 0, got {fractions['train']:g}")
        split, blocks = split_with_fallback(groups, fractions, args.seed, names)
    except ValueError as err:
        raise DataError(f"--fractions {args.fractions}: {err}") from None
    n_groups = len(np.unique(groups))
    wanted = " / ".join(f"{k} {v:g}" for k, v in fractions.items())
    meta = {}
    if blocks is None:
        rule = (
            f"by group: {n_groups} groups ({source}) shuffled with seed {args.seed}; each in "
            f"turn goes whole to the part furthest below its share of frames ({wanted}); no "
            "group is in two parts."
        )
    else:
        per_group = len(np.unique(blocks)) / n_groups
        order = "frame name (key 'frame')" if names is not None else "frame index"
        rule = (
            f"by contiguous blocks: {n_groups} group{'s' if n_groups > 1 else ''} ({source}) "
            f"cannot fill every part ({wanted}) whole, so each group's frames, ordered by "
            f"{order}, are cut into ~{per_group:.0f} contiguous blocks, shuffled with seed "
            f"{args.seed}; each block goes whole to the part furthest below its share. "
            "Neighbouring frames stay together, but parts share recordings: held-out "
            "accuracy is that of new frames of seen recordings, not of new recordings."
        )
        meta = {"fallback": "contiguous blocks within groups", "block_order": order}
        groups = blocks  # what no part may share
    info = save_split(
        args.out,
        split,
        rule,
        groups=groups,
        data=str(args.data),
        data_sha256=data_sha256,
        group_source=source,
        fractions_requested=fractions,
        seed=args.seed,
        **meta,
    )
    print(info["rule"])
    print(json.dumps(info["parts"]))
    return 0
