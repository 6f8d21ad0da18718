"""Hours of video, hundreds of movies: the movie chain a chunk at a time gives exactly what the
whole-movie path gives (byte for byte, on movies many chunks long, chunks kept small so the
tests are cheap), chunks stay bounded, and many movies go through one process and one job."""

from __future__ import annotations

import json
import re
import zipfile
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from conftest import SHRUNK_DEMO, run_snakemake
from direction_tagger.cli import main
from direction_tagger.config import movie_batches
from direction_tagger.data import synth
from direction_tagger.io import DataError, load_movie, save_movie
from direction_tagger.movie_store import open_movie, percentiles_of_histogram, write_movie
from direction_tagger.movies.chunked import chunk_overlap, predict_file, smooth_file
from direction_tagger.movies.postprocess import smooth_and_check
from direction_tagger.movies.predict import CPU_FORWARD_FRAMES, load_predictor
from direction_tagger.movies.render import render_video
from direction_tagger.movies.tables import (
    iter_table,
    movie_table,
    read_table,
    table_bool,
    table_confidence,
    table_flags,
    table_locs,
    write_dlc_csv,
    write_table,
)

SMOOTHING = {
    "method": "savgol",
    "window": 7,
    "polyorder": 2,
    "min_confidence": 0.3,
    "max_gap": 5,
    "outlier_px": 6.0,
}
CHECKS = {"max_jump_px": None, "max_spread_px": 2.0, "min_confidence": 0.3, "flag_risk": 0.2}


@pytest.fixture(scope="module")
def made(tmp_path_factory):
    """A tiny trained model and a 700-frame synthetic movie with ground truth."""
    from direction_tagger.train.config import TrainConfig
    from direction_tagger.train.loop import train

    d = tmp_path_factory.mktemp("streaming")
    images, locs = synth.make_labelled_set(130, seed=0)
    cfg = TrainConfig.from_dict({"steps": 20, "batch_size": 16, "arch_kwargs": {"width": 8}})
    train(images[:100], locs[:100], images[100:], locs[100:], cfg, d / "model.pt", d / "log.csv")
    assert (
        main(["synth", "movie", "--frames", "700", "--seed", "3", "--out", str(d / "m.npz")]) == 0
    )
    return d


def _same(a, b) -> bool:
    return open(a, "rb").read() == open(b, "rb").read()


# --------------------------------------------------------------------------- frames


def test_frames_read_in_place_streamed_or_written_chunk_by_chunk_are_the_movie(tmp_path):
    rng = np.random.default_rng(0)
    images = rng.integers(0, 256, (300, 50, 50), dtype=np.uint8)
    locs = rng.uniform(5, 40, (300, 3, 2)).astype(np.float32)
    save_movie(tmp_path / "stored.npz", images, 25, locs)
    np.savez_compressed(tmp_path / "deflated.npz", images=images, fps=np.float32(25))
    write_movie(tmp_path / "written.npz", (images[k : k + 64] for k in range(0, 300, 64)), 300, 25)
    for name, stored in (("stored", True), ("deflated", False), ("written", True)):
        with open_movie(tmp_path / f"{name}.npz") as movie:
            assert (len(movie), movie.fps, movie.stored) == (300, 25.0, stored)
            chunks = list(movie.chunks(64))
            assert max(len(c) for _, c in chunks) == 64  # bounded by the chunk
            assert np.array_equal(np.concatenate([c for _, c in chunks]), images)
            assert np.array_equal(movie.read(200, 210), images[200:210])
            assert np.array_equal(movie.read(5, 9), images[5:9])  # backwards too
            assert np.array_equal(movie[299], images[299]) and np.array_equal(movie[0], images[0])
            assert movie.read(0, 1).flags.writeable
    assert np.allclose(open_movie(tmp_path / "stored.npz").locs, locs)
    assert np.array_equal(load_movie(tmp_path / "written.npz").images, images)  # the contract


