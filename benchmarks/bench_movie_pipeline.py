"""Predict + smooth + QC of a 10,000-frame movie with the default model (2 CPU cores), for
each TTA setting, side by side; target ≤ 20 s with the default settings.

    python benchmarks/bench_movie_pipeline.py
"""

from __future__ import annotations

import argparse
import os
import time

import torch

from direction_tagger.data.synth import make_labelled_set, make_movie
from direction_tagger.device import PRECISION_VARIABLE, compute_path
from direction_tagger.movies.predict import Predictor
from direction_tagger.movies.qc import geometry_reference, qc_flags, qc_summary
from direction_tagger.movies.smooth import smooth_locs
from direction_tagger.train.config import TrainConfig
from direction_tagger.train.models import build_model


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--frames", type=int, default=10_000)
    parser.add_argument(
        "--precision", choices=["fp32", "auto"], default="fp32", help="auto: bf16 where faster"
    )
    args = parser.parse_args()
    os.environ[PRECISION_VARIABLE] = args.precision
    torch.set_num_threads(2)
    images, _ = make_movie(args.frames, seed=1)
    _, train_locs = make_labelled_set(2000, seed=2)
    reference = geometry_reference(train_locs)
    # Speed does not depend on the weights: an untrained default model is measured.
    predictor = Predictor(build_model(TrainConfig().architecture))
    predictor.predict(images[:512])
    print(compute_path(predictor.device, predictor.bf16), flush=True)
    for tta in (0, 2, 8):
        start = time.monotonic()
        pred = predictor.predict(images, tta=tta, batch_size=1024)
        t_predict = time.monotonic() - start
        smooth = smooth_locs(pred.locs, pred.confidence)
        flags = qc_flags(pred.locs, pred.confidence, pred.spread, fps=30.0, reference=reference)
        qc_summary(flags, pred.locs, 30.0, smoothed=smooth)
        total = time.monotonic() - start
        print(
            f"tta={tta}: predict {t_predict:.1f} s ({args.frames / t_predict:.0f} frames/s), "
            f"predict+smooth+QC {total:.1f} s = {total / 20:.2f} x the 20 s target",
            flush=True,
        )


if __name__ == "__main__":
    main()
