"""The published-data chain end to end, offline: a zip holding both `.npz` files is served on
127.0.0.1; the workflow downloads and checksums it, verifies, recovers the originals behind
the x64 augmentation, re-augments them, splits by original without leaks, trains and tags
the movie."""

import functools
import http.server
import json
import threading
import zipfile

import numpy as np
import pytest

from conftest import run_snakemake
from direction_tagger.data.synth import make_labelled_set, make_movie
from direction_tagger.io import save_labelled, save_movie, sha256_file
from direction_tagger.originals.augment import augment_originals
from direction_tagger.originals.split import load_split

pytestmark = pytest.mark.slow
N_ORIGINALS = 24


@pytest.fixture
def served_archive(tmp_path):
    """A published-style archive on a local HTTP server; yields (url, sha256)."""
    site = tmp_path / "site"
    site.mkdir()
    images, locs = make_labelled_set(N_ORIGINALS, seed=3)
    aug_images, aug_locs, _ = augment_originals(images, locs, seed=5)
    order = np.random.default_rng(0).permutation(len(aug_images))  # unknown order
    save_labelled(site / "rat_images_augmented_and_tagged.npz", aug_images[order], aug_locs[order])
    movie, _ = make_movie(40, seed=4)
    save_movie(site / "rat_movie_db_50pix.npz", movie, fps=25)
    with zipfile.ZipFile(site / "tagged.zip", "w") as archive:
        for name in ("rat_images_augmented_and_tagged.npz", "rat_movie_db_50pix.npz"):
            archive.write(site / name, f"tagged_dataset/{name}")
            (site / name).unlink()
    handler = functools.partial(http.server.SimpleHTTPRequestHandler, directory=str(site))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}/tagged.zip", sha256_file(site / "tagged.zip")
    server.shutdown()


def test_published_chain_downloads_recovers_and_splits_without_leaks(tmp_path, served_archive):
    url, digest = served_archive
    work = tmp_path / "work"
    work.mkdir()
    config = {
        "run": "pub",
        "data": {
            "source": "published",
            "published": {"url": url, "sha256": digest, "expected_frames": N_ORIGINALS * 64},
        },
        "originals": {"recover": True, "augment": {"enabled": True, "seed": 1}},
        "split": {"train": 0.6, "val": 0.2, "test": 0.2},
        # a narrow network from scratch: the pretrained start model has the default widths
        "train": {"steps": 20, "batch_size": 16, "arch_kwargs": {"width": 8}, "init": "scratch"},
        "evaluate": {"tta": False},
        "predict": {"tta": False},
        "render": {"panel": False, "scale": 4},
        "movies": {"rat_movie": "tagged_dataset/rat_movie_db_50pix.npz"},
        "synthetic_movies": {},
    }
    run_snakemake(work, configs=[config], replace=True)

    recovered = json.loads((work / "results/data/originals_report.json").read_text())
    assert recovered["n_groups"] == N_ORIGINALS
    groups = np.load(work / "results/data/augmented.npz")["groups"]
    split = load_split(work / "results/pub/split.json")
    sides = [set(groups[split[part]]) for part in ("train", "val", "test")]
    assert not (sides[0] & sides[1]) and not (sides[0] & sides[2]) and not (sides[1] & sides[2])
    assert (work / "tagged_dataset/rat_images_augmented_and_tagged.npz.sha256").exists()
    metrics = json.loads((work / "results/pub/eval/heldout/metrics.json").read_text())
    assert metrics["n_frames"] == len(split["test"])
    assert (work / "results/pub/movies/rat_movie/tagged.mp4").stat().st_size > 0
