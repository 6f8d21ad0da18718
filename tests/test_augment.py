"""Offline (numpy) and online (torch) augmentation: counts, exact label transforms, borders,
noise, determinism."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from direction_tagger.dihedral import DIHEDRAL, dihedral_images, dihedral_points
from direction_tagger.originals.augment import (
    augment_originals,
    augmentation_plan,
    transform_points,
    variants_per_original,
)
from direction_tagger.train.augment import (
    random_augment_batch,
    random_photometric,
    random_rotate_scale,
    random_walls,
)

VALUES = (120, 180, 250)  # grey level that marks keypoint 0, 1, 2


def marked_frames(n: int, seed: int, margin: int = 5):
    """Dark frames with each keypoint drawn as one bright pixel at its (integer) label."""
    rng = np.random.default_rng(seed)
    images = rng.integers(0, 60, (n, 50, 50)).astype(np.uint8)
    locs = np.empty((n, 3, 2), dtype=np.float32)
    for i in range(n):
        cells = rng.choice((50 - 2 * margin) ** 2, 3, replace=False)
        for k, cell in enumerate(cells):
            y, x = divmod(int(cell), 50 - 2 * margin)
            locs[i, k] = (x + margin, y + margin)
            images[i, y + margin, x + margin] = VALUES[k]
    return images, locs


def blob_frames(n: int, seed: int):
    """Frames holding a Gaussian spot centred at a sub-pixel label (keypoint 0 only used)."""
    rng = np.random.default_rng(seed)
    yy, xx = np.mgrid[0:50, 0:50]
    locs = rng.uniform(18, 31, (n, 3, 2)).astype(np.float32)
    images = np.stack(
        [np.exp(-((xx - p[0]) ** 2 + (yy - p[1]) ** 2) / (2 * 2.0**2)) for p in locs[:, 0]]
    )
    return (images * 250).round().astype(np.uint8), locs


def centroid(img: np.ndarray) -> np.ndarray:
    w = img.astype(np.float64)
    yy, xx = np.mgrid[0 : img.shape[0], 0 : img.shape[1]]
    return np.array([(w * xx).sum() / w.sum(), (w * yy).sum() / w.sum()])


def test_factor_counts_and_plan():
    images, locs = marked_frames(3, 0)
    assert variants_per_original() == 64
    out, out_locs, original = augment_originals(images, locs, seed=1)
    assert out.shape == (192, 50, 50) and out.dtype == np.uint8
    assert out_locs.shape == (192, 3, 2) and out_locs.dtype == np.float32
    np.testing.assert_array_equal(original, np.repeat(np.arange(3), 64))
    for off in ("rot90", "vflip", "noise", "shift", "label_noise"):
        got = augment_originals(images, locs, seed=1, **{off: False})[0]
        expected = 32 if off != "rot90" else 16
        assert len(got) == 3 * expected == 3 * variants_per_original(**{off: False})
    plan = augmentation_plan(3, seed=1)
    # every original gets each dihedral transform 8 times; shifted copies really move
    for i in range(3):
        rows = plan["original_index"] == i
        pairs = {(int(k), bool(f)) for k, f in zip(plan["k"][rows], plan["flip"][rows])}
        assert pairs == set(DIHEDRAL)
    moved = (plan["shift_x"] != 0) | (plan["shift_y"] != 0)
    assert moved.sum() == 96 and np.abs(plan["shift_x"]).max() <= 2


@pytest.mark.parametrize("k, flip", DIHEDRAL)
def test_each_dihedral_transform_maps_labels_like_pixels(k, flip):
    images, locs = marked_frames(6, 1)
    out, out_locs, _ = augment_originals(
        images, locs, seed=3, noise=False, shift=False, label_noise=False
    )
    plan = augmentation_plan(6, seed=3, noise=False, shift=False, label_noise=False)
    rows = np.flatnonzero((plan["k"] == k) & (plan["flip"] == flip))
    assert len(rows) == 6
    for r in rows:
        i = plan["original_index"][r]
        # the pixels are exactly the geometry module's transform of the original ...
        np.testing.assert_array_equal(out[r], dihedral_images(images[i], k, flip))
        # ... and every keypoint label sits on its drawn pixel
        for kp, value in enumerate(VALUES):
            y, x = np.argwhere(out[r] == value)[0]
            np.testing.assert_array_equal(out_locs[r, kp], (x, y))
        np.testing.assert_allclose(out_locs[r], dihedral_points(locs[i], k, flip), atol=1e-5)


def test_sub_pixel_labels_follow_the_content():
    images, locs = blob_frames(4, 2)
    out, out_locs, original = augment_originals(
        images, locs, seed=5, noise=False, label_noise=False
    )
    for r in range(len(out)):
        np.testing.assert_allclose(centroid(out[r]), out_locs[r, 0], atol=0.02)


def test_shifted_copies_move_labels_and_fill_borders_by_reflection():
    images, locs = marked_frames(5, 3, margin=6)
    out, out_locs, original = augment_originals(
        images, locs, seed=4, noise=False, label_noise=False, pixel_shift_px=3
    )
    plan = augmentation_plan(5, seed=4, noise=False, label_noise=False, pixel_shift_px=3)
    for r in range(len(out)):
        for kp, value in enumerate(VALUES):
            x, y = out_locs[r, kp].astype(int)
            assert out[r, y, x] == value
    # whole-frame check against numpy's reflect padding
    for r in np.flatnonzero(plan["shift_x"] != 0)[:10]:
        base = dihedral_images(images[original[r]], plan["k"][r], plan["flip"][r])
        s = 3
        padded = np.pad(base, s, mode="reflect")
        dx, dy = plan["shift_x"][r], plan["shift_y"][r]
        np.testing.assert_array_equal(out[r], padded[s - dy : s - dy + 50, s - dx : s - dx + 50])
    # a uniform bright frame stays uniform: nothing black comes in at the borders
    bright = np.full((1, 50, 50), 200, dtype=np.uint8)
    shifted = augment_originals(bright, np.full((1, 3, 2), 24.5), seed=0, noise=False)[0]
    assert (shifted == 200).all()


def test_noise_factors_and_determinism():
    images, locs = marked_frames(20, 4)
    a = augment_originals(images, locs, seed=7, pixel_noise_sigma=6.0, label_noise_sigma=0.4)
    b = augment_originals(images, locs, seed=7, pixel_noise_sigma=6.0, label_noise_sigma=0.4)
    c = augment_originals(images, locs, seed=8, pixel_noise_sigma=6.0, label_noise_sigma=0.4)
    for x, y in zip(a, b):
        np.testing.assert_array_equal(x, y)
    assert not np.array_equal(a[0], c[0]) and not np.array_equal(a[1], c[1])
    out, out_locs, original = a
    plan = augmentation_plan(20, seed=7)
    clean_imgs, clean_locs, _ = augment_originals(
        images, locs, seed=7, noise=False, label_noise=False
    )
    # the clean run has the same shifts, in half as many rows: compare like with like
    clean_plan = augmentation_plan(20, seed=7, noise=False, label_noise=False)
    assert len(clean_imgs) == len(out) // 4
    quiet = (
        ~plan["pixel_noise"]
        & ~plan["label_noise"]
        & (plan["shift_x"] == 0)
        & (plan["shift_y"] == 0)
    )
    quiet_clean = (clean_plan["shift_x"] == 0) & (clean_plan["shift_y"] == 0)
    np.testing.assert_array_equal(out[quiet], clean_imgs[quiet_clean])
    noisy = plan["pixel_noise"] & (plan["shift_x"] == 0) & (plan["shift_y"] == 0)
    ref = np.repeat(clean_imgs[quiet_clean], 2, axis=0)  # label-noise twins share pixels
    diff = out[noisy].astype(float) - ref
    assert 5.0 < diff.std() < 7.0 and abs(diff.mean()) < 0.3
    truth = transform_points(
        locs[original], plan["k"], plan["flip"], plan["shift_x"], plan["shift_y"]
    )
    jitter = out_locs - truth
    assert np.abs(jitter[~plan["label_noise"]]).max() < 1e-4
    assert 0.33 < jitter[plan["label_noise"]].std() < 0.47


def test_bad_input_is_refused():
    images, locs = marked_frames(2, 0)
    with pytest.raises(ValueError):
        augment_originals(images[:, :40], locs, seed=0)
    with pytest.raises(ValueError):
        augment_originals(images, locs[:1], seed=0)
    with pytest.raises(ValueError):
        augment_originals(images, locs, seed=0, pixel_noise_sigma=-1)


# --- online augmentation (torch) --------------------------------------------------------------


@pytest.mark.parametrize("layout", ["BHW", "B1HW"])
def test_online_augmentation_maps_labels_exactly(layout):
    images, locs = marked_frames(300, 5, margin=3)
    x = torch.from_numpy(images)
    if layout == "B1HW":
        x = x[:, None]
    gen = torch.Generator().manual_seed(0)
    out, new_locs, params = random_augment_batch(
        x, torch.from_numpy(locs), gen, shift_px=3, noise_sigma=0.0, return_params=True
    )
    assert out.shape == x.shape and out.dtype == torch.float32
    out = out.reshape(-1, 50, 50).numpy()
    new_locs = new_locs.numpy()
    assert len({(int(k), bool(f)) for k, f in zip(params["k"], params["flip"])}) == 8
    assert set(params["shift_x"].tolist()) == set(range(-3, 4))
    for b in range(len(out)):
        for kp, value in enumerate(VALUES):
            x_, y_ = new_locs[b, kp]
            assert x_ == int(x_) and y_ == int(y_)
            assert out[b, int(y_), int(x_)] == value  # the label sits on its drawn pixel
        # and the whole frame equals the numpy reference transform + reflect-padded shift
        k, f = int(params["k"][b]), bool(params["flip"][b])
        dx, dy = int(params["shift_x"][b]), int(params["shift_y"][b])
        padded = np.pad(dihedral_images(images[b], k, f), 3, mode="reflect")
        np.testing.assert_array_equal(out[b], padded[3 - dy : 53 - dy, 3 - dx : 53 - dx])
        np.testing.assert_allclose(
            new_locs[b], dihedral_points(locs[b], k, f) + (dx, dy), atol=1e-5
        )


def test_online_augmentation_sub_pixel_labels_and_noise():
    images, locs = blob_frames(64, 6)
    gen = torch.Generator().manual_seed(1)
    out, new_locs = random_augment_batch(
        torch.from_numpy(images).float(), torch.from_numpy(locs), gen, noise_sigma=0.0
    )
    for b in range(len(out)):
        np.testing.assert_allclose(centroid(out[b].numpy()), new_locs[b, 0].numpy(), atol=0.02)
    flat = torch.full((32, 50, 50), 100.0)
    noisy, _ = random_augment_batch(flat, torch.zeros(32, 3, 2), gen, noise_sigma=5.0)
    assert 4.8 < float((noisy - 100).std()) < 5.2
    clipped, _ = random_augment_batch(
        torch.zeros(8, 50, 50), torch.zeros(8, 3, 2), gen, noise_sigma=5.0
    )
    assert float(clipped.min()) >= 0.0


def test_online_augmentation_is_deterministic_and_switchable():
    images, locs = marked_frames(16, 7)
    x, p = torch.from_numpy(images), torch.from_numpy(locs)
    a = random_augment_batch(x, p, torch.Generator().manual_seed(3))
    b = random_augment_batch(x, p, torch.Generator().manual_seed(3))
    assert torch.equal(a[0], b[0]) and torch.equal(a[1], b[1])
    same, same_locs = random_augment_batch(
        x, p, torch.Generator().manual_seed(3), dihedral=False, shift_px=0, noise_sigma=0.0
    )
    assert torch.equal(same, x.float()) and torch.equal(same_locs, p)


def test_random_rotation_and_scale_map_sub_pixel_labels_exactly():
    images, locs = blob_frames(64, 8)
    gen = torch.Generator().manual_seed(2)
    out, new_locs = random_rotate_scale(
        torch.from_numpy(images).float(), torch.from_numpy(locs), gen, max_degrees=45, max_scale=1.1
    )
    moved = np.linalg.norm(new_locs[:, 0].numpy() - locs[:, 0], axis=-1)
    assert np.median(moved) > 1.0  # it did rotate / scale
    for b in range(len(out)):  # the blob's centre is where the label says, to 0.05 px
        np.testing.assert_allclose(centroid(out[b].numpy()), new_locs[b, 0].numpy(), atol=0.05)
    centre = torch.full((4, 3, 2), 24.5)  # the frame centre stays put
    _, same = random_rotate_scale(torch.zeros(4, 50, 50), centre, gen)
    torch.testing.assert_close(same, centre)


def test_photometric_changes_tone_and_sharpness_but_never_where_things_are():
    images, locs = blob_frames(32, 9)
    x = torch.from_numpy(images).float()
    out = random_photometric(x, torch.Generator().manual_seed(4), max_gamma=2.0, max_blur_px=1.2)
    again = random_photometric(x, torch.Generator().manual_seed(4), max_gamma=2.0, max_blur_px=1.2)
    assert torch.equal(out, again)
    peaks = out.amax(dim=(1, 2))
    assert (peaks < x.amax(dim=(1, 2)) - 5).sum() > 8  # blurred or darkened: it did something
    for b in range(len(out)):  # a symmetric blur and a tone curve keep the blob's centre
        np.testing.assert_allclose(centroid(out[b].numpy()), locs[b, 0], atol=0.3)
    # gamma alone keeps the order of grey levels and the ends of the range
    ramp = torch.linspace(0, 255, 2500).reshape(1, 50, 50).repeat(8, 1, 1)
    toned = random_photometric(ramp, torch.Generator().manual_seed(5), max_gamma=2.0)
    assert (toned.flatten(1).diff(dim=1) >= 0).all()
    torch.testing.assert_close(toned[:, 0, 0], torch.zeros(8))
    torch.testing.assert_close(toned[:, -1, -1], torch.full((8,), 255.0))
    state = torch.get_rng_state()
    assert torch.equal(random_photometric(x, None), x)  # both off: the frames as they were
    assert torch.equal(torch.get_rng_state(), state)  # and no random number drawn


def test_training_options_switch_photometric_augmentation_on_and_check_it():
    from direction_tagger.io import DataError
    from direction_tagger.train.config import TrainConfig
    from direction_tagger.train.loop import augment_batch

    images, locs = blob_frames(8, 3)
    x, p = torch.from_numpy(images).float(), torch.from_numpy(locs)
    plain = {"augment_gamma": 1.0, "augment_blur_px": 0.0, "augment_walls": 0.0}
    off = TrainConfig.from_dict(plain)
    on = TrainConfig.from_dict(plain | {"augment_gamma": 1.5, "augment_blur_px": 0.8})
    a, _ = augment_batch(x, p, torch.Generator().manual_seed(1), off)
    b, _ = augment_batch(x, p, torch.Generator().manual_seed(1), on)
    assert not torch.allclose(a, b)  # the tone and sharpness changed
    assert torch.isfinite(b).all()
    with pytest.raises(DataError, match="augment_gamma"):
        TrainConfig.from_dict({"augment_gamma": 0.5})
    with pytest.raises(DataError, match="augment_blur_px"):
        TrainConfig.from_dict({"augment_blur_px": -1})


def test_walls_paint_an_edge_band_clear_of_the_keypoints_and_leave_the_animal():
    rng = np.random.default_rng(2)
    images = rng.uniform(150, 200, (64, 50, 50)).astype(np.float32)  # a light floor
    locs = rng.uniform(12, 38, (64, 3, 2)).astype(np.float32)
    images[:, 20:30, 20:30] = 20.0  # a dark animal in the middle
    x = torch.from_numpy(images)
    out = random_walls(x, torch.from_numpy(locs), torch.Generator().manual_seed(3), 1.0)
    again = random_walls(x, torch.from_numpy(locs), torch.Generator().manual_seed(3), 1.0)
    assert torch.equal(out, again)
    changed = (out != x).numpy()
    assert changed.any(axis=(1, 2)).sum() > 48  # most frames got a wall
    assert not changed[:, 20:30, 20:30].any()  # the animal stays in front of it
    yy, xx = np.mgrid[0:50, 0:50]
    for b in np.flatnonzero(changed.any(axis=(1, 2))):
        ys, xs = yy[changed[b]], xx[changed[b]]
        # one band from one edge: it touches that edge along its whole length
        at_edge = [ys.min() == 0, ys.max() == 49, xs.min() == 0, xs.max() == 49]
        assert sum(at_edge) >= 1
        # and it ends at least 3 px short of every keypoint
        reach = np.hypot(xs[:, None] - locs[b, :, 0], ys[:, None] - locs[b, :, 1])
        assert reach.min() >= 3 - 1e-6
    assert (out >= 0).all() and (out <= 255).all()
    # a keypoint at every edge leaves no room: the frame stays as it was
    corners = torch.tensor([[[0.0, 0.0], [49.0, 49.0], [0.0, 49.0]]]).repeat(4, 1, 1)
    untouched = random_walls(x[:4], corners, torch.Generator().manual_seed(3), 1.0)
    assert torch.equal(untouched, x[:4])
    state = torch.get_rng_state()
    assert torch.equal(random_walls(x, torch.from_numpy(locs), None, 0.0), x)  # off
    assert torch.equal(torch.get_rng_state(), state)  # and no random number drawn


def test_training_option_switches_walls_on_and_checks_it():
    from direction_tagger.io import DataError
    from direction_tagger.train.config import TrainConfig
    from direction_tagger.train.loop import augment_batch

    images, locs = blob_frames(16, 3)
    x, p = torch.from_numpy(255 - images).float(), torch.from_numpy(locs)  # a dark blob
    plain = {"augment_gamma": 1.0, "augment_blur_px": 0.0, "augment_walls": 0.0}
    off, on = TrainConfig.from_dict(plain), TrainConfig.from_dict(plain | {"augment_walls": 1.0})
    a, _ = augment_batch(x, p, torch.Generator().manual_seed(1), off)
    b, _ = augment_batch(x, p, torch.Generator().manual_seed(1), on)
    assert not torch.allclose(a, b)
    assert torch.isfinite(b).all()
    with pytest.raises(DataError, match="augment_walls"):
        TrainConfig.from_dict({"augment_walls": 1.5})


def test_fine_tuning_meets_another_rig_by_default_and_pretraining_does_not():
    """The photometric and wall augmentations are on for every training of labelled frames
    (the schema's defaults are TrainConfig's), and off for the pretraining on rendered rats,
    so the start model every run fine-tunes from stays the one measured."""
    import dataclasses
    from pathlib import Path

    import yaml

    from direction_tagger.train.config import TrainConfig
    from direction_tagger.train.pretrain import PretrainConfig

    schema = yaml.safe_load(
        (Path(__file__).resolve().parents[1] / "config/schema.yaml").read_text()
    )
    section = schema["properties"]["train"]["properties"]
    defaults = {f.name: f.default for f in dataclasses.fields(TrainConfig)}
    for name in ("augment_gamma", "augment_blur_px", "augment_walls"):
        assert defaults[name] == section[name]["default"], name
    on = TrainConfig()
    assert on.augment_gamma > 1 and on.augment_blur_px > 0 and on.augment_walls > 0
    start = PretrainConfig().train_config()
    assert (start.augment_gamma, start.augment_blur_px, start.augment_walls) == (1.0, 0.0, 0.0)
