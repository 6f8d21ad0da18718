"""Recovering originals from an augmented, shuffled set: round trips on synthetic truth."""

from __future__ import annotations

import json

import numpy as np
import pytest

from direction_tagger.cli import main
from direction_tagger.dihedral import dihedral_images, dihedral_points
from direction_tagger.io import load_labelled, save_labelled
from direction_tagger.originals.augment import (
    augment_originals,
    augmentation_plan,
    transform_points,
)
from direction_tagger.originals.recover import recover_originals


def originals(n: int, seed: int):
    """Realistic rat frames from the project's renderer, or a tiny stand-in if it is missing:
    smooth textured floor, a dark elongated body with a head, labels at base / neck / nose."""
    try:
        from direction_tagger.data.synth import make_labelled_set
    except ImportError:  # pragma: no cover - only while synth.py does not exist
        return _fallback_originals(n, seed)
    return make_labelled_set(n, seed)


def _fallback_originals(n, seed):
    from scipy import ndimage

    rng = np.random.default_rng(seed)
    yy, xx = np.mgrid[0:50, 0:50].astype(float)
    images, locs = np.empty((n, 50, 50), np.uint8), np.empty((n, 3, 2), np.float32)
    for i in range(n):
        floor = ndimage.gaussian_filter(rng.standard_normal((50, 50)), 5) * 300 + 150
        u = np.array([np.cos(a := rng.uniform(0, 2 * np.pi)), np.sin(a)])
        centre = 24.5 + rng.uniform(-3, 3, 2)
        base, neck = centre - 10 * u, centre + 5 * u
        head = neck + 6 * np.array([np.cos(a + 0.4), np.sin(a + 0.4)])
        body = np.exp(
            -((((xx - centre[0]) * u[0] + (yy - centre[1]) * u[1]) / 11) ** 2)
            - (((xx - centre[0]) * u[1] - (yy - centre[1]) * u[0]) / 4) ** 2
        )
        img = floor * (1 - body) + 50 * body + rng.normal(0, 3, (50, 50))
        images[i] = np.clip(img.round(), 0, 255)
        locs[i] = (base, neck, head)
    return images, locs


def shuffled_round_trip(n, seed, aug_kwargs=None, recover_kwargs=None):
    aug_kwargs = aug_kwargs or {}
    images, locs = originals(n, seed)
    aug, aug_locs, original = augment_originals(images, locs, seed=seed + 1, **aug_kwargs)
    factor_keys = ("rot90", "vflip", "noise", "shift", "label_noise", "pixel_shift_px")
    plan = augmentation_plan(
        n, seed + 1, **{k: v for k, v in aug_kwargs.items() if k in factor_keys}
    )
    perm = np.random.default_rng(seed + 2).permutation(len(aug))
    result = recover_originals(aug[perm], aug_locs[perm], **(recover_kwargs or {}))
    return images, locs, plan, perm, result


def fraction_in_right_group(group, truth) -> float:
    """Frames whose recovered group is their original's group, one group per original."""
    right = np.zeros(len(group), dtype=bool)
    for g in np.unique(group):
        members = group == g
        best = np.bincount(truth[members]).argmax()
        home = np.bincount(group[truth == best]).argmax()  # where most of that original went
        right |= members & (truth == best) & (home == g)
    return float(right.mean())


def representative_truth(locs, plan, perm, result):
    """The true labels of each group's representative frame (no label noise)."""
    frames = perm[result.representative_frame]
    return transform_points(
        locs[plan["original_index"][frames]],
        plan["k"][frames],
        plan["flip"][frames],
        plan["shift_x"][frames],
        plan["shift_y"][frames],
    )


