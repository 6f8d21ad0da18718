"""Does `refine`'s choice of frames pay? Refine vs random choice on real mice (issue #25).

On a labelled set with a recording key (the shared XMWell mice, NOT part of this repository):
per seed, the recordings are shuffled into 4 to start from (3 train, 1 validation), 4 to choose
from and the rest to test on (never used otherwise). A model is trained on the starting labels
with the default options; it predicts the frames of the recordings to choose from (TTA 2), each
recording one "movie", and `refine`'s library (`refine_frames`, the path `snakemake refine`
takes) picks `--frames` of them -- against as many picked at random from the same frames. A
simulated labeller gives the chosen frames their ground-truth labels; each arm fine-tunes the
starting model (`train --init`'s path: a quarter of its steps, the same for both arms) on the
starting labels plus its frames, and is tested on the test recordings: mean keypoint error and
the share of frames with a keypoint > 3 px off, mean and sd over seeds, and the fine-tuning's
training time against training from scratch.

The frames here are single labelled frames (20 per recording), not movies: there is no
calibration (too few validation frames; doubt falls back to the model's confidence), no
head/tail certainty over time, and of the QC flags only those of one frame (uncertain via
spread and confidence, geometry) apply.

    python benchmarks/bench_refine.py --data ../shared/data/real_mice_xmwell_50pix.npz
"""

from __future__ import annotations

import argparse
import dataclasses
import tempfile
import time
from pathlib import Path

import numpy as np

from direction_tagger.device import cpu_name
from direction_tagger.io import KEYPOINTS, save_movie
from direction_tagger.movies.predict import Predictor
from direction_tagger.movies.qc import geometry_reference, qc_flags
from direction_tagger.movies.tables import movie_table, write_table
from direction_tagger.refine.extract import Source, refine_frames
from direction_tagger.refine.merge import MAX_COPIES, NEW_SHARE
from direction_tagger.train.config import TrainConfig
from direction_tagger.train.loop import train
from direction_tagger.train.model_file import load_model


def errors_on(model_path: Path, images, locs) -> tuple[float, float]:
    """(mean keypoint error px, share of frames with a keypoint > 3 px off)."""
    model, _ = load_model(model_path)
    pred = Predictor(model, bf16=False).predict(images, tta=2)
    err = np.linalg.norm(pred.locs - locs, axis=-1)
    return float(err.mean()), float((err > 3).any(axis=1).mean())


def fit(images, locs, val_images, val_locs, cfg, out: Path, init=None) -> float:
    start = time.monotonic()
    train(images, locs, val_images, val_locs, cfg, out, out.with_suffix(".csv"), init=init)
    return time.monotonic() - start


def one_seed(data, seed: int, args, work: Path) -> dict:
    recordings = np.unique(data["video"])
    order = np.random.default_rng(seed).permutation(recordings)
    start, pool, test = order[:4], order[4:8], order[8:]
    images, locs = data["images"], data["locs"]
    of = {r: np.flatnonzero(data["video"] == r) for r in recordings}
    train_idx = np.concatenate([of[r] for r in start[:3]])
    val_idx = of[start[3]]
    test_idx = np.concatenate([of[r] for r in test])
    cfg = TrainConfig.from_dict({"seed": seed, "amp": False} | args.options)
    base = work / f"base_s{seed}.pt"
    scratch_s = fit(images[train_idx], locs[train_idx], images[val_idx], locs[val_idx], cfg, base)
    model, meta = load_model(base)
    predictor = Predictor(model, bf16=False)
    reference = geometry_reference(locs[train_idx])

    # each recording to choose from: a "movie" of its frames, with the model's predictions
    sources, pool_idx = [], []
    for r in pool:
        idx = of[r]
        pred = predictor.predict(images[idx], tta=2)
        flags = qc_flags(pred.locs, pred.confidence, pred.spread, reference=reference)
        flags = {k: flags[k] for k in ("spread", "low_confidence", "geometry")}  # one frame's
        table = movie_table(pred.locs, pred.confidence, pred.spread, fps=0.1, flags=flags)
        name = f"rec_{r}"
        save_movie(work / f"{name}.npz", images[idx])
        write_table(work / f"{name}.csv", table)
        sources.append(Source(name, work / f"{name}.csv", work / f"{name}.npz"))
        pool_idx.append(idx)
    labelled = work / f"start_s{seed}.npz"
    np.savez(labelled, images=images[train_idx], **_locs(locs[train_idx]))
    manifest = refine_frames(
        sources, work / f"refine_s{seed}", args.frames, labelled=labelled, progress=False
    )
    by_name = dict(zip([s.name for s in sources], pool_idx))
    chosen = np.array([by_name[m][f] for m, f in zip(manifest.movie, manifest.frame)])
    random = np.random.default_rng(1000 + seed).choice(
        np.concatenate(pool_idx), args.frames, replace=False
    )

    steps = max(1, int(np.ceil(args.fraction * meta["budget"]["steps"])))
    tune = dataclasses.replace(cfg, steps=steps)
    init = {"state": model.state_dict(), "path": str(base)}
    result = {"seed": seed, "scratch_s": scratch_s, "steps": meta["budget"]["steps"]}
    result["start"] = errors_on(base, images[test_idx], locs[test_idx])
    # did the choice find frames the starting model gets wrong? (its error on them)
    result["chosen_start"] = errors_on(base, images[chosen], locs[chosen])
    result["random_start"] = errors_on(base, images[random], locs[random])
    for arm, new in (("refine", chosen), ("random", random)):
        # the training part as refine-merge builds it: the new frames listed `copies` times
        copies = int(
            min(
                MAX_COPIES, max(1, round(NEW_SHARE * len(train_idx) / ((1 - NEW_SHARE) * len(new))))
            )
        )
        idx = np.concatenate([train_idx, np.repeat(new, copies)])
        out = work / f"{arm}_s{seed}.pt"
        result[f"{arm}_s"] = fit(
            images[idx], locs[idx], images[val_idx], locs[val_idx], tune, out, init
        )
        result[arm] = errors_on(out, images[test_idx], locs[test_idx])
    result["tune_steps"] = steps
    return result


