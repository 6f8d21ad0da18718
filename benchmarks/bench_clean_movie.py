"""Cleaning a movie's predictions: calibrated confidence + polarity + smoothing + QC, timed.

Side by side in one run, on the same synthetic predictions (a rat track with jitter, 0.5 %
planted head/tail swaps, random confidence and TTA spread): the whole cleaning step as the
movie chain runs it, with a tracked video's polarity evidence (tail roots at the true tail
base, 5 % of them at the nose; the direction of travel), and without the polarity pass.
Prints seconds per 10,000 frames (target: <= 5 s on 2 cores) and how many of the planted
swaps the polarity pass undid.

    python benchmarks/bench_clean_movie.py --frames 10000 100000
"""

from __future__ import annotations

import argparse
import platform
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "src"))

from direction_tagger.evaluate.calibration import fit_calibration  # noqa: E402
from direction_tagger.movies.evidence import PolarityEvidence, travel_directions  # noqa: E402
from direction_tagger.movies.postprocess import smooth_and_check  # noqa: E402
from direction_tagger.movies.tables import movie_table  # noqa: E402

SMOOTHING = {"method": "savgol", "window": 7, "min_confidence": 0.3, "max_gap": 5}


def predictions(m: int, seed: int = 0):
    rng = np.random.default_rng(seed)
    t = np.arange(m) / 30.0
    heading = np.cumsum(rng.normal(0, 0.05, m))
    u = np.stack([np.cos(heading), -np.sin(heading)], axis=1)
    centre = 24.5 + np.stack([3 * np.cos(0.8 * t), 2 * np.sin(0.6 * t)], axis=1)
    truth = np.stack([centre - 6 * u, centre + 6 * u, centre + 11 * u], axis=1)
    raw = truth + rng.normal(0, 0.3, truth.shape)
    swapped = rng.choice(m, m // 200, replace=False)
    raw[swapped] = raw[swapped][:, [2, 1, 0]]
    confidence = rng.uniform(0.3, 0.97, (m, 3))
    spread = rng.gamma(2.0, 0.15, (m, 3))
    roots = truth[:, 0] + rng.normal(0, 0.5, (m, 2))
    wrong = rng.random(m) < 0.05
    roots[wrong] = truth[wrong, 2]
    evidence = PolarityEvidence(roots, travel_directions(centre * 10, 170.0, 30.0))
    return movie_table(raw, confidence, spread, 30.0), set(swapped.tolist()), evidence


def calibration():
    rng = np.random.default_rng(1)
    confidence, spread = rng.uniform(0.05, 0.98, (500, 3)), rng.gamma(2.0, 0.15, (500, 3))
    errors = np.hypot(*rng.normal(0, 1, (2, 500, 3))) * (0.3 + 1.5 * (1 - confidence) + spread)
    return fit_calibration(errors, confidence, spread, tta=2)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--frames", type=int, nargs="+", default=[10_000, 100_000])
    args = parser.parse_args()
    print(f"# CPU {platform.processor() or platform.machine()}, numpy {np.__version__}")
    print(
        "| frames | whole cleaning (s) | s per 10,000 frames | with evidence (s) | "
        "without polarity (s) | planted swaps undone | with evidence |"
    )
    print("|---|---|---|---|---|---|---|")
    cal = calibration()
    for m in args.frames:
        table, planted, evidence = predictions(m)
        start = time.perf_counter()
        result = smooth_and_check(table, SMOOTHING, {"flag_risk": 0.2}, calibration=cal)
        whole = time.perf_counter() - start
        start = time.perf_counter()
        seen = smooth_and_check(
            table, SMOOTHING, {"flag_risk": 0.2}, calibration=cal, evidence=evidence
        )
        with_evidence = time.perf_counter() - start
        start = time.perf_counter()
        smooth_and_check(table, SMOOTHING, {"flag_risk": 0.2}, calibration=cal, polarity=False)
        without = time.perf_counter() - start
        undone = set(np.flatnonzero(result.table["polarity_exchanged"]).tolist())
        also = set(np.flatnonzero(seen.table["polarity_exchanged"]).tolist())
        print(
            f"| {m:,} | {whole:.2f} | {whole / m * 10_000:.2f} | {with_evidence:.2f} | "
            f"{without:.2f} | {len(undone & planted)} / {len(planted)} (and "
            f"{len(undone - planted)} others) | {len(also & planted)} (and "
            f"{len(also - planted)} others) |"
        )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