@pytest.mark.parametrize(
    "aug_kwargs, recover_kwargs",
    [
        ({}, {}),  # our defaults: noise 4, shift 2, label noise 0.5
        (
            {"pixel_noise_sigma": 12.0, "pixel_shift_px": 3, "label_noise_sigma": 0.3},
            {"max_shift_px": 3},
        ),
        ({"pixel_noise_sigma": 1.5, "pixel_shift_px": 1, "label_noise_sigma": 0.8}, {}),
    ],
    ids=["defaults", "noisier-wider-shift", "quieter-small-shift"],
)
def test_round_trip_recovers_groups_and_labels(aug_kwargs, recover_kwargs):
    images, locs, plan, perm, result = shuffled_round_trip(40, 11, aug_kwargs, recover_kwargs)
    truth = plan["original_index"][perm]
    assert fraction_in_right_group(result.group_of_frame, truth) >= 0.99
    report = result.report
    assert report["n_groups"] == 40 and report["group_size_counts"] == {"64": 40}
    assert report["n_groups_off_modal_size"] == 0
    # each representative is a real frame of its own group; labels within 0.3 px of the truth
    np.testing.assert_array_equal(result.group_of_frame[result.representative_frame], np.arange(40))
    err = np.linalg.norm(result.locs - representative_truth(locs, plan, perm, result), axis=-1)
    assert err.max() < 0.3, err.max()
    # the representative is an un-shifted, noise-free copy: the original up to rotation / flip
    frames = perm[result.representative_frame]
    for g, f in enumerate(frames):
        o = plan["original_index"][f]
        np.testing.assert_array_equal(
            result.images[g], dihedral_images(images[o], plan["k"][f], plan["flip"][f])
        )


def test_frame_transforms_relative_to_the_representative():
    images, locs, plan, perm, result = shuffled_round_trip(12, 21)
    rep_truth = representative_truth(locs, plan, perm, result)
    g = result.group_of_frame
    # frame = shift(D(rep), shift): its clean labels follow from the representative's exactly
    mapped = (
        np.stack(
            [
                dihedral_points(rep_truth[g[i]], result.frame_k[i], result.frame_flip[i])
                for i in range(len(g))
            ]
        )
        + result.frame_shift[:, None, :]
    )
    truth = transform_points(
        locs[plan["original_index"][perm]],
        plan["k"][perm],
        plan["flip"][perm],
        plan["shift_x"][perm],
        plan["shift_y"][perm],
    )
    np.testing.assert_allclose(mapped, truth, atol=1e-4)
    assert (result.frame_shift == np.rint(result.frame_shift)).all()  # whole-pixel data stays whole


def test_median_representative_and_all_noisy_copies():
    """Copies that all carry noise (no clean one): the median of the un-shifted copies."""
    images, locs = originals(10, 31)
    aug, aug_locs, original = augment_originals(images, locs, seed=3, noise=False)
    aug = (
        np.clip(aug + np.random.default_rng(0).normal(0, 6, aug.shape), 0, 255)
        .round()
        .astype(np.uint8)
    )
    perm = np.random.default_rng(1).permutation(len(aug))
    result = recover_originals(aug[perm], aug_locs[perm], representative="median")
    assert result.report["group_size_counts"] == {"32": 10}
    assert fraction_in_right_group(result.group_of_frame, original[perm]) == 1.0
    plan = augmentation_plan(10, 3, noise=False)
    frames = perm[result.representative_frame]
    for g, f in enumerate(frames):
        clean = dihedral_images(images[original[f]], plan["k"][f], plan["flip"][f]).astype(float)
        residual = result.images[g].astype(float) - clean
        assert residual.std() < 4.0  # well below the copies' 6 grey levels of noise


def test_report_flags_groups_that_do_not_fit():
    images, locs = originals(15, 41)
    aug, aug_locs, original = augment_originals(images, locs, seed=4)
    keep = ~((original == 3) & (np.arange(len(aug)) % 3 == 0))  # original 3 loses a third
    result = recover_originals(aug[keep], aug_locs[keep])
    report = result.report
    assert report["modal_group_size"] == 64 and report["n_groups"] == 15
    assert report["n_groups_off_modal_size"] == 1
    (odd,) = report["groups_off_modal_size"]
    assert odd["size"] == (keep & (original == 3)).sum()
    json.dumps(report)  # the report is JSON-able as it is