def _locs(locs) -> dict:
    return {f"locs_{k}": locs[:, i] for i, k in enumerate(KEYPOINTS)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", required=True, type=Path, help="labelled .npz with `video`")
    parser.add_argument("--frames", type=int, default=20)
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    parser.add_argument("--fraction", type=float, default=0.25, help="fine-tuning share")
    parser.add_argument(
        "--steps", type=int, default=None, help="starting model's steps (default: automatic)"
    )
    args = parser.parse_args()
    args.options = {} if args.steps is None else {"steps": args.steps}
    with np.load(args.data, allow_pickle=False) as f:
        data = {"images": f["images"], "video": f["video"].astype(str)}
        data["locs"] = np.stack([f[f"locs_{k}"] for k in KEYPOINTS], axis=1).astype(np.float32)
    print(f"{cpu_name()}; {len(data['images'])} frames of {len(set(data['video']))} recordings")
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        for seed in args.seeds:
            rows.append(one_seed(data, seed, args, Path(tmp)))
            r = rows[-1]
            print(
                f"seed {seed}: start {r['start'][0]:.2f} px / {r['start'][1]:.1%} > 3 px; "
                f"refine {r['refine'][0]:.2f} / {r['refine'][1]:.1%}; random "
                f"{r['random'][0]:.2f} / {r['random'][1]:.1%}; fine-tuning {r['refine_s']:.0f} s "
                f"vs {r['scratch_s']:.0f} s from scratch; the starting model on the frames "
                f"chosen: refine {r['chosen_start'][0]:.2f} px / {r['chosen_start'][1]:.0%} > 3 px, "
                f"random {r['random_start'][0]:.2f} / {r['random_start'][1]:.0%}",
                flush=True,
            )
    print(f"\n{args.frames} frames added, {len(rows)} seeds, test recordings never used:\n")
    print("| frames added | mean error px | frames with a keypoint > 3 px off |")
    print("|---|---|---|")
    for arm in ("start", "random", "refine"):
        err = np.array([r[arm][0] for r in rows])
        bad = np.array([r[arm][1] for r in rows])
        name = {"start": "none (start)", "random": "random", "refine": "refine"}[arm]
        print(
            f"| {name} | {err.mean():.2f} ± {err.std(ddof=1) if len(rows) > 1 else 0:.2f} | "
            f"{bad.mean():.1%} ± {bad.std(ddof=1) if len(rows) > 1 else 0:.1%} |"
        )
    for arm in ("chosen_start", "random_start"):
        err = np.array([r[arm][0] for r in rows])
        bad = np.array([r[arm][1] for r in rows])
        print(
            f"The starting model on the frames {'refine' if arm == 'chosen_start' else 'random'} "
            f"chose: {err.mean():.2f} px, {bad.mean():.0%} of them with a keypoint > 3 px off"
        )
    tune = np.array([r["refine_s"] + r["random_s"] for r in rows]) / 2
    scratch = np.array([r["scratch_s"] for r in rows])
    print(
        f"\nFine-tuning: {rows[0]['tune_steps']} of {rows[0]['steps']} steps, "
        f"{tune.mean():.0f} s vs {scratch.mean():.0f} s from scratch "
        f"({(tune / scratch).mean():.0%} of its time)"
    )


if __name__ == "__main__":
    main()
