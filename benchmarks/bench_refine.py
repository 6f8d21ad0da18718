"""Does `refine`'s choice of frames pay? Refine vs random choice on real mice (issue #25).

On a labelled set with a recording key (the shared XMWell mice, NOT part of this repository):
per seed, the recordings are shuffled into 4 to start from (3 train, 1 validation), 4 to choose
from and the rest to test on (never used otherwise). The starting model is trained on the
starting labels the way `train` does by default in the workflow: fine-tuned from the
pretrained start model (`train.init: pretrained`, its automatic step budget; `--init scratch`
for random weights and `train.min_steps`). It predicts the frames of the recordings to choose
from (TTA 2), each recording one "movie", and `refine`'s library (`refine_frames`, the path
`snakemake refine` takes) picks `--frames` of them -- against as many picked at random from the
same frames (`--random-draws` draws per seed, averaged). A simulated labeller gives the chosen
frames their ground-truth labels; each arm fine-tunes the starting model (`train --fine-tune`'s
path: a quarter of its steps, the same for every arm, the same training seed) on the starting
labels plus its frames, listed as refine-merge lists them, and is tested on the test
recordings: mean keypoint error and the share of frames with a keypoint > 3 px off, mean and
sd over seeds, the per-seed difference refine - random, and the fine-tuning's training time
against the starting model's. With --bounds, two more arms bound what any choice could give:
the frames the starting model is most wrong on (an oracle: only the simulated labeller knows
them) and every frame there was to choose from.

The frames here are single labelled frames (20 per recording), not movies: there is no
calibration (too few validation frames; doubt falls back to the model's confidence), no
head/tail certainty over time, and of the QC flags only those of one frame (uncertain via
spread and confidence, geometry) apply.

    python benchmarks/bench_refine.py --data ../shared/data/real_mice_xmwell_50pix.npz \\
        --pretrained results/pretrained/fast_heatmap_unet/model.pt --seeds 0 1 2 [--bounds]

--work DIR keeps every model there and reuses it when run again (same seed, same options).
"""

from __future__ import annotations

import argparse
import dataclasses
import hashlib
import tempfile
import time
from pathlib import Path

import numpy as np

from direction_tagger.device import cpu_name
from direction_tagger.io import KEYPOINTS, save_movie, sha256_file
from direction_tagger.movies.predict import Predictor
from direction_tagger.movies.qc import geometry_reference, qc_flags
from direction_tagger.movies.tables import movie_table, write_table
from direction_tagger.refine.extract import Source, refine_frames
from direction_tagger.refine.merge import MAX_COPIES, NEW_SHARE
from direction_tagger.train.config import TrainConfig
from direction_tagger.train.loop import train
from direction_tagger.train.model_file import load_model


def errors_on(model_path: Path, images, locs) -> np.ndarray:
    """(N, 3) keypoint errors px of the model on the frames (TTA 2, fp32)."""
    model, _ = load_model(model_path)
    pred = Predictor(model, bf16=False).predict(images, tta=2)
    return np.linalg.norm(pred.locs - locs, axis=-1)


def measures(err: np.ndarray) -> tuple[float, float]:
    """(mean keypoint error px, share of frames with a keypoint > 3 px off)."""
    return float(err.mean()), float((err > 3).any(axis=1).mean())


def fit(images, locs, val_images, val_locs, cfg, out: Path, **start) -> float:
    """Train unless `out` is there already; seconds it took (NaN when reused)."""
    if out.exists():
        return float("nan")
    begin = time.monotonic()
    log = out.with_suffix(".csv")
    train(images, locs, val_images, val_locs, cfg, out, log, **start)
    out.with_suffix(".ckpt").unlink(missing_ok=True)
    return time.monotonic() - begin


@dataclasses.dataclass
class Seed:
    """One seed's split, starting model and what the arms share."""

    seed: int
    train_idx: np.ndarray
    val_idx: np.ndarray
    test_idx: np.ndarray
    pool_idx: list  # the frames of each recording to choose from
    sources: list  # refine Sources of those recordings
    labelled: Path  # the starting labels (.npz)
    base: Path  # the starting model
    base_s: float
    base_steps: int
    tune: TrainConfig  # the arms' training options
    work: Path


