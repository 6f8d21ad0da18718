"""Splits by group: no group on two sides, fractions honoured within one group's size."""

from __future__ import annotations

import json

import numpy as np
import pytest

from direction_tagger.cli import main
from direction_tagger.io import DataError, save_labelled
from direction_tagger.originals.split import (
    groups_on_several_parts,
    load_split,
    load_split_info,
    parse_fractions,
    save_split,
    split_by_group,
    split_with_fallback,
)

FRACTIONS = {"train": 0.8, "val": 0.1, "test": 0.1}


def check_split(split, groups, fractions):
    n = len(groups)
    everything = np.sort(np.concatenate(list(split.values())))
    np.testing.assert_array_equal(everything, np.arange(n))  # every frame exactly once
    assert groups_on_several_parts(split, groups) == []
    largest = np.bincount(np.unique(groups, return_inverse=True)[1]).max()
    for name, share in fractions.items():
        assert abs(len(split[name]) - share * n) <= largest, (name, len(split[name]), share * n)


@pytest.mark.parametrize("seed", range(6))
def test_equal_groups_of_64(seed):
    groups = np.random.default_rng(seed).permutation(np.repeat(np.arange(1546), 64))
    split = split_by_group(groups, FRACTIONS, seed)
    check_split(split, groups, FRACTIONS)


@pytest.mark.parametrize("seed", range(6))
def test_uneven_groups(seed):
    rng = np.random.default_rng(100 + seed)
    sizes = rng.integers(1, 400, rng.integers(5, 60))
    groups = rng.permutation(np.repeat(np.arange(len(sizes)), sizes))
    fractions = {"train": 0.7, "val": 0.2, "test": 0.1}
    check_split(split_by_group(groups, fractions, seed), groups, fractions)


def test_named_groups_zero_fraction_and_determinism():
    groups = np.repeat(
        np.array(["rat1-day1", "rat1-day2", "rat2", "rat3", "rat4"]), [50, 40, 60, 30, 20]
    )
    fractions = {"train": 0.75, "val": 0.25, "test": 0.0}
    a = split_by_group(groups, fractions, 3)
    b = split_by_group(groups, fractions, 3)
    assert all(np.array_equal(a[k], b[k]) for k in fractions)
    assert len(a["test"]) == 0
    check_split(a, groups, fractions)
    many = np.repeat(np.arange(200), 5)
    assert any(
        not np.array_equal(
            split_by_group(many, FRACTIONS, 0)["val"], split_by_group(many, FRACTIONS, s)["val"]
        )
        for s in (1, 2)
    )


def test_bad_fractions_are_refused():
    groups = np.arange(10)
    for bad in ({"train": 0.8, "val": 0.3}, {"train": -0.1, "val": 1.1}, {}):
        with pytest.raises(ValueError):
            split_by_group(groups, bad, 0)
    assert parse_fractions("0.8,0.1,0.1") == FRACTIONS
    assert parse_fractions("train=0.9, test=0.1") == {"train": 0.9, "test": 0.1}
    with pytest.raises(ValueError):
        parse_fractions("0.5,0.5")


def runs_in_order(idx, order):
    """How many contiguous runs the frames `idx` make in the frame order `order`."""
    position = np.argsort(order)[np.sort(idx)]
    position.sort()
    return 1 + int(np.count_nonzero(np.diff(position) > 1))


