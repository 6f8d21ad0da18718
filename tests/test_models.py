"""Models: decoding, test-time augmentation, training, saving and safe loading."""

import numpy as np
import pytest
import torch

from direction_tagger.dihedral import (
    DIHEDRAL,
    dihedral_images,
    dihedral_points,
    inverse_dihedral_points,
)
from direction_tagger.io import DataError
from direction_tagger.movies.predict import Predictor
from direction_tagger.train.config import TrainConfig
from direction_tagger.train.loop import train
from direction_tagger.train.model_file import load_model, save_model
from direction_tagger.train.models import ARCHITECTURES, build_model, normalise_frames, soft_argmax


def blob_set(n, seed=0):
    """Three Gaussian blobs of different brightness: a task any working model learns fast."""
    rng = np.random.default_rng(seed)
    yy, xx = np.mgrid[0:50, 0:50]
    locs = rng.uniform(8, 42, (n, 3, 2)).astype(np.float32)
    images = np.zeros((n, 50, 50), np.float32)
    for k, amplitude in enumerate([80, 150, 230]):
        d2 = (xx - locs[:, k, 0, None, None]) ** 2 + (yy - locs[:, k, 1, None, None]) ** 2
        images += amplitude * np.exp(-d2 / 6)
    return np.clip(images + rng.normal(0, 4, images.shape), 0, 255).astype(np.uint8), locs


@pytest.mark.parametrize("stride", [1, 2])
def test_soft_argmax_recovers_a_known_peak_to_sub_pixel(stride):
    size = 50 // stride
    true = torch.tensor([17.3, 30.6])
    centres = torch.arange(size) * stride + (stride - 1) / 2
    d2 = (centres.view(1, -1) - true[0]) ** 2 + (centres.view(-1, 1) - true[1]) ** 2
    logits = (-d2 / (2 * 1.5**2)).view(1, 1, size, size)
    coords, probs = soft_argmax(logits, stride)
    assert torch.allclose(coords[0, 0], true, atol=0.05)
    assert probs.sum().item() == pytest.approx(1.0, abs=1e-5)


@pytest.mark.parametrize("k, flip", DIHEDRAL)
def test_tta_maps_a_known_point_back_exactly(k, flip):
    frame = torch.zeros(1, 50, 50)
    frame[0, 12, 40] = 1  # x = 40, y = 12
    row, col = torch.nonzero(dihedral_images(frame, k, flip)[0])[0].tolist()
    back = inverse_dihedral_points(torch.tensor([[float(col), float(row)]]), k, flip)
    assert back.tolist() == [[40.0, 12.0]]
    # and the torch transform agrees with the numpy one used for augmentation
    assert dihedral_points(np.array([40.0, 12.0]), k, flip).tolist() == [col, row]


@pytest.mark.parametrize("architecture", sorted(ARCHITECTURES))
def test_each_architecture_learns(architecture, tmp_path):
    images, locs = blob_set(512)
    cfg = TrainConfig(
        architecture=architecture,
        steps=42,
        eval_every=14,
        batch_size=64,
        lr=2e-3,
        online_augment=False,
        warmup_fraction=0.1,
    )
    train(
        images[:448],
        locs[:448],
        images[448:],
        locs[448:],
        cfg,
        tmp_path / "m.pt",
        tmp_path / "log.csv",
    )
    log = np.genfromtxt(tmp_path / "log.csv", delimiter=",", names=True)
    assert log["train_loss"][-1] < 0.7 * log["train_loss"][0]
    assert log["val_median_px"][-1] < log["val_median_px"][0]


@pytest.mark.parametrize("architecture", sorted(ARCHITECTURES))
def test_each_architecture_predicts_as_deployed_what_it_computes_in_eval(architecture):
    """Batch norm folded into the convolutions and channels-last (the Predictor) must not
    change an answer: checked with batch-norm statistics far from their initial ones."""
    torch.manual_seed(0)
    model = build_model(architecture)
    with torch.no_grad():
        for module in model.modules():
            if isinstance(module, torch.nn.BatchNorm2d):
                module.running_mean.uniform_(-0.5, 0.5)
                module.running_var.uniform_(0.5, 2.0)
                module.weight.uniform_(0.5, 1.5)
                module.bias.uniform_(-0.2, 0.2)
    images, _ = blob_set(16)
    with torch.no_grad():
        x = normalise_frames(torch.from_numpy(images))
        expected = model.eval()(x)
    got = Predictor(model, bf16=False).predict(images)
    np.testing.assert_allclose(got.locs, expected["coords"].numpy(), atol=1e-3)
    np.testing.assert_allclose(got.confidence, expected["confidence"].numpy(), atol=1e-4)


def test_saved_model_reloads_and_predicts_identically(tmp_path):
    model = build_model("heatmap_unet").eval()
    with torch.no_grad():  # non-trivial batch-norm statistics, so folding them is tested
        for m in model.modules():
            if isinstance(m, torch.nn.BatchNorm2d):
                m.running_mean.uniform_(-0.5, 0.5)
                m.running_var.uniform_(0.5, 2)
    save_model(
        tmp_path / "m.pt", model.state_dict(), {"architecture": "heatmap_unet", "arch_kwargs": {}}
    )
    loaded, meta = load_model(tmp_path / "m.pt")
    images, _ = blob_set(16)
    a = Predictor(model).predict(images, tta=True)
    b = Predictor(loaded).predict(images, tta=True)
    np.testing.assert_array_equal(a.locs, b.locs)
    np.testing.assert_array_equal(a.confidence, b.confidence)
    with torch.no_grad():  # folding batch norm does not change the answer
        from direction_tagger.train.models import normalise_frames

        plain = build_model("heatmap_unet")
        plain.load_state_dict(model.state_dict())
        ref = plain.eval()(normalise_frames(torch.from_numpy(images)))["coords"].numpy()
    np.testing.assert_allclose(Predictor(loaded, bf16=False).predict(images).locs, ref, atol=1e-3)
    assert meta["architecture"] == "heatmap_unet"


def test_loading_a_checkpoint_with_pickled_code_is_refused(tmp_path):
    marker = tmp_path / "pwned"

    class Payload:
        def __reduce__(self):
            return (open, (str(marker), "w"))

    torch.save({"state_dict": {}, "metadata": Payload()}, tmp_path / "evil.pt")
    assert not marker.exists()
    with pytest.raises(DataError, match="evil.pt: .*unsafe"):
        load_model(tmp_path / "evil.pt")
    assert not marker.exists()


def test_tta_spread_is_reported_and_plain_prediction_has_none():
    images, _ = blob_set(8)
    predictor = Predictor(build_model("heatmap_unet"))
    assert np.isnan(predictor.predict(images).spread).all()
    spread = predictor.predict(images, tta=True).spread
    assert spread.shape == (8, 3) and np.isfinite(spread).all() and (spread >= 0).all()


def test_bf16_inference_agrees_with_fp32_after_training(tmp_path):
    images, locs = blob_set(320)
    cfg = TrainConfig(steps=8, batch_size=64, online_augment=False)
    train(
        images[:256],
        locs[:256],
        images[256:],
        locs[256:],
        cfg,
        tmp_path / "m.pt",
        tmp_path / "log.csv",
    )
    model, _ = load_model(tmp_path / "m.pt")
    fp32 = Predictor(model, bf16=False).predict(images[256:]).locs
    bf16 = Predictor(model, bf16=True).predict(images[256:]).locs
    assert np.median(np.linalg.norm(fp32 - bf16, axis=-1)) < 0.1
