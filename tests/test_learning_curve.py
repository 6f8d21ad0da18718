"""Learning curve: nested subsets of labelled originals, the subset split command, the table and
figure, and the workflow target (`snakemake learning_curve`)."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

from conftest import run_snakemake
from direction_tagger.cli import main
from direction_tagger.io import save_labelled, write_json
from direction_tagger.learning_curve import write_learning_curve
from direction_tagger.originals.split import (
    load_split,
    load_split_info,
    save_split,
    subsample_originals,
)

# 30 originals x 4 copies, copies scattered over the frame order (as in the published set)
ORIGINALS = np.random.default_rng(3).permutation(np.repeat(np.arange(30), 4))
TRAIN = np.flatnonzero(ORIGINALS < 24)  # a split by original: 24 of the 30 train


# --- subsample_originals ----------------------------------------------------------------


def originals_in(indices):
    return set(ORIGINALS[indices].tolist())


@pytest.mark.parametrize("seed", [0, 1, 7])
def test_subsets_are_nested_across_counts_for_one_seed(seed):
    subsets = [subsample_originals(TRAIN, ORIGINALS, n, seed) for n in (1, 3, 10, 24)]
    for small, large in zip(subsets, subsets[1:]):
        assert set(small.tolist()) < set(large.tolist())
    assert [len(originals_in(s)) for s in subsets] == [1, 3, 10, 24]


def test_subsets_stay_in_the_training_part_and_keep_copies_together():
    for n in (1, 5, 24):
        subset = subsample_originals(TRAIN, ORIGINALS, n, seed=2)
        assert set(subset.tolist()) <= set(TRAIN.tolist())
        assert np.all(np.diff(subset) > 0)  # sorted, no repeats
        # every copy of a chosen original is there: 4 frames each
        assert len(subset) == 4 * n
        np.testing.assert_array_equal(
            subset, np.flatnonzero(np.isin(ORIGINALS, list(originals_in(subset))))
        )


def test_copies_outside_the_training_part_are_left_out():
    # a split by something finer than originals: frames of one original on both sides
    train = np.arange(0, len(ORIGINALS), 2)
    subset = subsample_originals(train, ORIGINALS, 30, seed=0)
    np.testing.assert_array_equal(subset, train)


def test_same_seed_same_subset_other_seed_other_subset():
    a = subsample_originals(TRAIN, ORIGINALS, 5, seed=4)
    np.testing.assert_array_equal(a, subsample_originals(TRAIN, ORIGINALS, 5, seed=4))
    # does not depend on the order the training frames are listed in
    np.testing.assert_array_equal(a, subsample_originals(TRAIN[::-1], ORIGINALS, 5, seed=4))
    others = [subsample_originals(TRAIN, ORIGINALS, 5, seed=s) for s in range(5, 10)]
    assert any(not np.array_equal(a, b) for b in others)


def test_a_count_above_what_there_is_takes_every_training_original():
    np.testing.assert_array_equal(subsample_originals(TRAIN, ORIGINALS, 1000, seed=0), TRAIN)


def test_independent_frames_and_bad_counts():
    frames = np.arange(50)
    subset = subsample_originals(frames[:40], frames, 7, seed=0)
    assert len(subset) == 7 and subset.max() < 40
    with pytest.raises(ValueError, match="count must be >= 1"):
        subsample_originals(TRAIN, ORIGINALS, 0, seed=0)
    with pytest.raises(ValueError, match="outside"):
        subsample_originals([0, 500], ORIGINALS, 1, seed=0)


# --- direction-tagger subsample-split ----------------------------------------------------


@pytest.fixture
def augmented(tmp_path):
    """An augmented set carrying `original_index`, and a split of it by original."""
    rng = np.random.default_rng(0)
    data = tmp_path / "augmented.npz"
    n = len(ORIGINALS)
    save_labelled(
        data,
        rng.integers(0, 255, (n, 50, 50)).astype(np.uint8),
        rng.uniform(5, 45, (n, 3, 2)).astype(np.float32),
        original_index=ORIGINALS,
        groups=ORIGINALS // 10,
    )  # coarser groups (e.g. video): not the originals
    split = tmp_path / "split.json"
    assert (
        main(
            [
                "split",
                "--data",
                str(data),
                "--fractions",
                "0.6,0.2,0.2",
                "--group-key",
                "original_index",
                "--seed",
                "1",
                "--out",
                str(split),
            ]
        )
        == 0
    )
    return data, split


def test_subsample_split_keeps_val_and_test_and_records_what_it_did(augmented, tmp_path, capsys):
    data, split = augmented
    out = tmp_path / "n5.json"
    assert (
        main(
            [
                "subsample-split",
                "--split",
                str(split),
                "--data",
                str(data),
                "--count",
                "5",
                "--seed",
                "0",
                "--out",
                str(out),
            ]
        )
        == 0
    )
    whole, subset = load_split(split), load_split(out)
    assert list(subset) == list(whole)
    for part in ("val", "test"):
        np.testing.assert_array_equal(subset[part], whole[part])
    np.testing.assert_array_equal(
        subset["train"], subsample_originals(whole["train"], ORIGINALS, 5, 0)
    )
    info = load_split_info(out)
    assert (info["count_requested"], info["n_originals"], info["seed"]) == (5, 5, 0)
    assert info["n_originals_available"] == len(originals_in(whole["train"]))
    assert info["parts"]["train"]["n_frames"] == 20
    assert "5 of the" in info["rule"] and "original_index" in info["rule"]
    assert "val and test are" in info["rule"]

    big = tmp_path / "n999.json"
    assert (
        main(
            [
                "subsample-split",
                "--split",
                str(split),
                "--data",
                str(data),
                "--count",
                "999",
                "--seed",
                "0",
                "--out",
                str(big),
            ]
        )
        == 0
    )
    info = load_split_info(big)
    assert info["count_requested"] == 999 and info["n_originals"] == info["n_originals_available"]
    np.testing.assert_array_equal(load_split(big)["train"], whole["train"])
    capsys.readouterr()


def test_subsample_split_reads_originals_like_split_reads_groups(augmented, tmp_path, capsys):
    data, split = augmented
    np.savez(tmp_path / "groups.npz", groups=ORIGINALS)
    for source in (["--groups", str(tmp_path / "groups.npz")], ["--group-key", "frame"]):
        out = tmp_path / "s.json"
        assert (
            main(
                [
                    "subsample-split",
                    "--split",
                    str(split),
                    "--data",
                    str(data),
                    *source,
                    "--count",
                    "3",
                    "--seed",
                    "1",
                    "--out",
                    str(out),
                ]
            )
            == 0
        )
        expected = 12 if source[0] == "--groups" else 3  # 4 copies each, or single frames
        assert len(load_split(out)["train"]) == expected
    capsys.readouterr()


@pytest.mark.parametrize(
    "args, message",
    [
        (["--count", "0"], "--count must be at least 1, got 0"),
        (["--count", "2", "--seed", "-1"], "--seed must be >= 0"),
        (["--count", "2", "--group-key", "animal"], "no key 'animal'"),
    ],
)
def test_subsample_split_bad_input_is_one_line_and_exit_2(
    augmented, tmp_path, capsys, args, message
):
    data, split = augmented
    argv = [
        "subsample-split",
        "--split",
        str(split),
        "--data",
        str(data),
        "--seed",
        "0",
        "--out",
        str(tmp_path / "x.json"),
        *args,
    ]
    assert main(argv) == 2
    err = capsys.readouterr().err.strip()
    assert message in err and len(err.splitlines()) == 1, err
    assert not (tmp_path / "x.json").exists()


def test_subsample_split_refuses_a_split_without_a_training_part(augmented, tmp_path, capsys):
    data, _ = augmented
    only_test = tmp_path / "only_test.json"
    save_split(only_test, {"test": np.arange(10)}, "test only")
    assert (
        main(
            [
                "subsample-split",
                "--split",
                str(only_test),
                "--data",
                str(data),
                "--count",
                "2",
                "--seed",
                "0",
                "--out",
                str(tmp_path / "x.json"),
            ]
        )
        == 2
    )
    err = capsys.readouterr().err.strip()
    assert "no part 'train'" in err and len(err.splitlines()) == 1


def test_subsample_split_refuses_a_split_of_another_file(augmented, tmp_path, capsys):
    data, split = augmented
    other = tmp_path / "other.npz"
    save_labelled(
        other,
        np.zeros((len(ORIGINALS), 50, 50), np.uint8),
        np.full((len(ORIGINALS), 3, 2), 20, np.float32),
        original_index=ORIGINALS,
    )
    assert (
        main(
            [
                "subsample-split",
                "--split",
                str(split),
                "--data",
                str(other),
                "--count",
                "2",
                "--seed",
                "0",
                "--out",
                str(tmp_path / "x.json"),
            ]
        )
        == 2
    )
    assert "split of another file" in capsys.readouterr().err


# --- table, figure, Markdown --------------------------------------------------------------


def fake_point(tmp_path, count, seed, used, error):
    """A split and metrics file as the workflow writes them, with a chosen error."""
    split = tmp_path / f"n{count}_s{seed}_split.json"
    save_split(
        split,
        {"train": np.arange(used * 4), "val": [1000], "test": [1001, 1002]},
        "fake",
        count_requested=count,
        n_originals=used,
        seed=seed,
    )
    metrics = tmp_path / f"n{count}_s{seed}_metrics.json"
    write_json(
        metrics,
        {
            "n_frames": 2,
            "keypoints": {
                k: {"median": error * f} for k, f in (("base", 1), ("neck", 0.25), ("head", 2))
            },
            "body_direction": {"share_over_90deg": 0.1 / count},
            "mean_baseline": {"median_px_all": 9.0},
        },
    )
    return split, metrics


def test_learning_curve_table_figure_and_markdown(tmp_path):
    import matplotlib.image

    points = [
        fake_point(tmp_path, c, s, min(c, 25), 4.0 / c + 0.1 * s)
        for c in (40, 5, 10)
        for s in (0, 1)
    ]
    splits, metrics = zip(*points)
    out = {k: tmp_path / f"lc.{k}" for k in ("csv", "png", "md")}
    write_learning_curve(splits, metrics, out["csv"], out["png"], out["md"], title="r1")
    table = pd.read_csv(out["csv"])
    assert table["count"].tolist() == [5, 5, 10, 10, 40, 40]  # sorted by count, then seed
    assert table.seed.tolist() == [0, 1] * 3
    assert table.n_originals.tolist() == [5, 5, 10, 10, 25, 25]
    assert table.n_train_frames.tolist() == [20, 20, 40, 40, 100, 100]
    np.testing.assert_allclose(table.base_median_px, [0.8, 0.9, 0.4, 0.5, 0.1, 0.2])
    np.testing.assert_allclose(table.mean_median_px, table.base_median_px * 3.25 / 3, atol=1e-4)
    assert matplotlib.image.imread(out["png"]).ndim == 3
    md = out["md"].read_text()
    rows = [line for line in md.splitlines() if line[:3].strip("| ").isdigit()]
    assert len(rows) == 3
    assert rows[0].startswith("| 5 | 1.70 ± 0.14 | 0.21 ± 0.02 | 0.85 ± 0.07 | 2.0 ± 0.0 %")
    assert "25 (asked 40; all there are)" in rows[2]


def test_learning_curve_command_needs_one_metrics_file_per_split(tmp_path, capsys):
    split, metrics = fake_point(tmp_path, 5, 0, 5, 1.0)
    assert (
        main(
            [
                "learning-curve",
                "--splits",
                str(split),
                str(split),
                "--metrics",
                str(metrics),
                "--csv",
                "a.csv",
                "--figure",
                "a.png",
                "--markdown",
                "a.md",
            ]
        )
        == 2
    )
    assert "2 --splits but 1 --metrics" in capsys.readouterr().err


# --- the workflow ----------------------------------------------------------------------------

TINY = {
    "data": {"synthetic": {"train_frames": 300, "test_frames": 50}},
    "split": {"train": 0.8, "val": 0.1, "test": 0.1},
    "train": {"steps": 20, "eval_every": 10, "batch_size": 16, "arch_kwargs": {"width": 8}},
    "learning_curve": {"counts": [5, 20], "seeds": [0, 1]},
    "synthetic_movies": {},
    "evaluate": {"tta": False},
}


def test_learning_curve_without_test_frames_stops_at_once_in_one_line(tmp_path):
    # config/demo.yaml has split.test 0: the normal workflow is fine, the curve is not
    assert run_snakemake(tmp_path, "-n", configs=[]).returncode == 0
    result = run_snakemake(tmp_path, "-n", "learning_curve", check=False)
    assert result.returncode != 0
    # raised while the DAG is built (only when the curve is asked for), in one line
    lines = [
        line.strip()
        for line in (result.stdout + result.stderr).splitlines()
        if "learning_curve needs test recordings" in line
    ]
    assert lines == [
        "learning_curve needs test recordings: run 'demo' has split.test 0; set "
        "split.test > 0 (e.g. 0.1) so every subset is tested on the same held-out "
        "frames"
    ]
    enabled = run_snakemake(
        tmp_path, "-n", configs=[{"learning_curve": {"enabled": True}}], check=False
    )
    assert enabled.returncode != 0 and "needs test recordings" in enabled.stdout + enabled.stderr


@pytest.mark.slow
def test_learning_curve_target_builds_table_figure_and_markdown(tmp_path):
    import matplotlib.image

    from direction_tagger.train.model_file import load_model

    # one thread per job: two small trainings at once (40 s instead of 78 s on 2 busy cores)
    run_snakemake(
        tmp_path,
        "--set-threads",
        "learning_curve_train=1",
        "learning_curve_evaluate=1",
        "-p",
        "learning_curve",
        configs=[TINY],
    )
    lc = tmp_path / "results/demo/learning_curve"
    table = pd.read_csv(lc / "learning_curve.csv")
    assert sorted(zip(table["count"], table.seed)) == [(5, 0), (5, 1), (20, 0), (20, 1)]
    # synthetic frames have no copies: one frame per original
    assert (table.n_originals == table["count"]).all()
    assert (table.n_train_frames == table["count"]).all()
    whole = load_split(tmp_path / "results/demo/split.json")
    assert len(whole["test"]) > 0 and (table.n_test_frames == len(whole["test"])).all()
    assert np.isfinite(table[["base_median_px", "neck_median_px", "head_median_px"]]).all().all()
    for count, seed in zip(table["count"], table.seed):
        point = lc / f"n{count}_s{seed}"
        subset = load_split(point / "split.json")
        for part in ("val", "test"):
            np.testing.assert_array_equal(subset[part], whole[part])
        assert set(subset["train"].tolist()) <= set(whole["train"].tolist())
        metrics = json.loads((point / "metrics.json").read_text())
        assert metrics["n_frames"] == len(whole["test"]) and metrics["tta"] == 0
        _, meta = load_model(point / "model.pt")  # trained on the subset, with its seed
        assert meta["n_train"] == count and meta["config"]["seed"] == seed
    # nested for one seed; another subset for the other
    train = {
        (c, s): set(load_split(lc / f"n{c}_s{s}/split.json")["train"].tolist())
        for c, s in zip(table["count"], table.seed)
    }
    assert train[5, 0] < train[20, 0] and train[5, 1] < train[20, 1] and train[5, 0] != train[5, 1]
    assert matplotlib.image.imread(lc / "learning_curve.png").shape[2] in (3, 4)
    rows = [
        line
        for line in (lc / "learning_curve.md").read_text().splitlines()
        if line[:4].strip("| ").isdigit()
    ]
    assert [row.split("|")[1].strip() for row in rows] == ["5", "20"]
    run_snakemake(tmp_path, "--report", "report.html", "learning_curve", configs=[TINY])
    assert "learning_curve.png" in (tmp_path / "report.html").read_text(errors="replace")