@pytest.mark.parametrize("recordings", [1, 2])
def test_one_or_two_recordings_fall_back_to_contiguous_blocks(recordings):
    n = 80
    groups = np.repeat([f"rec{r}" for r in range(recordings)], n // recordings)
    # image names out of file order (and img10 after img9): the order in time is the names'
    rng = np.random.default_rng(3)
    number = np.concatenate([rng.permutation(n // recordings) for _ in range(recordings)])
    names = np.array([f"img{i}.png" for i in number])
    split, blocks = split_with_fallback(groups, FRACTIONS, 0, names)
    assert blocks is not None and len(np.unique(blocks)) == 10 * recordings
    everything = np.sort(np.concatenate(list(split.values())))
    np.testing.assert_array_equal(everything, np.arange(n))
    assert groups_on_several_parts(split, blocks) == []
    for part, share in FRACTIONS.items():
        assert len(split[part]) == share * n, part
    # within a recording, a part holds runs of consecutive images, not scattered frames
    time_order = np.lexsort((number, groups))
    for part in ("val", "test"):
        assert runs_in_order(split[part], time_order) <= recordings, part
    # the same call gives the same split; another seed another one
    again, _ = split_with_fallback(groups, FRACTIONS, 0, names)
    assert all(np.array_equal(again[k], split[k]) for k in FRACTIONS)
    other, _ = split_with_fallback(groups, FRACTIONS, 5, names)
    assert not np.array_equal(other["val"], split["val"])


def test_enough_recordings_are_never_cut():
    groups = np.repeat(np.arange(12), 20)
    split, blocks = split_with_fallback(groups, FRACTIONS, 0)
    assert blocks is None
    assert groups_on_several_parts(split, groups) == []
    # an empty part that was asked to be empty is no reason to cut
    _, blocks = split_with_fallback(np.zeros(40), {"train": 0.9, "val": 0.1, "test": 0.0}, 0)
    assert blocks is not None  # one recording: val would be empty
    split, blocks = split_with_fallback(
        np.repeat([0, 1], 20), {"train": 0.5, "val": 0.5, "test": 0.0}, 0
    )
    assert blocks is None and len(split["test"]) == 0


def test_split_command_says_when_it_cut_a_recording(tmp_path, capsys):
    data = tmp_path / "one_recording.npz"
    _labelled(
        data,
        30,
        video=np.array(["mouse1"] * 30),
        frame=np.array([f"img{i:04d}.png" for i in range(30)]),
    )
    out = tmp_path / "split.json"
    assert main(["split", "--data", str(data), "--group-key", "video", "--out", str(out)]) == 0
    info = load_split_info(out)
    assert info["fallback"] == "contiguous blocks within groups"
    assert "contiguous blocks" in info["rule"] and "key 'frame'" in info["rule"]
    assert all(info["parts"][k]["n_frames"] == 3 for k in ("val", "test"))
    split = load_split(out)
    assert all(np.all(np.diff(split[k]) == 1) for k in ("val", "test"))  # one run each
    capsys.readouterr()


def test_save_and_load_round_trip(tmp_path):
    groups = np.repeat(np.arange(30), 4)
    split = split_by_group(groups, FRACTIONS, 1)
    path = tmp_path / "split.json"
    info = save_split(path, split, "by group, seed 1", groups=groups, data_sha256="ab" * 32)
    assert info["rule"] == "by group, seed 1" and info["parts"]["train"]["n_groups"] == 24
    back = load_split(path)
    assert set(back) == set(FRACTIONS)
    for k in FRACTIONS:
        np.testing.assert_array_equal(back[k], split[k])
        assert back[k].dtype == np.int64
    meta = load_split_info(path)
    assert meta["rule"] == "by group, seed 1" and "indices" not in meta
    assert meta["data_sha256"] == "ab" * 32
    # a leaking split is refused on save; an overlapping file on load
    with pytest.raises(ValueError):
        save_split(
            tmp_path / "leak.json",
            {"train": np.arange(0, 6), "val": np.arange(6, 120)},
            "random",
            groups=groups,
        )
    raw = json.loads(path.read_text())
    raw["indices"]["val"].append(raw["indices"]["train"][0])
    (tmp_path / "bad.json").write_text(json.dumps(raw))
    with pytest.raises(DataError):
        load_split(tmp_path / "bad.json")
    (tmp_path / "junk.json").write_text("[1, 2]")
    with pytest.raises(DataError):
        load_split(tmp_path / "junk.json")


def _labelled(path, n, **extra):
    rng = np.random.default_rng(0)
    save_labelled(
        path,
        rng.integers(0, 255, (n, 50, 50)).astype(np.uint8),
        rng.uniform(5, 45, (n, 3, 2)).astype(np.float32),
        **extra,
    )


def test_split_command_group_sources(tmp_path, capsys):
    n = 64 * 20
    data = tmp_path / "aug.npz"
    _labelled(
        data,
        n,
        groups=np.repeat(np.arange(20), 64),
        video=np.repeat(np.array([f"video{i}" for i in range(5)]), n // 5),
    )
    np.savez(tmp_path / "groups.npz", groups=np.repeat(np.arange(20), 64)[::-1].copy())

    out = tmp_path / "from_data.json"
    assert (
        main(
            [
                "split",
                "--data",
                str(data),
                "--fractions",
                "0.8,0.1,0.1",
                "--seed",
                "2",
                "--out",
                str(out),
            ]
        )
        == 0
    )
    info = load_split_info(out)
    assert "key 'groups'" in info["rule"] and "no group is in two parts" in info["rule"]
    assert info["parts"]["val"]["n_frames"] == 128 and len(info["data_sha256"]) == 64
    check_split(load_split(out), np.repeat(np.arange(20), 64), FRACTIONS)

    out = tmp_path / "from_file.json"
    assert (
        main(
            [
                "split",
                "--data",
                str(data),
                "--groups",
                str(tmp_path / "groups.npz"),
                "--seed",
                "2",
                "--out",
                str(out),
            ]
        )
        == 0
    )
    check_split(load_split(out), np.repeat(np.arange(20), 64)[::-1], FRACTIONS)

    out = tmp_path / "by_video.json"
    assert (
        main(
            [
                "split",
                "--data",
                str(data),
                "--group-key",
                "video",
                "--fractions",
                "train=0.6,val=0.2,test=0.2",
                "--out",
                str(out),
            ]
        )
        == 0
    )
    videos = np.repeat(np.array([f"video{i}" for i in range(5)]), n // 5)
    split = load_split(out)
    assert groups_on_several_parts(split, videos) == []
    assert [len(split[k]) // 256 for k in ("train", "val", "test")] == [3, 1, 1]
    capsys.readouterr()


def test_split_command_refuses_without_groups(tmp_path, capsys):
    data = tmp_path / "plain.npz"
    _labelled(data, 40)
    assert main(["split", "--data", str(data), "--out", str(tmp_path / "s.json")]) == 2
    assert "no groups" in capsys.readouterr().err
    assert not (tmp_path / "s.json").exists()
    assert (
        main(
            [
                "split",
                "--data",
                str(data),
                "--group-key",
                "frame",
                "--out",
                str(tmp_path / "s.json"),
            ]
        )
        == 0
    )
    assert (
        main(
            [
                "split",
                "--data",
                str(data),
                "--group-key",
                "animal",
                "--out",
                str(tmp_path / "t.json"),
            ]
        )
        == 2
    )
    np.savez(tmp_path / "short.npz", groups=np.arange(7))
    assert (
        main(
            [
                "split",
                "--data",
                str(data),
                "--groups",
                str(tmp_path / "short.npz"),
                "--out",
                str(tmp_path / "u.json"),
            ]
        )
        == 2
    )


def test_split_refuses_groups_recovered_from_another_file(tmp_path, capsys):
    """A re-augmented set has as many frames as the published one, in another order: groups
    recovered from the published file must not be applied to it (a silent leak)."""
    n = 64 * 4
    published, ours = tmp_path / "published.npz", tmp_path / "ours.npz"
    _labelled(published, n)
    _labelled(ours, n, groups=np.repeat(np.arange(4), 64))
    from direction_tagger.io import sha256_file

    np.savez(
        tmp_path / "g.npz",
        groups=np.repeat(np.arange(4), 64),
        data_sha256=np.array(sha256_file(published)),
    )
    assert (
        main(
            [
                "split",
                "--data",
                str(published),
                "--groups",
                str(tmp_path / "g.npz"),
                "--out",
                str(tmp_path / "ok.json"),
            ]
        )
        == 0
    )
    assert (
        main(
            [
                "split",
                "--data",
                str(ours),
                "--groups",
                str(tmp_path / "g.npz"),
                "--out",
                str(tmp_path / "bad.json"),
            ]
        )
        == 2
    )
    assert "another file" in capsys.readouterr().err
    assert not (tmp_path / "bad.json").exists()
