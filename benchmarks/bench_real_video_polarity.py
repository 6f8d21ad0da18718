"""Head/tail polarity and QC on a real arena video, checked by a tail-root finder of its own.

The workflow is run as configured first, e.g. in WORK with this config (the numbers in
docs/quality_control.md):

    run: real
    data: {source: dlc, dlc: {project: ../shared/data/xmwell_dlc_project}}
    split: {train: 0.75, val: 0.1, test: 0.15}
    train: {architecture: fast_heatmap_unet, steps: 2000, batch_size: 64}
    movies: {}
    synthetic_movies: {}
    videos: {openfield: ../shared/data/openfield_video/openfield_m3v1_first_half.mp4}

    snakemake results/real/videos/openfield/predictions.csv --directory WORK \
        --snakefile Snakefile --cores 2 --configfile WORK/real.yaml

This reads the video predictions table it made. Then, on the video:

- an **independent tail-root checker** (this file; none of the tracker's code): per frame,
  the animal is the dark blob (a per-pixel median background over frames spread over the
  video, a threshold at a quarter of the animal's contrast), its depth the Euclidean distance
  transform; what sticks out of the deep core's reach is thin, the piece reaching furthest
  from the body is the tail, and its root is its pixel nearest the body;
- **swapped frames**: frames where the checker sees a tail and the root is nearer the
  predicted nose than the predicted tail base (and clearly so), over frames where the tail
  is seen; whether each swapped frame is flagged (`qc_any`);
- **flagged share** and the share of flagged frames that are wrong (swapped, a point off
  the animal, or the tail base further than BASE_OFF body lengths from the checker's root);
- **points on the animal**: all three keypoints within ON_ANIMAL_PX of the animal's mask;
- montages of the swapped, the turned-around and a sample of the flagged frames (PNG) to
  look at.

    python benchmarks/bench_real_video_polarity.py \
        --predictions WORK/results/RUN/videos/VIDEO/predictions.csv \
        --video-file ../shared/data/openfield_video/openfield_m3v1_first_half.mp4 --out OUT

Real data is for measurement only: nothing of it is committed, no test reads it.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import imageio_ffmpeg
import numpy as np
import pandas as pd
from PIL import Image, ImageDraw
from scipy import ndimage

CORE_FRACTION = 0.4  # the core: pixels at least this x the deepest pixel's depth inside
TAIL_REACH = 1.5  # a tail piece reaches at least this x the deepest depth from its root
ON_ANIMAL_PX = 6.0  # a keypoint this near the animal's mask counts as on it
MARGIN = 0.2  # x body length: the root must be this much nearer one end to call it
BASE_OFF = 0.35  # x median body length: a tail base this far from the root is off


def frames_of(path: Path):
    """Grey frames (H, W) uint8, decoded by imageio-ffmpeg."""
    reader = imageio_ffmpeg.read_frames(str(path))
    meta = next(reader)
    w, h = meta["size"]
    for raw in reader:
        yield np.frombuffer(raw, np.uint8).reshape(h, w, -1)[..., 0]


def background(path: Path, n: int = 60) -> np.ndarray:
    frames = list(frames_of(path))
    stack = np.stack(frames[:: max(1, len(frames) // n)]).astype(np.float32)
    return np.median(stack, axis=0), len(frames)


def animal_mask(frame: np.ndarray, bg: np.ndarray, near: tuple[float, float]) -> np.ndarray:
    """The dark animal: pixels darker than the floor by half the frame's largest departure
    (at least 25 grey levels), the connected piece nearest `near` (x, y)."""
    diff = bg - frame.astype(np.float32)
    level = max(20.0, 0.25 * float(np.percentile(diff, 99.95)))  # a grey tail is paler
    mask = ndimage.binary_closing(diff > level, iterations=1)
    labels, n = ndimage.label(mask)
    if n == 0:
        return mask
    sizes = ndimage.sum_labels(mask, labels, np.arange(1, n + 1))
    ys, xs = np.nonzero(labels)
    big = np.flatnonzero(sizes >= 0.3 * sizes.max()) + 1
    best, best_d = big[0], np.inf
    for k in big:
        cy, cx = ndimage.center_of_mass(labels == k)
        d = np.hypot(cx - near[0], cy - near[1])
        if d < best_d:
            best, best_d = k, d
    return labels == best


def tail_root(mask: np.ndarray):
    """(x, y) of the tail's root, or None. Depth = the distance transform of the mask; the
    core = pixels deeper than CORE_FRACTION of the deepest; the body = everything within
    that depth of the core; what sticks out of the body in pieces is thin, and the tail is
    the piece reaching furthest (at least TAIL_REACH x the deepest depth: ears and paws
    do not); its root is its pixel nearest the body."""
    if mask.sum() < 50:
        return None
    depth = ndimage.distance_transform_edt(mask)
    deepest = float(depth.max())
    core = depth >= CORE_FRACTION * deepest
    labels, n = ndimage.label(core)
    sizes = ndimage.sum_labels(core, labels, np.arange(1, n + 1))
    core = labels == (np.argmax(sizes) + 1)
    body = ndimage.distance_transform_edt(~core) <= CORE_FRACTION * deepest + 1.5
    thin = mask & ~body
    pieces, n = ndimage.label(thin, structure=np.ones((3, 3)))
    if n == 0:
        return None
    touch = ndimage.binary_dilation(body, iterations=2)
    from_body = ndimage.distance_transform_edt(~body)
    best, best_reach = None, TAIL_REACH * deepest
    for k in np.unique(pieces[touch & thin]):
        if k == 0:
            continue
        ys, xs = np.nonzero(pieces == k)
        reach = from_body[ys, xs]
        if reach.max() >= best_reach:
            i = int(np.argmin(reach))
            best, best_reach = (float(xs[i]), float(ys[i])), reach.max()
    return best


def check(video: Path, table: pd.DataFrame) -> pd.DataFrame:
    bg, _ = background(video)
    rows = []
    for i, frame in enumerate(frames_of(video)):
        if i >= len(table):
            break
        r = table.iloc[i]
        base = np.array([r["base_x_video"], r["base_y_video"]])
        neck = np.array([r["neck_x_video"], r["neck_y_video"]])
        nose = np.array([r["head_x_video"], r["head_y_video"]])
        mask = animal_mask(frame, bg, tuple((base + nose) / 2))
        root = tail_root(mask)
        away = ndimage.distance_transform_edt(~mask) if mask.any() else None
        on = [
            away is not None
            and away[
                int(np.clip(round(p[1]), 0, mask.shape[0] - 1)),
                int(np.clip(round(p[0]), 0, mask.shape[1] - 1)),
            ]
            <= ON_ANIMAL_PX
            for p in (base, neck, nose)
        ]
        body = np.linalg.norm(nose - base)
        swapped = seen = False
        to_base = np.nan
        if root is not None:
            seen = True
            to_base = np.hypot(root[0] - base[0], root[1] - base[1])
            to_nose = np.hypot(root[0] - nose[0], root[1] - nose[1])
            swapped = to_nose + MARGIN * body < to_base
        rows.append(
            {
                "frame": i,
                "tail_seen": seen,
                "root_x": root[0] if root else np.nan,
                "root_y": root[1] if root else np.nan,
                "swapped": swapped,
                "on_animal": all(on),
                "base_to_root": to_base,
                "body_px": body,
            }
        )
    return pd.DataFrame(rows)


def montage(video: Path, table: pd.DataFrame, checked: pd.DataFrame, frames, out: Path, title):
    """Close-ups of `frames` (up to 40): predicted tail base blue, neck green, nose red, the
    checker's tail root yellow; frame number and flags written above."""
    frames = list(frames)[:40]
    if not frames:
        return
    wanted = set(frames)
    tiles = {}
    for i, frame in enumerate(frames_of(video)):
        if i > max(wanted):
            break
        if i not in wanted:
            continue
        r, c = table.iloc[i], checked.iloc[i]
        cx, cy = r["crop_x"], r["crop_y"]
        half = 70
        image = Image.fromarray(frame).convert("RGB")
        draw = ImageDraw.Draw(image)
        for name, colour in (("base", "blue"), ("neck", "lime"), ("head", "red")):
            x, y = r[f"{name}_x_video"], r[f"{name}_y_video"]
            draw.ellipse([x - 3, y - 3, x + 3, y + 3], outline=colour, width=2)
        if np.isfinite(c["root_x"]):
            x, y = c["root_x"], c["root_y"]
            draw.rectangle([x - 3, y - 3, x + 3, y + 3], outline="yellow", width=2)
        tile = image.crop((int(cx - half), int(cy - half), int(cx + half), int(cy + half)))
        tile = tile.resize((210, 210))
        flags = [k[3:] for k in r.index if k.startswith("qc_") and k != "qc_any" and r[k]]
        ImageDraw.Draw(tile).text((3, 2), f"{i} {' '.join(flags)[:30]}", fill="magenta")
        tiles[i] = tile
    cols = 8
    rows = (len(frames) + cols - 1) // cols
    sheet = Image.new("RGB", (cols * 210, rows * 210 + 16), "white")
    ImageDraw.Draw(sheet).text((4, 2), title, fill="black")
    for j, i in enumerate(frames):
        if i in tiles:
            sheet.paste(tiles[i], ((j % cols) * 210, 16 + (j // cols) * 210))
    sheet.save(out)


def base_calibration(table: pd.DataFrame, checked: pd.DataFrame) -> dict | None:
    """Does the calibration fitted on the labelled rig hold on this one? The network's own
    tail base (frames where it was kept, with the chosen polarity) against the checker's root
    moved inward by the offset measured where the network is sure (P(within 2 px) >= 0.9):
    per bin of the calibrated P(within 2 px), its mean and the share within 2 crop px. The
    checker's root has errors of its own, so the observed share is a lower bound."""
    if "base_p_within_2px" not in table.columns:
        return None
    exchanged = table.get("polarity_exchanged", pd.Series(False, index=table.index))
    exchanged = exchanged.to_numpy(bool)[:, None]

    def raw(k):
        return table[[f"{k}_x_raw_video", f"{k}_y_raw_video"]].to_numpy(float)

    base = np.where(exchanged, raw("head"), raw("base"))
    root = checked[["root_x", "root_y"]].to_numpy(float)
    axis = raw("neck") - root
    axis /= np.linalg.norm(axis, axis=1, keepdims=True)
    d = base - root
    along = (d * axis).sum(axis=1)
    across = d[:, 0] * axis[:, 1] - d[:, 1] * axis[:, 0]
    p = table["base_p_within_2px"].to_numpy(float)
    own = ~table.get("base_from_tail_root", pd.Series(False, index=table.index)).to_numpy(bool)
    usable = own & np.isfinite(along) & np.isfinite(p) & ~checked["swapped"].to_numpy(bool)
    sure = usable & (p >= 0.9)
    if sure.sum() < 20:
        return None
    offset = np.median(along[sure])
    miss = np.hypot(along - offset, across) * 50.0 / table["crop_side"].to_numpy(float)
    bins = []
    for lo, hi in ((0, 0.2), (0.2, 0.5), (0.5, 0.8), (0.8, 0.9), (0.9, 0.95), (0.95, 1.01)):
        inside = usable & (p >= lo) & (p < hi)
        if inside.any():
            bins.append(
                {
                    "bin": [lo, min(hi, 1.0)],
                    "frames": int(inside.sum()),
                    "mean_p_within_2px": round(float(p[inside].mean()), 3),
                    "observed_within_2px": round(float((miss[inside] <= 2.0).mean()), 3),
                }
            )
    return {"offset_video_px": round(float(offset), 2), "bins": bins}


def summarise(table: pd.DataFrame, checked: pd.DataFrame) -> dict:
    seen = checked["tail_seen"].to_numpy()
    swapped = checked["swapped"].to_numpy()
    flagged = table["qc_any"].fillna(False).to_numpy(bool)
    body = np.nanmedian(checked["body_px"])
    base_off = (checked["base_to_root"] > BASE_OFF * body).to_numpy()
    wrong = swapped | ~checked["on_animal"].to_numpy() | base_off
    flags = {
        k[3:]: {
            "share": float(table[k].mean()),
            "wrong_share_of_flagged": float(wrong[table[k].to_numpy(bool)].mean())
            if table[k].any()
            else None,
        }
        for k in table.columns
        if k.startswith("qc_") and k != "qc_any"
    }
    out = {
        "frames": int(len(table)),
        "tail_seen_frames": int(seen.sum()),
        "swapped_frames": int(swapped.sum()),
        "swapped_share_of_tail_seen": float(swapped.sum() / max(1, seen.sum())),
        "swapped_flagged": int((swapped & flagged).sum()),
        "flagged_share": float(flagged.mean()),
        "wrong_share_of_flagged": float(wrong[flagged].mean()) if flagged.any() else None,
        "points_on_animal_share": float(checked["on_animal"].mean()),
        "tail_base_off_frames": int(base_off.sum()),
        "wrong_frames": int(wrong.sum()),
        "wrong_flagged": int((wrong & flagged).sum()),
        "per_flag": flags,
    }
    if "polarity_exchanged" in table.columns:
        out["turned_around_frames"] = int(table["polarity_exchanged"].sum())
    if "base_from_tail_root" in table.columns:
        out["tail_base_from_root_frames"] = int(table["base_from_tail_root"].sum())
    out["tail_base_calibration"] = base_calibration(table, checked)
    return out


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--predictions", type=Path, required=True, help="videos/<v>/predictions.csv")
    p.add_argument("--video-file", type=Path, required=True)
    p.add_argument("--out", type=Path, required=True, help="folder for the JSON and montages")
    p.add_argument("--label", default="after")
    args = p.parse_args(argv)
    args.out.mkdir(parents=True, exist_ok=True)
    table = pd.read_csv(args.predictions)
    checked = check(args.video_file, table)
    checked.to_csv(args.out / f"checker_{args.label}.csv", index=False)
    summary = summarise(table, checked)
    (args.out / f"summary_{args.label}.json").write_text(json.dumps(summary, indent=2))
    print(json.dumps(summary, indent=2))
    swapped = np.flatnonzero(checked["swapped"].to_numpy())
    montage(
        args.video_file,
        table,
        checked,
        swapped,
        args.out / f"swapped_{args.label}.png",
        f"{args.label}: swapped by the checker ({len(swapped)})",
    )
    if "polarity_exchanged" in table.columns:
        turned = np.flatnonzero(table["polarity_exchanged"].to_numpy(bool))
        montage(
            args.video_file,
            table,
            checked,
            turned[:: max(1, len(turned) // 40)],
            args.out / f"turned_{args.label}.png",
            f"{args.label}: turned around ({len(turned)})",
        )
    flagged = np.flatnonzero(table["qc_any"].fillna(False).to_numpy(bool))
    rng = np.random.default_rng(0)
    sample = (
        np.sort(rng.choice(flagged, min(40, len(flagged)), replace=False)) if len(flagged) else []
    )
    montage(
        args.video_file,
        table,
        checked,
        sample,
        args.out / f"flagged_{args.label}.png",
        f"{args.label}: flagged, a sample of 40 of {len(flagged)}",
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
