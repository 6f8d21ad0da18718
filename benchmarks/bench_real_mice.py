"""Real animals: train on some recordings of real labelled mice, test on the others.

Uses a labelled `.npz` with a per-frame `video` key (e.g. the shared real-mouse set, which is
NOT part of this repository). Recordings are split into test / validation / training, so no
recording is on two sides; the training frames are repeated with online augmentation.

    python benchmarks/bench_real_mice.py --data ../shared/data/real_mice_xmwell_50pix.npz --minutes 5
"""

from __future__ import annotations

import argparse
import json
import tempfile
import time
from pathlib import Path

import numpy as np
import torch

from direction_tagger.io import load_labelled
from direction_tagger.metrics import evaluate
from direction_tagger.predict import Predictor
from direction_tagger.train import TrainConfig, load_model, train


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", required=True)
    parser.add_argument("--minutes", type=float, default=5.0)
    parser.add_argument("--architecture", default="heatmap_unet")
    parser.add_argument("--test-videos", type=int, default=2)
    parser.add_argument("--repeat", type=int, default=64, help="copies of each training frame")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--options", default="{}", help="extra TrainConfig options as JSON")
    args = parser.parse_args()
    torch.set_num_threads(2)
    data = load_labelled(args.data)
    videos = np.unique(data.extra["video"])
    rng = np.random.default_rng(args.seed)
    rng.shuffle(videos)
    test_v, val_v = videos[: args.test_videos], videos[args.test_videos : args.test_videos + 1]
    video = data.extra["video"]
    test, val = np.isin(video, test_v), np.isin(video, val_v)
    trn = ~(test | val)
    print(f"{trn.sum()} training frames ({len(videos) - args.test_videos - 1} recordings), "
          f"{val.sum()} validation, {test.sum()} test ({args.test_videos} recordings)")
    images = np.tile(data.images[trn], (args.repeat, 1, 1))
    locs = np.tile(data.locs[trn], (args.repeat, 1, 1))
    cfg = TrainConfig.from_dict({"architecture": args.architecture, "max_minutes": args.minutes,
                                 "epochs": 40, "patience": 40, "seed": args.seed}
                                | json.loads(args.options))
    with tempfile.TemporaryDirectory() as tmp:
        t = time.monotonic()
        train(images, locs, data.images[val], data.locs[val], cfg, Path(tmp) / "m.pt",
              Path(tmp) / "log.csv")
        minutes = (time.monotonic() - t) / 60
        model, _ = load_model(Path(tmp) / "m.pt")
    predictor = Predictor(model)
    for tta in (False, True):
        pred = predictor.predict(data.images[test], tta=tta)
        m, frames = evaluate(pred.locs, pred.confidence, data.locs[test])
        k = m["keypoints"]
        print(f"{args.architecture}{' +TTA' if tta else ''} after {minutes:.1f} min: median nose "
              f"{k['head']['median']:.2f} px, neck {k['neck']['median']:.2f} px, tail base "
              f"{k['base']['median']:.2f} px; head/tail swapped on "
              f"{int(frames.head_tail_swapped.sum())} of {len(frames)} test frames")


if __name__ == "__main__":
    main()