def prepare(data, seed: int, args) -> Seed:
    """Split, train the starting model, predict the recordings to choose from."""
    work = args.work / f"s{seed}"
    work.mkdir(parents=True, exist_ok=True)
    recordings = np.unique(data["video"])
    order = np.random.default_rng(seed).permutation(recordings)
    start, pool, test = order[:4], order[4:8], order[8:]
    images, locs = data["images"], data["locs"]
    of = {r: np.flatnonzero(data["video"] == r) for r in recordings}
    train_idx = np.concatenate([of[r] for r in start[:3]])
    val_idx = of[start[3]]
    test_idx = np.concatenate([of[r] for r in test])
    options = {"seed": seed, "amp": False} | args.options
    start_from = {}
    if args.init == "pretrained":
        options["init"] = "pretrained"
        start_from = {"start_model": args.pretrained}
    cfg = TrainConfig.from_dict(options)
    tag = hashlib.sha256(repr((sorted(options.items()), args.start_sha)).encode()).hexdigest()[:8]
    base = work / f"base_{args.init}_{tag}.pt"
    base_s = fit(
        images[train_idx], locs[train_idx], images[val_idx], locs[val_idx], cfg, base, **start_from
    )
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
    labelled = work / "start_labels.npz"
    np.savez(labelled, images=images[train_idx], **_locs(locs[train_idx]))
    steps = int(meta["budget"]["steps"])
    tune = dataclasses.replace(cfg, steps=max(1, int(np.ceil(args.fraction * steps))))
    return Seed(
        seed, train_idx, val_idx, test_idx, pool_idx, sources, labelled, base, base_s, steps,
        tune, work,
    )  # fmt: skip


def refine_choice(s: Seed, count: int) -> np.ndarray:
    """Dataset indices of the frames `refine_frames` picks from the recordings to choose from."""
    manifest = refine_frames(
        s.sources, s.work / "refine", count, labelled=s.labelled, page=False, progress=False
    )
    by_name = dict(zip([src.name for src in s.sources], s.pool_idx))
    return np.array([by_name[m][f] for m, f in zip(manifest.movie, manifest.frame)])


def arm(data, s: Seed, name: str, new: np.ndarray) -> dict:
    """Fine-tune the starting model on its labels plus the frames `new`; test it."""
    images, locs = data["images"], data["locs"]
    # the training part as refine-merge builds it: the new frames listed `copies` times
    n = len(s.train_idx)
    copies = int(min(MAX_COPIES, max(1, round(NEW_SHARE * n / ((1 - NEW_SHARE) * len(new))))))
    idx = np.concatenate([s.train_idx, np.repeat(new, copies)])
    key = hashlib.sha256(np.sort(new).tobytes() + repr(s.tune).encode()).hexdigest()[:8]
    out = s.work / f"{name}_{key}.pt"
    model, _ = load_model(s.base)
    init = {"state": model.state_dict(), "path": str(s.base), "sha256": sha256_file(s.base)}
    seconds = fit(
        images[idx], locs[idx], images[s.val_idx], locs[s.val_idx], s.tune, out, fine_tune=init
    )
    return {
        "test": measures(errors_on(out, images[s.test_idx], locs[s.test_idx])),
        "seconds": seconds,
        # did the choice find frames the starting model gets wrong? (its error on them)
        "picked_before": measures(errors_on(s.base, images[new], locs[new])),
    }


def one_seed(data, seed: int, args) -> dict:
    s = prepare(data, seed, args)
    images, locs = data["images"], data["locs"]
    result = {"seed": seed, "base_s": s.base_s, "steps": s.base_steps, "tune_steps": s.tune.steps}
    result["start"] = measures(errors_on(s.base, images[s.test_idx], locs[s.test_idx]))
    result["refine"] = arm(data, s, "refine", refine_choice(s, args.frames))
    pool = np.concatenate(s.pool_idx)
    draws = []
    for d in range(args.random_draws):
        rng = np.random.default_rng([1000 + seed, d])
        draws.append(arm(data, s, f"random{d}", rng.choice(pool, args.frames, replace=False)))
    result["random"] = {
        key: tuple(np.mean([r[key] for r in draws], axis=0)) for key in ("test", "picked_before")
    }
    result["random"]["seconds"] = float(np.mean([r["seconds"] for r in draws]))
    if args.bounds:
        # What any choice could give: the frames the starting model is most wrong on (known
        # to the simulated labeller only), and every frame there was to choose from.
        before = errors_on(s.base, images[pool], locs[pool]).mean(axis=1)
        worst = pool[np.argsort(-before, kind="stable")[: args.frames]]
        result["oracle"] = arm(data, s, "oracle", worst)
        result["all"] = arm(data, s, "all", pool)
    return result


def _locs(locs) -> dict:
    return {f"locs_{k}": locs[:, i] for i, k in enumerate(KEYPOINTS)}


def _spread(values, digits: int = 2) -> str:
    values = np.asarray(values)
    return f"{values.std(ddof=1) if len(values) > 1 else 0:.{digits}f}"


