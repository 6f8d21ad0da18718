"""QC flags on held-out real recordings, pooled over the folds `bench_recentre.py --keep` trained.

The catch rate of issue #24 (flags catch >= 80 % of the frames with a keypoint > 3 px off while
flagging <= 10 %) needs enough wrong frames to be read: the model is right on almost every
held-out frame, so it is pooled over folds that between them hold out every recording once.
`bench_recentre.py --cover 40 --keep DIR` trains those folds (the workflow's own runs, a
DeepLabCut project imported by the tracker's rule, split by recording); this reads them:

1. per fold, the workflow makes what the movie chain would use (the calibration for TTA
   `--tta`, 2 by default, and the label reference) and the held-out evaluation; nothing is
   trained again;
2. per fold, its test frames are predicted with that TTA and flagged as the movie chain flags
   a single frame (`uncertain`: the calibrated risk 1 - prod P(within 3 px) > `flag_risk`;
   `geometry`), exactly as `bench_real_qc.py` does for its split seeds;
3. pooled over the folds: frames flagged, wrong frames caught, at the shipped `flag_risk`
   and at other thresholds, and the keypoints' mean error.

    python benchmarks/bench_recentre.py --project ../shared/data/xmwell_dlc_project \\
        --cover 40 --keep /tmp/folds --options '{"init": "START/model.pt"}'
    python benchmarks/bench_fold_flags.py --keep /tmp/folds
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent / "src"))
sys.path.insert(0, str(HERE))

from bench_real_qc import THRESHOLDS, held_out  # noqa: E402
from bench_recentre import snakemake  # noqa: E402

from direction_tagger.movies.qc import DEFAULT_FLAG_RISK  # noqa: E402

RUN = "results/real"  # the run name bench_recentre's folds use


def make_qc_inputs(work: Path, tta: int) -> None:
    """The calibration and label reference the movie chain would use, and the held-out
    evaluation `held_out` reads (the model is kept)."""
    targets = [f"{RUN}/calibration/tta{tta}.json", f"{RUN}/label_reference.json"]
    snakemake(work, [*targets, f"{RUN}/eval/heldout/metrics.json"])


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--keep", type=Path, required=True, help="bench_recentre.py's --keep DIR")
    parser.add_argument("--tta", type=int, default=2, help="predict.tta (the movie chain's)")
    parser.add_argument(
        "--flag-risk", type=float, default=DEFAULT_FLAG_RISK, help="smooth.flag_risk"
    )
    args = parser.parse_args()
    folds = sorted(
        (p.parents[2] for p in args.keep.glob(f"seed*/{RUN}/model.pt")),
        key=lambda p: int(p.name.removeprefix("seed")),
    )
    if not folds:
        raise SystemExit(f"{args.keep}: no seed*/{RUN}/model.pt (run bench_recentre.py --keep)")
    errors, risk, flagged = [], [], []
    print("| fold | test frames | with a keypoint > 3 px off | flagged | caught |")
    print("|---|---|---|---|---|")
    for work in folds:
        make_qc_inputs(work, args.tta)
        labelled = work / "results/data/dlc/labelled.npz"
        r = held_out(work / RUN, labelled, args.tta, args.flag_risk)
        wrong, fold_flags = (r["errors"] > 3).any(axis=1), r["flagged"]
        errors.append(r["errors"])
        risk.append(r["risk"])
        flagged.append(fold_flags)
        print(
            f"| {work.name} | {r['frames']} | {wrong.sum()} | {fold_flags.mean():.1%} | "
            f"{(fold_flags & wrong).sum()} / {wrong.sum()} |",
            flush=True,
        )
    errors, risk, flagged = np.concatenate(errors), np.concatenate(risk), np.concatenate(flagged)
    wrong = (errors > 3).any(axis=1)
    mean = errors.mean(axis=0)
    print(
        f"\npooled over {len(folds)} folds: {len(errors)} test frames, {wrong.sum()} with a "
        f"keypoint > 3 px off; mean error tail base / neck / nose {mean[0]:.2f} / {mean[1]:.2f} / "
        f"{mean[2]:.2f} px"
    )
    print(
        f"flag_risk {args.flag_risk} (uncertain or geometry): flagged {flagged.mean():.1%}, "
        f"caught {(flagged & wrong).sum()} / {wrong.sum()} (target >= 80 % with <= 10 % flagged)"
    )
    print("uncertain alone, by threshold:")
    for t in THRESHOLDS[:8]:
        flags = risk > t
        print(
            f"  {t:.2f}: flagged {flags.mean():5.1%}, caught {(flags & wrong).sum()} / {wrong.sum()}"
        )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