def test_a_movie_cut_short_is_one_line_naming_the_file(tmp_path):
    images = np.zeros((400, 50, 50), np.uint8)
    save_movie(tmp_path / "m.npz", images)
    data = (tmp_path / "m.npz").read_bytes()
    with zipfile.ZipFile(tmp_path / "m.npz") as zf:  # cut inside the frames, keep the index
        offset = zf.getinfo("images.npy").header_offset
    (tmp_path / "cut.npz").write_bytes(data[: offset + 200_000])
    with pytest.raises(DataError, match="cut.npz"):
        with open_movie(tmp_path / "cut.npz") as movie:
            list(movie.chunks(100))
    with zipfile.ZipFile(tmp_path / "fortran.npz", "w") as zf:
        with zf.open("images.npy", "w") as f:
            np.lib.format.write_array(f, np.asfortranarray(np.zeros((3, 50, 50), np.uint8)))
    with pytest.raises(DataError, match="fortran.npz: key 'images' is stored in Fortran order"):
        open_movie(tmp_path / "fortran.npz")


def test_grey_range_from_a_histogram_is_numpys_percentile_to_the_bit():
    rng = np.random.default_rng(1)
    for _ in range(200):
        n = int(rng.integers(1, 3000))
        values = np.clip(rng.normal(rng.uniform(0, 255), rng.uniform(0.5, 60), n), 0, 255)
        values = values.astype(np.uint8)
        q = [0.5, 99.5, float(rng.uniform(0, 100))]
        hist = np.bincount(values, minlength=256)
        assert np.array_equal(percentiles_of_histogram(hist, q), np.percentile(values, q))


PEAK_OF_A_PASS = """
import re, sys
import numpy as np
from direction_tagger.movie_store import open_movie
def status(key):  # MB
    return int(re.search(key + r":\\s+(\\d+)", open("/proc/self/status").read())[1]) / 1024
movie = open_movie(sys.argv[1])
open("/proc/self/clear_refs", "w").write("5")  # the peak (VmHWM) starts again from here
before = status("VmRSS")
if sys.argv[2] == "whole":
    total = int(np.load(sys.argv[1])["images"][:, 25, 25].astype(np.int64).sum())
else:
    total = sum(int(frames[:, 25, 25].sum()) for _, frames in movie.chunks())
hist = movie.grey_histogram()
print(status("VmHWM") - before, total, hist.sum())
"""


