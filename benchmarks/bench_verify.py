"""Time `verify_labelled` on a synthetic set the size of the published one (98,944 frames).

Target (issue 3): <= 10 s on 2 CPU cores. Images are random grey levels and labels a
plausible rat pose (body ~15 px, any heading), written uncompressed like `np.savez`.

    python benchmarks/bench_verify.py [--n 98944] [--compressed] [--repeats 1]
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

import numpy as np

from direction_tagger.data.verify import PUBLISHED_N, verify_labelled

TARGET_S = 10.0


def synthetic_set(path: Path, n: int, compressed: bool, seed: int = 0) -> None:
    rng = np.random.default_rng(seed)
    images = rng.integers(0, 256, (n, 50, 50), dtype=np.uint8)
    centre = rng.uniform(18, 31, (n, 2))
    angle = rng.uniform(0, 2 * np.pi, n)
    d = np.stack([np.cos(angle), -np.sin(angle)], axis=1)
    locs = np.stack([centre - 7 * d, centre + 3 * d, centre + 8 * d], axis=1).astype(np.float32)
    arrays = {"images": images} | {
        f"locs_{k}": locs[:, i] for i, k in enumerate(("base", "neck", "head"))
    }
    (np.savez_compressed if compressed else np.savez)(path, **arrays)


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--n", type=int, default=PUBLISHED_N)
    parser.add_argument("--compressed", action="store_true", help="np.savez_compressed instead")
    parser.add_argument("--repeats", type=int, default=1)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "synthetic.npz"
        t0 = time.perf_counter()
        synthetic_set(path, args.n, args.compressed)
        print(
            f"made {args.n:,} frames ({path.stat().st_size / 1e6:.0f} MB) in {time.perf_counter() - t0:.1f} s"
        )
        times = []
        for _ in range(args.repeats):
            t0 = time.perf_counter()
            summary = verify_labelled(path)
            times.append(time.perf_counter() - t0)
        best = min(times)
        print(
            f"verify_labelled: {best:.2f} s for {summary['n_frames']:,} frames "
            f"(duplicates {summary['duplicates']['frames']}); "
            f"{best / TARGET_S:.2f} x the {TARGET_S:.0f} s target"
        )


if __name__ == "__main__":
    main()