def test_frames_without_copies_stay_single():
    images, locs = originals(20, 51)
    result = recover_originals(images, locs)
    assert result.report["group_size_counts"] == {"1": 20}
    np.testing.assert_array_equal(result.images[result.group_of_frame], images)
    np.testing.assert_allclose(result.locs[result.group_of_frame], locs, atol=1e-5)


def test_recover_and_augment_commands(tmp_path):
    images, locs = originals(8, 61)
    save_labelled(tmp_path / "orig.npz", images, locs)
    assert (
        main(
            [
                "augment",
                "--data",
                str(tmp_path / "orig.npz"),
                "--out",
                str(tmp_path / "aug.npz"),
                "--seed",
                "2",
                "--no-vflip",
                "--pixel-noise-sigma",
                "5",
            ]
        )
        == 0
    )
    aug = load_labelled(tmp_path / "aug.npz")
    assert len(aug) == 8 * 32
    with np.load(tmp_path / "aug.npz") as npz:
        np.testing.assert_array_equal(npz["original_index"], np.repeat(np.arange(8), 32))
        assert not npz["aug_flip"].any()
    assert (
        main(
            [
                "recover",
                "--data",
                str(tmp_path / "aug.npz"),
                "--out",
                str(tmp_path / "rec.npz"),
                "--groups",
                str(tmp_path / "groups.npz"),
                "--report",
                str(tmp_path / "rep.json"),
            ]
        )
        == 0
    )
    rec = load_labelled(tmp_path / "rec.npz")
    assert len(rec) == 8
    report = json.loads((tmp_path / "rep.json").read_text())
    assert report["group_size_counts"] == {"32": 8} and len(report["data_sha256"]) == 64
    with np.load(tmp_path / "groups.npz", allow_pickle=False) as npz:
        groups = npz["groups"]
        assert groups.shape == (256,) and set(npz.files) >= {"frame_k", "frame_flip", "frame_shift"}
    truth = np.repeat(np.arange(8), 32)
    assert fraction_in_right_group(groups, truth) == 1.0
    # no temporary files left behind
    assert sorted(p.name for p in tmp_path.iterdir()) == [
        "aug.npz",
        "groups.npz",
        "orig.npz",
        "rec.npz",
        "rep.json",
    ]


def test_montages_are_written(tmp_path):
    pytest.importorskip("direction_tagger.montage")
    images, locs = originals(4, 71)
    save_labelled(tmp_path / "orig.npz", images, locs)
    assert (
        main(
            [
                "augment",
                "--data",
                str(tmp_path / "orig.npz"),
                "--out",
                str(tmp_path / "aug.npz"),
                "--seed",
                "0",
                "--montage",
                str(tmp_path / "aug.png"),
                "--montage-index",
                "2",
            ]
        )
        == 0
    )
    assert (
        main(
            [
                "recover",
                "--data",
                str(tmp_path / "aug.npz"),
                "--out",
                str(tmp_path / "rec.npz"),
                "--groups",
                str(tmp_path / "g.npz"),
                "--report",
                str(tmp_path / "r.json"),
                "--montage",
                str(tmp_path / "rec.png"),
            ]
        )
        == 0
    )
    for name in ("aug.png", "rec.png"):
        assert (tmp_path / name).read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_missing_input_is_one_line_error(tmp_path, capsys):
    code = main(
        [
            "recover",
            "--data",
            str(tmp_path / "nope.npz"),
            "--out",
            str(tmp_path / "o.npz"),
            "--groups",
            str(tmp_path / "g.npz"),
            "--report",
            str(tmp_path / "r.json"),
        ]
    )
    assert code == 2
    assert "nope.npz" in capsys.readouterr().err