@pytest.mark.skipif(not Path("/proc/self/clear_refs").exists(), reason="Linux /proc only")
def test_a_pass_over_a_movie_holds_a_chunk_not_the_movie(tmp_path):
    """Reading every frame of a 100 MB movie, and its grey histogram (what render does before
    drawing), add a few chunks' worth to the process's peak memory, not the movie."""
    import subprocess
    import sys

    frames = 40_000  # 100 MB
    pattern = np.random.default_rng(0).integers(0, 256, (1000, 50, 50), dtype=np.uint8)
    chunks = (pattern for _ in range(frames // 1000))
    write_movie(tmp_path / "m.npz", chunks, frames)

    def grown(how):
        out = subprocess.run(
            [sys.executable, "-c", PEAK_OF_A_PASS, str(tmp_path / "m.npz"), how],
            capture_output=True,
            text=True,
            check=True,
        )
        mb, total, pixels = out.stdout.split()
        assert int(total) == 40 * int(pattern[:, 25, 25].astype(np.int64).sum())
        assert int(pixels) == frames * 2500
        return float(mb)

    assert grown("whole") > 90  # the measure sees a movie held whole (95 MiB)
    chunked = grown("chunks")
    assert chunked < 35, f"{chunked} MB"


# --------------------------------------------------------------------------- predict


@pytest.mark.parametrize("tta", [0, 2])
def test_predict_in_chunks_writes_the_whole_movie_table(made, tmp_path, tta):
    predictor, _ = load_predictor(made / "model.pt", "cpu")
    movie = load_movie(made / "m.npz")
    pred = predictor.predict(movie.images, tta=tta, batch_size=64)
    whole = movie_table(pred.locs, pred.confidence, pred.spread, movie.fps, truth_locs=movie.locs)
    write_table(tmp_path / "whole.csv", whole)
    with open_movie(made / "m.npz") as frames:  # 6 chunks of 128 frames, batches of 64
        kept = predict_file(predictor, frames, tmp_path / "chunked.csv", tta, 64, chunk=128)
    assert _same(tmp_path / "whole.csv", tmp_path / "chunked.csv")
    assert np.array_equal(kept[0], pred.locs)


def test_forward_passes_on_cpu_stay_capped_whatever_the_batch_size(made, tmp_path):
    """Predict's memory is set by the frames of one forward pass (their activations), so on
    CPU a pass never takes more than CPU_FORWARD_FRAMES, however large the batch asked; the
    cut restarts at each batch, so the streamed and whole-movie paths run the same passes."""
    predictor, _ = load_predictor(made / "model.pt", "cpu")
    assert predictor.forward_frames == CPU_FORWARD_FRAMES
    passes = []
    predictor.model.register_forward_pre_hook(lambda _, args: passes.append(len(args[0])))
    movie = load_movie(made / "m.npz")  # 700 frames
    capped = predictor.predict(movie.images, tta=2, batch_size=600)

    def cut(n):  # the passes of one batch of n frames
        return [min(CPU_FORWARD_FRAMES, n - k) for k in range(0, n, CPU_FORWARD_FRAMES)]

    assert len(cut(600)) > 1  # the cap is below the batch asked
    assert passes == [n for n in cut(600) + cut(100) for _ in range(2)]  # 2 TTA transforms
    passes.clear()
    with open_movie(made / "m.npz") as frames:
        predict_file(predictor, frames, tmp_path / "raw.csv", 0, batch_size=4096)
    assert passes == cut(700)
    predictor.forward_frames = None  # one pass per batch (a GPU): the same predictions
    whole = predictor.predict(movie.images, tta=2, batch_size=600)
    np.testing.assert_allclose(capped.locs, whole.locs, atol=1e-4)


# --------------------------------------------------------------------------- smooth


def _hard_table(made, path):
    """The movie's raw table with what smoothing and polarity must handle across chunk edges:
    missing points, outliers, doubtful points, a 40-frame head/tail swap. The positions are
    the movie's truth plus noise (the model of a few steps puts every point in one place, where
    a swap is no swap); confidence and spread are the model's."""
    predictor, _ = load_predictor(made / "model.pt", "cpu")
    movie = load_movie(made / "m.npz")
    pred = predictor.predict(movie.images, tta=2, batch_size=256)
    rng = np.random.default_rng(0)
    locs = movie.locs + rng.normal(0, 0.3, movie.locs.shape)
    table = movie_table(locs, pred.confidence, pred.spread, movie.fps, truth_locs=movie.locs)
    for k in ("base", "neck", "head"):
        for c in ("x", "y"):
            v = table[f"{k}_{c}"].to_numpy().copy()
            v[rng.random(len(v)) < 0.03] = np.nan
            v[rng.random(len(v)) < 0.02] += 15
            table[f"{k}_{c}"] = v
        conf = table[f"{k}_confidence"].to_numpy().copy()
        conf[rng.random(len(conf)) < 0.1] = 0.1
        table[f"{k}_confidence"] = conf
    base = table.loc[300:339, ["base_x", "base_y"]].to_numpy()
    table.loc[300:339, ["base_x", "base_y"]] = table.loc[300:339, ["head_x", "head_y"]].to_numpy()
    table.loc[300:339, ["head_x", "head_y"]] = base
    write_table(path, table)


@pytest.mark.parametrize("method", ["savgol", "median"])
def test_smoothing_in_chunks_with_overlap_is_the_whole_movie_smoothing(made, tmp_path, method):
    _hard_table(made, tmp_path / "raw.csv")
    smoothing = SMOOTHING | {"method": method}
    whole = smooth_and_check(read_table(tmp_path / "raw.csv"), smoothing, CHECKS)
    assert whole.qc["polarity"]["exchanged_frames"] > 0 and whole.qc["flagged_frames"]["gap"] > 0
    write_table(tmp_path / "whole.csv", whole.table)
    write_dlc_csv(tmp_path / "whole_dlc.csv", whole.locs, whole.likelihood)
    assert chunk_overlap(smoothing) < 40
    for rows in (40, 123):  # 18 and 6 chunks; the first is barely longer than the overlap
        qc = smooth_file(
            tmp_path / "raw.csv",
            tmp_path / "chunked.csv",
            smoothing,
            CHECKS,
            dlc_path=tmp_path / "chunked_dlc.csv",
            rows=rows,
        )
        assert _same(tmp_path / "whole.csv", tmp_path / "chunked.csv"), rows
        assert _same(tmp_path / "whole_dlc.csv", tmp_path / "chunked_dlc.csv"), rows
        assert json.dumps(qc, sort_keys=True) == json.dumps(whole.qc, sort_keys=True)
    # a smoothed table as input starts from the model's answer (its *_raw positions, its
    # confidence and spread put back where polarity exchanged them): smoothing twice is
    # smoothing once, whole or in chunks
    again = smooth_and_check(read_table(tmp_path / "whole.csv"), smoothing, CHECKS)
    write_table(tmp_path / "again_whole.csv", again.table)
    smooth_file(tmp_path / "whole.csv", tmp_path / "again.csv", smoothing, CHECKS, rows=57)
    assert _same(tmp_path / "whole.csv", tmp_path / "again_whole.csv")
    assert _same(tmp_path / "whole.csv", tmp_path / "again.csv")
    assert json.dumps(again.qc, sort_keys=True) == json.dumps(whole.qc, sort_keys=True)


def test_tables_are_read_in_bounded_chunks_of_the_columns_asked(made, tmp_path):
    _hard_table(made, tmp_path / "raw.csv")
    chunks = list(iter_table(tmp_path / "raw.csv", 100, ["frame", "head_x", "no_such"]))
    assert [len(c) for c in chunks] == [100] * 7
    assert list(chunks[0].columns) == ["frame", "head_x"]
    pd.testing.assert_frame_equal(
        pd.concat(chunks, ignore_index=True), read_table(tmp_path / "raw.csv")[["frame", "head_x"]]
    )


# --------------------------------------------------------------------------- render


def test_render_streaming_its_frames_writes_the_same_video(made, tmp_path):
    _hard_table(made, tmp_path / "raw.csv")
    smooth_file(tmp_path / "raw.csv", tmp_path / "smooth.csv", SMOOTHING, CHECKS)
    movie, table = load_movie(made / "m.npz"), read_table(tmp_path / "smooth.csv")
    n = 150  # frames and table cut to keep the test cheap
    save_movie(tmp_path / "short.npz", movie.images[:n], movie.fps)
    write_table(tmp_path / "short.csv", table.iloc[:n])
    table = table.iloc[:n]
    render_video(
        tmp_path / "whole.mp4",
        movie.images[:n],
        table_locs(table),
        table_confidence(table),
        movie.fps,
        flags=table_flags(table),
        hollow=table_bool(table, "_kept_raw"),
        scale=2,
        panel=True,
        progress=False,
    )
    argv = ["render", "--movie", str(tmp_path / "short.npz"), "--predictions"]
    argv += [str(tmp_path / "short.csv"), "--out", str(tmp_path / "streamed.mp4")]
    assert main([*argv, "--scale", "2", "--panel", "--quiet", "--chunk-rows", "40"]) == 0
    assert _same(tmp_path / "whole.mp4", tmp_path / "streamed.mp4")


# --------------------------------------------------------------------------- many movies


def test_tag_movies_gives_each_movie_what_predict_then_smooth_give(made, tmp_path):
    clips = []
    for k in range(3):
        clips.append(tmp_path / f"clip{k}.npz")
        save_movie(clips[-1], load_movie(made / "m.npz").images[k * 20 : k * 20 + 20 + k], 30)
    model = ["--model", str(made / "model.pt"), "--tta", "2", "--device", "cpu"]
    outdirs = [str(tmp_path / "batch" / c.stem) for c in clips]
    argv = ["tag-movies", *model, "--movies", *map(str, clips), "--outdirs", *outdirs]
    assert main([*argv, "--window", "5"]) == 0
    for clip, outdir in zip(clips, outdirs):
        one = tmp_path / "one" / clip.stem
        raw = str(one / "predictions_raw.csv")
        assert main(["predict", *model, "--movie", str(clip), "--out", raw]) == 0
        smooth = ["smooth", "--predictions", raw, "--out", str(one / "predictions.csv")]
        smooth += ["--qc-json", str(one / "qc.json"), "--dlc-csv", str(one / "predictions_dlc.csv")]
        assert main([*smooth, "--window", "5"]) == 0
        for name in ("predictions_raw.csv", "predictions.csv", "predictions_dlc.csv", "qc.json"):
            assert _same(one / name, f"{outdir}/{name}"), name
        truth = json.loads(open(f"{outdir}/ground_truth_metrics.json").read())
        assert truth["ground_truth"] is False


def test_tag_movies_needs_one_folder_per_movie(made, tmp_path, capsys):
    argv = ["tag-movies", "--model", str(made / "model.pt"), "--movies", str(made / "m.npz")]
    assert main([*argv, "--outdirs", str(tmp_path / "a"), str(tmp_path / "b")]) == 2
    assert "expected one folder per movie" in capsys.readouterr().err


def test_movies_are_batched_in_name_order_and_one_per_job_means_no_batch():
    names = [f"clip_{k}" for k in (3, 1, 10, 2, 0)]
    assert movie_batches(names, 1) == {}
    assert movie_batches(names, 2) == {
        "batch0": ["clip_0", "clip_1"],
        "batch1": ["clip_10", "clip_2"],
        "batch2": ["clip_3"],
    }
    assert list(movie_batches([f"m{k:03d}" for k in range(250)], 10))[-1] == "batch24"


def _clips(folder, n, frames=20):
    folder.mkdir()
    rng = np.random.default_rng(0)
    for k in range(n):
        save_movie(folder / f"c{k}.npz", rng.integers(0, 255, (frames, 50, 50), np.uint8))


def test_movies_per_job_plans_one_job_per_batch_and_keeps_the_per_movie_files(tmp_path):
    _clips(tmp_path / "clips", 5)
    config = {
        "movies": {"clip": str(tmp_path / "clips")},
        "movies_per_job": 2,
        "render": {"video": False, "figures": False},
    }
    out = run_snakemake(tmp_path, "-n", configs=[config]).stdout
    jobs = dict(re.findall(r"^(\w+)\s+(\d+)$", out, re.M))
    assert {k: v for k, v in jobs.items() if k.startswith("tag_movies")} == {
        "tag_movies_demo_batch0": "1",
        "tag_movies_demo_batch1": "1",
        "tag_movies_demo_batch2": "1",
    }
    assert "predict_movie" not in jobs and "render_movie" not in jobs
    assert "results/demo/movies/clip_c4/qc.json" in out
    out = run_snakemake(tmp_path, "-n", configs=[{"movies": config["movies"]}]).stdout
    jobs = dict(re.findall(r"^(\w+)\s+(\d+)$", out, re.M))
    assert jobs["predict_movie"] == jobs["render_movie"] == "6"  # 5 clips and the demo movie


@pytest.mark.slow
def test_a_batch_job_runs_the_chain_of_its_clips(tmp_path):
    _clips(tmp_path / "clips", 3)
    config = SHRUNK_DEMO | {
        "data": {"synthetic": {"train_frames": 300, "test_frames": 50}},
        "train": SHRUNK_DEMO["train"] | {"steps": 20, "arch_kwargs": {"width": 8}},
        "movies": {"clip": str(tmp_path / "clips")},
        "movies_per_job": 2,
        "render": {"video": False, "figures": False},
    }
    run_snakemake(tmp_path, configs=[config])
    for k in range(3):
        movie = tmp_path / f"results/demo/movies/clip_c{k}"
        assert len(read_table(movie / "predictions.csv")) == 20
        assert json.loads((movie / "qc.json").read_text())["n_frames"] == 20
    assert not list(tmp_path.glob("results/demo/movies/*/tagged.mp4"))