def report(rows, args) -> None:
    print(f"\n{args.frames} frames added, {len(rows)} seeds, test recordings never used:\n")
    print("| frames added | mean error px | frames with a keypoint > 3 px off |")
    print("|---|---|---|")
    names = {"start": "none (the starting model)", "random": "at random", "refine": "by refine"}
    if "oracle" in rows[0]:
        names |= {
            "oracle": "the starting model's worst (an oracle)",
            "all": "every frame to choose from",
        }
    for name, label in names.items():
        err = np.array([(r[name] if name == "start" else r[name]["test"])[0] for r in rows])
        bad = 100 * np.array([(r[name] if name == "start" else r[name]["test"])[1] for r in rows])
        print(
            f"| {label} | {err.mean():.2f} ± {_spread(err)} | {bad.mean():.1f} ± {_spread(bad, 1)} % |"
        )
    d_err = np.array([r["refine"]["test"][0] - r["random"]["test"][0] for r in rows])
    d_bad = 100 * np.array([r["refine"]["test"][1] - r["random"]["test"][1] for r in rows])
    print(
        f"\nrefine - random, per seed: mean error {d_err.mean():+.3f} ± {_spread(d_err)} px "
        f"(refine lower on {(d_err < 0).sum()} of {len(rows)}), frames > 3 px "
        f"{d_bad.mean():+.1f} ± {_spread(d_bad, 1)} points (lower on {(d_bad < 0).sum()}, "
        f"higher on {(d_bad > 0).sum()})"
    )
    for bound in ("oracle", "all") if "oracle" in rows[0] else ():
        d_err = np.array([r[bound]["test"][0] - r["random"]["test"][0] for r in rows])
        d_bad = 100 * np.array([r[bound]["test"][1] - r["random"]["test"][1] for r in rows])
        print(
            f"{names[bound]} - random, per seed: mean error {d_err.mean():+.3f} ± "
            f"{_spread(d_err)} px (lower on {(d_err < 0).sum()} of {len(rows)}), frames > 3 px "
            f"{d_bad.mean():+.1f} ± {_spread(d_bad, 1)} points"
        )
    for name in ("refine", "random"):
        err = np.array([r[name]["picked_before"][0] for r in rows])
        bad = np.array([r[name]["picked_before"][1] for r in rows])
        print(
            f"The starting model on the frames picked {names[name]}: {err.mean():.2f} px, "
            f"{bad.mean():.0%} of them with a keypoint > 3 px off"
        )
    tune = np.array([r["refine"]["seconds"] for r in rows])
    base = np.array([r["base_s"] for r in rows])
    fresh = np.isfinite(tune) & np.isfinite(base)
    print(
        f"\nFine-tuning: {rows[0]['tune_steps']} steps, a {args.fraction:g} share of the "
        f"starting model's {rows[0]['steps']}"
        + (
            f"; {tune[fresh].mean():.0f} s vs {base[fresh].mean():.0f} s for the starting model"
            if fresh.any()
            else ""
        )
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", required=True, type=Path, help="labelled .npz with `video`")
    parser.add_argument(
        "--init",
        choices=("pretrained", "scratch"),
        default="pretrained",
        help="the starting model's start (the workflow's default: pretrained)",
    )
    parser.add_argument(
        "--pretrained", type=Path, help="the pretrained start model (`direction-tagger pretrain`)"
    )
    parser.add_argument("--frames", type=int, default=20)
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    parser.add_argument("--random-draws", type=int, default=3, help="random choices per seed")
    parser.add_argument("--fraction", type=float, default=0.25, help="fine-tuning share")
    parser.add_argument(
        "--steps", type=int, default=None, help="starting model's steps (default: automatic)"
    )
    parser.add_argument("--work", type=Path, help="keep the models here (and reuse them)")
    parser.add_argument(
        "--bounds",
        action="store_true",
        help="also the arms that bound any choice: the starting model's worst frames (an "
        "oracle) and every frame to choose from",
    )
    args = parser.parse_args()
    if args.init == "pretrained" and args.pretrained is None:
        parser.error("--init pretrained needs --pretrained MODEL.pt (or use --init scratch)")
    args.start_sha = sha256_file(args.pretrained) if args.init == "pretrained" else None
    args.options = {} if args.steps is None else {"steps": args.steps}
    with np.load(args.data, allow_pickle=False) as f:
        data = {"images": f["images"], "video": f["video"].astype(str)}
        data["locs"] = np.stack([f[f"locs_{k}"] for k in KEYPOINTS], axis=1).astype(np.float32)
    print(
        f"{cpu_name()}; {len(data['images'])} frames of {len(set(data['video']))} recordings; "
        f"starting model from {args.init}"
        + (f" ({args.pretrained}, sha256 {args.start_sha[:12]})" if args.start_sha else ""),
        flush=True,
    )
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        args.work = args.work or Path(tmp)
        for seed in args.seeds:
            r = one_seed(data, seed, args)
            rows.append(r)
            print(
                f"seed {seed}: start {r['start'][0]:.2f} px / {r['start'][1]:.1%} > 3 px; "
                f"refine {r['refine']['test'][0]:.2f} / {r['refine']['test'][1]:.1%}; random "
                f"{r['random']['test'][0]:.2f} / {r['random']['test'][1]:.1%} "
                f"(mean of {args.random_draws}); the starting model on the frames picked: "
                f"refine {r['refine']['picked_before'][0]:.2f} px / "
                f"{r['refine']['picked_before'][1]:.0%} > 3 px, random "
                f"{r['random']['picked_before'][0]:.2f} / {r['random']['picked_before'][1]:.0%}",
                flush=True,
            )
    report(rows, args)


if __name__ == "__main__":
    main()
