"""The network in the loop (`track.recentre`): how close the crop centre comes to the labelled
nose - tail base midpoint, what it does to the keypoints, and what it costs.

1. Accuracy, on a real DeepLabCut project: for each split seed, the workflow (in a temporary
   folder, as bench_dlc_import.py: import by the tracker's rule, split by recording, train)
   gives a model; on the frames of the recordings it never trained on (test and validation),
   the crop centre is the importer's (the tracker's rule), then the midpoint of the model's
   nose and tail base on that crop (no TTA, as `recentre` does), then again on the re-cut
   crop (`recentre`'s 2 passes). Each frame is
   counted once, from the first seed that held it out. Printed: crop centres within 2 crop
   px of the labelled midpoint (target >= 95 %), and the keypoints' error (crop px) on the
   first crop and on the re-cut one, side by side on the same frames.
2. Cost, on a video (`--video`): `track`, then `recentre` with the first seed's model, then
   `predict` on the re-cut movie, each timed in this process one after the other (frames/s
   and frames per CPU-second, ffmpeg's decoding included).

    python benchmarks/bench_recentre.py --project ../shared/data/xmwell_dlc_project \\
        --seeds 0 1 2 3 --video ../shared/data/openfield_video/openfield_m3v1_first_half.mp4

`--cover 40` instead of `--seeds`: every recording held out once (split seeds tried in order,
trained only where they hold out a recording no earlier seed did). `--keep DIR` keeps the
trained folds, so a second run with another `--passes` or `--tta` (the model's test-time
augmentation when it re-centres) trains nothing.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import subprocess
import sys
import tempfile
import time
import types
from pathlib import Path

import numpy as np
import yaml

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "src"))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from bench_real_mice import config  # noqa: E402

from direction_tagger.movies.predict import load_predictor  # noqa: E402
from direction_tagger.videos.crop import crop_frame, crop_to_video  # noqa: E402
from direction_tagger.videos.dlc import _grey, find_recordings, read_recording  # noqa: E402
from direction_tagger.videos.recentre import recentred_centres  # noqa: E402

PASSES = 2  # recentre's default: the centre after 0 (the tracker's), 1 and 2 passes


def make(project: Path, work: Path, seed: int, options: str, targets: list[str]) -> None:
    args = types.SimpleNamespace(
        dlc=True, group_key=None, split_seed=seed, precision="fp32", seed=0, options=options
    )
    (work / "config.yaml").write_text(yaml.safe_dump(config(project, args)))
    snakemake(work, targets)


def snakemake(work: Path, targets: list[str]) -> None:
    """Makes `targets` in the fold folder `work` with the config.yaml `make` wrote there."""
    cmd = [sys.executable, "-m", "snakemake", *targets]
    cmd += ["--snakefile", str(REPO / "Snakefile"), "--directory", str(work), "--cores", "2"]
    cmd += ["--configfile", str(work / "config.yaml")]
    done = subprocess.run(cmd, cwd=work, capture_output=True, text=True)
    if done.returncode != 0:
        raise SystemExit(f"snakemake failed:\n{done.stderr[-3000:]}")


def held_out_recordings(work: Path) -> set[str]:
    split = json.loads((work / "results/real/split.json").read_text())
    npz = np.load(work / "results/data/dlc/labelled.npz", allow_pickle=False)
    return {str(npz["video"][i]) for part in ("test", "val") for i in split["indices"][part]}


def held_out(work: Path, project: Path, passes: int, tta: int) -> dict:
    """Per held-out frame: the finder's centre error, the re-centred one, keypoint errors."""
    split = json.loads((work / "results/real/split.json").read_text())
    npz = np.load(work / "results/data/dlc/labelled.npz", allow_pickle=False)
    rows = sorted(i for part in ("test", "val") for i in split["indices"][part])
    images = {}
    for csv in find_recordings(project):
        rec = read_recording(csv)
        images |= {(rec.name, p.name): p for p in rec.images}
    predictor, _ = load_predictor(work / "results/real/model.pt", "cpu", None, "fp32")
    centres = np.stack([npz["crop_x"][rows], npz["crop_y"][rows]], 1).astype(float)
    sides = npz["crop_side"][rows].astype(float)
    truth = np.stack([npz[f"locs_{k}"][rows] for k in ("base", "neck", "head")], 1)
    truth = crop_to_video(truth, centres, sides)  # video px
    middle = (truth[:, 0] + truth[:, 2]) / 2
    frames = [_grey(images[(v, f)]) for v, f in zip(npz["video"][rows], npz["frame"][rows])]

    def cut(c):
        return np.stack([crop_frame(f, x, y, s) for f, (x, y), s in zip(frames, c, sides)])

    def centre_error(c):
        return np.linalg.norm(c - middle, axis=1) * 50 / sides

    def look(c):  # the model's keypoints on crops centred on c: crop px
        return predictor.predict(cut(c), tta=tta).locs

    # as recentre_video: each pass from the last one's crops, anchored on the tracker's centre
    errors, keypoints, current = [centre_error(centres)], [], centres
    for _ in range(passes):
        seen = look(current)
        keypoints.append(crop_to_video(seen, current, sides))
        current, _ = recentred_centres(seen, current, sides, anchors=centres)
        errors.append(centre_error(current))
    keypoints.append(crop_to_video(look(current), current, sides))
    keys = [f"{v}/{f}" for v, f in zip(npz["video"][rows], npz["frame"][rows])]
    return {
        k: {
            "centre": [e[i] for e in errors],
            "keypoints": [
                np.linalg.norm(p[i] - truth[i], axis=1) * 50 / sides[i] for p in keypoints
            ],
        }
        for i, k in enumerate(keys)
    }


