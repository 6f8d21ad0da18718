"""The precision decision (fp32 or bf16 autocast) and the cat-free U-Net merge.

The decision is tested with injected timings: nothing here depends on the machine's speed."""

import pytest
import torch
import torch.nn.functional as F

from direction_tagger import device
from direction_tagger.io import DataError
from direction_tagger.movies.predict import Predictor
from direction_tagger.train.models import build_model, merge_up

CPU = torch.device("cpu")


@pytest.mark.parametrize(
    "fp32, bf16, expected",
    [(1.0, 0.5, True), (1.0, 0.79, True), (1.0, 0.81, False), (1.0, 1.0, False), (1.0, 6.0, False)],
)
def test_bf16_only_when_clearly_faster(fp32, bf16, expected):
    assert device.bf16_pays_off(fp32, bf16) is expected


@pytest.fixture
def timed(monkeypatch):
    """Make the CPU look as if oneDNN had bf16 kernels and the probe measured (fp32, bf16)."""
    monkeypatch.delenv(device.PRECISION_VARIABLE, raising=False)
    monkeypatch.setattr(device, "_onednn_has_bf16", lambda: True)

    def measured(fp32, bf16):
        monkeypatch.setattr(device, "bf16_probe", lambda: (fp32, bf16))

    return measured


def test_auto_follows_the_timing(timed):
    timed(2e-3, 1e-3)
    assert device.bf16_is_fast(CPU) is True
    timed(1e-3, 6e-3)  # emulated bf16: much slower
    assert device.bf16_is_fast(CPU) is False


def test_no_native_bf16_means_fp32_without_timing(monkeypatch):
    monkeypatch.delenv(device.PRECISION_VARIABLE, raising=False)
    monkeypatch.setattr(device, "_onednn_has_bf16", lambda: False)
    monkeypatch.setattr(device, "bf16_probe", lambda: pytest.fail("timed without need"))
    assert device.bf16_is_fast(CPU) is False


def test_fp32_and_bf16_are_obeyed_whatever_the_timing(timed, monkeypatch):
    timed(2e-3, 1e-3)
    assert device.bf16_is_fast(CPU, "fp32") is False
    monkeypatch.setenv(device.PRECISION_VARIABLE, "fp32")
    assert device.bf16_is_fast(CPU) is False
    assert Predictor(build_model("lite_heatmap_unet")).bf16 is False
    assert device.bf16_is_fast(CPU, "auto") is True  # an explicit argument wins
    timed(1e-3, 6e-3)
    monkeypatch.setenv(device.PRECISION_VARIABLE, "bf16")
    assert device.bf16_is_fast(CPU) is True


def test_a_bad_precision_is_one_line_naming_the_variable(monkeypatch):
    monkeypatch.setenv(device.PRECISION_VARIABLE, "fp16")
    with pytest.raises(DataError, match="DIRECTION_TAGGER_PRECISION.*auto, fp32, bf16.*'fp16'"):
        device.bf16_is_fast(CPU)


def test_the_probe_returns_two_positive_times_and_restores_threads():
    threads = torch.get_num_threads()
    fp32, bf16 = device.bf16_probe.__wrapped__(repeats=1)
    assert fp32 > 0 and bf16 > 0
    assert torch.get_num_threads() == threads


def test_compute_path_names_precision_threads_and_cpu(monkeypatch):
    monkeypatch.setenv(device.PRECISION_VARIABLE, "fp32")
    line = device.compute_path(CPU, False)
    assert "fp32" in line and "precision fp32" in line
    assert f"{torch.get_num_threads()} threads" in line and device.cpu_name() in line


@pytest.mark.parametrize("training", [True, False])
def test_merge_up_equals_the_concatenation_it_replaces(training):
    torch.manual_seed(0)
    block = torch.nn.Sequential(
        torch.nn.Conv2d(12, 5, 1, bias=False), torch.nn.BatchNorm2d(5), torch.nn.ReLU()
    ).train(training)
    low, skip = torch.randn(4, 8, 7, 7), torch.randn(4, 4, 13, 13)
    expected = block(torch.cat([F.interpolate(low, size=(13, 13)), skip], 1))
    torch.testing.assert_close(merge_up(low, skip, block), expected, atol=1e-5, rtol=1e-5)


@pytest.mark.parametrize("precision, bf16", [("fp32", False), ("bf16", True)])
def test_load_predictor_takes_the_precision_asked_for(precision, bf16, tmp_path, timed):
    from direction_tagger.movies.predict import load_predictor
    from direction_tagger.train.model_file import save_model

    timed(1.0, 0.5 if not bf16 else 2.0)  # the timing would choose the other one
    model = build_model("lite_heatmap_unet")
    meta = {"architecture": "lite_heatmap_unet", "arch_kwargs": {}}
    save_model(tmp_path / "m.pt", model.state_dict(), meta)
    predictor, _ = load_predictor(tmp_path / "m.pt", "cpu", precision=precision)
    assert predictor.bf16 is bf16