def cpu() -> float:
    own, kids = (
        resource.getrusage(resource.RUSAGE_SELF),
        resource.getrusage(resource.RUSAGE_CHILDREN),
    )
    return own.ru_utime + own.ru_stime + kids.ru_utime + kids.ru_stime


def cost(video: Path, model: Path) -> None:
    from direction_tagger import cli

    with tempfile.TemporaryDirectory() as tmp:
        t = Path(tmp)
        steps = {
            "track": ["track", "--video", video, "--movie", t / "m.npz", "--table", t / "t.csv",
                      "--qc", t / "q.json", "--quiet"],
            "recentre": ["recentre", "--video", video, "--track", t / "t.csv", "--movie",
                         t / "m.npz", "--model", model, "--out-movie", t / "r.npz",
                         "--out-table", t / "r.csv", "--summary", t / "s.json", "--quiet",
                         "--passes", str(PASSES),
                         "--precision", "fp32"],
            "predict (re-cut movie, no TTA)": ["predict", "--movie", t / "r.npz", "--model",
                                               model, "--out", t / "p.csv", "--precision", "fp32"],
        }  # fmt: skip
        for name, argv in steps.items():
            c0, w0 = cpu(), time.perf_counter()
            assert cli.main([str(a) for a in argv]) == 0
            wall, used = time.perf_counter() - w0, cpu() - c0
            n = json.loads((t / "q.json").read_text())["frames"]
            print(
                f"{name:32s} {n / wall:7.0f} frames/s, {n / used:7.0f} frames per CPU-s ({wall:.1f} s)"
            )
        print(json.loads((t / "s.json").read_text()))


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--project", required=True, type=Path)
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2, 3])
    parser.add_argument(
        "--cover",
        type=int,
        metavar="N",
        help="instead of --seeds: split seeds 0..N-1, training only those that hold out a "
        "recording no earlier one did, until every recording has been held out once",
    )
    parser.add_argument(
        "--options", default='{"init": "scratch", "steps": 1000}', help="train options, JSON"
    )
    parser.add_argument("--video", type=Path, help="a video to time track + recentre on")
    parser.add_argument("--passes", type=int, default=PASSES, help="re-centring passes")
    parser.add_argument("--tta", type=int, default=0, help="the model's TTA when it re-centres")
    parser.add_argument(
        "--keep", type=Path, help="keep the trained folds here; a second run reuses them"
    )
    args = parser.parse_args()
    project = args.project.resolve()
    print(f"CPU: {platform.processor() or platform.machine()}, {os.cpu_count()} cores; "
          f"load {os.getloadavg()[0]:.1f}; training {args.options}", flush=True)  # fmt: skip
    frames: dict = {}
    with tempfile.TemporaryDirectory() as scratch:
        tmp = args.keep or scratch
        first_model, covered = None, set()
        seeds = range(args.cover) if args.cover else args.seeds
        for seed in seeds:
            work = Path(tmp) / f"seed{seed}"
            work.mkdir(parents=True, exist_ok=True)
            make(project, work, seed, args.options, ["results/real/split.json"])
            new = held_out_recordings(work) - covered
            if args.cover and not new:
                continue  # this split holds out no recording the others did not
            covered |= new
            make(project, work, seed, args.options, ["results/real/model.pt"])
            first_model = first_model or work / "results/real/model.pt"
            for key, row in held_out(work, project, args.passes, args.tta).items():
                frames.setdefault(key, row)
            print(f"after seed {seed}: {len(frames)} held-out frames", flush=True)
            if args.cover and len(covered) == len(find_recordings(project)):
                break
        centre = np.array([r["centre"] for r in frames.values()])  # (frames, passes + 1)
        keypoints = np.array([r["keypoints"] for r in frames.values()])  # (frames, passes + 1, 3)
        recordings = len({k.split("/")[0] for k in frames})
        print(f"{len(frames)} held-out frames of {recordings} recordings")
        for p in range(args.passes + 1):
            e = centre[:, p]
            name = "the tracker's centre" if p == 0 else f"re-centred, {p} pass{'es' * (p > 1)}"
            print(
                f"  {name:22s} within 2 crop px {np.mean(e <= 2):6.1%} (target 95 %), median "
                f"{np.median(e):.2f}, p95 {np.quantile(e, 0.95):.2f}, within 4 px {np.mean(e <= 4):.1%}"
            )
        names = np.array([k.split("/")[0] for k in frames])
        last = centre[:, -1] <= 2
        print("  within 2 crop px by recording, last pass: " + ", ".join(
            f"{r} {last[names == r].mean():.0%} of {np.sum(names == r)}" for r in sorted(set(names))
        ))  # fmt: skip
        for p in range(args.passes + 1):
            e = keypoints[:, p]
            name = "tracker's crop" if p == 0 else f"after {p} pass{'es' * (p > 1)}"
            med, mean = np.median(e, 0), e.mean(0)
            print(
                f"  keypoints, {name:15s} median base / neck / nose {med[0]:.2f} / {med[1]:.2f}"
                f" / {med[2]:.2f} crop px (mean {mean[0]:.2f} / {mean[1]:.2f} / {mean[2]:.2f})"
            )
        if args.video:
            cost(args.video.resolve(), first_model)


if __name__ == "__main__":
    main()
