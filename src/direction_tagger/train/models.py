"""The model zoo: every model maps (B, 1, 50, 50) normalised frames to keypoints.

Common interface: `model(x)` returns a dict with
  - "coords": (B, 3, 2) float, (x, y) px in frame coordinates (pixel centres at integers),
  - "confidence": (B, 3) float in [0, 1],
  - "heatmaps": (B, 3, h, w) spatial softmax, for heatmap models only.

Models are built by name from JSON-able keyword arguments, so a checkpoint is a
`state_dict` plus `{"architecture": name, "arch_kwargs": {...}}` and never pickled code.
"""

from __future__ import annotations

import inspect

import torch
import torch.nn.functional as F
from torch import nn
from torch.nn.utils.fusion import fuse_conv_bn_eval

from ..io import FRAME_SIZE, KEYPOINTS

N_KEYPOINTS = len(KEYPOINTS)
HALF = FRAME_SIZE / 2.0  # the published recipe scales targets as (t - 25) / 25


class SeedCNN(nn.Module):
    """The published architecture: 6 convolutions, a flattened feature map, 6 numbers out.

    Kept for parity and comparison. It has no notion of confidence, so it reports 1.
    """

    def __init__(self, width: int = 32):
        super().__init__()
        c = width
        layers, channels = [], [1, c, c, 2 * c, 2 * c, 4 * c, 4 * c]
        for i in range(6):
            layers += [nn.Conv2d(channels[i], channels[i + 1], 3, padding=1), nn.ReLU(inplace=True)]
            if i % 2 == 1:
                layers.append(nn.MaxPool2d(2))
        self.features = nn.Sequential(*layers)
        self.head = nn.Sequential(
            nn.Flatten(), nn.Linear(4 * c * 6 * 6, 256), nn.ReLU(inplace=True), nn.Linear(256, 6)
        )

    def forward(self, x):
        features = self.head[:-1](self.features(x))
        with torch.autocast(x.device.type, enabled=False):  # coordinates in fp32 even under bf16
            out = self.head[-1](features.float()).view(-1, N_KEYPOINTS, 2)
        coords = out * HALF + HALF
        return {"coords": coords, "confidence": torch.ones(coords.shape[:2], device=x.device)}


def conv_bn(c_in: int, c_out: int, stride: int = 1) -> nn.Sequential:
    return nn.Sequential(
        nn.Conv2d(c_in, c_out, 3, stride=stride, padding=1, bias=False),
        nn.BatchNorm2d(c_out),
        nn.ReLU(inplace=True),
    )


def soft_argmax(logits: torch.Tensor, stride: int, size: int = FRAME_SIZE):
    """Integral regression (DSNT): expected (x, y) px under the spatial softmax of `logits`.

    A heatmap cell j at output stride s covers pixels s*j .. s*j+s-1, so its centre is at
    s*j + (s-1)/2 px. Returns (coords (B, K, 2), probabilities (B, K, h, w)).
    """
    b, k, h, w = logits.shape
    probs = logits.float().flatten(2).softmax(-1).view(b, k, h, w)
    xs = torch.arange(w, device=logits.device, dtype=probs.dtype) * stride + (stride - 1) / 2
    ys = torch.arange(h, device=logits.device, dtype=probs.dtype) * stride + (stride - 1) / 2
    x = (probs.sum(2) * xs).sum(-1)
    y = (probs.sum(3) * ys).sum(-1)
    return torch.stack([x, y], dim=-1), probs


def heatmap_confidence(
    probs: torch.Tensor, coords: torch.Tensor, stride: int, radius_px: float = 3.0
):
    """Probability mass within `radius_px` of the predicted point: near 1 for a sharp, unimodal
    heatmap, low when the net hesitates between places (e.g. head vs tail)."""
    b, k, h, w = probs.shape
    xs = torch.arange(w, device=probs.device, dtype=probs.dtype) * stride + (stride - 1) / 2
    ys = torch.arange(h, device=probs.device, dtype=probs.dtype) * stride + (stride - 1) / 2
    dx2 = (xs.view(1, 1, 1, w) - coords[..., 0, None, None]) ** 2
    dy2 = (ys.view(1, 1, h, 1) - coords[..., 1, None, None]) ** 2
    near = (dx2 + dy2) <= radius_px**2
    return (probs * near).sum((2, 3)).clamp(0, 1)


def conv1x1_bn(c_in: int, c_out: int) -> nn.Sequential:
    return nn.Sequential(
        nn.Conv2d(c_in, c_out, 1, bias=False), nn.BatchNorm2d(c_out), nn.ReLU(inplace=True)
    )


class HeatmapUNet(nn.Module):
    """A small U-Net for 50x50 frames (the default before fast_heatmap_unet): heatmaps at
    output stride 2 (25x25) decoded by soft-argmax into sub-pixel coordinates, plus a
    confidence from the heatmap's sharpness.

    Stride 2 costs about a quarter of full resolution; the 7x7 bottleneck sees the whole
    animal, which is what tells the nose from the tail base. ~70 MFLOP per frame.
    """

    def __init__(self, width: int = 16):
        super().__init__()
        c = width
        self.stem = conv_bn(1, c)  # 50x50
        self.enc2 = nn.Sequential(conv_bn(c, 2 * c, stride=2), conv_bn(2 * c, 2 * c))  # 25x25
        self.enc3 = nn.Sequential(conv_bn(2 * c, 4 * c, stride=2), conv_bn(4 * c, 4 * c))  # 13x13
        self.enc4 = nn.Sequential(conv_bn(4 * c, 4 * c, stride=2), conv_bn(4 * c, 4 * c))  # 7x7
        self.dec3 = nn.Sequential(conv1x1_bn(8 * c, 4 * c), conv_bn(4 * c, 4 * c))  # 13x13
        self.dec2 = nn.Sequential(conv1x1_bn(6 * c, 2 * c), conv_bn(2 * c, 2 * c))  # 25x25
        self.out = nn.Conv2d(2 * c, N_KEYPOINTS, 1)
        self.stride = 2

    def forward(self, x):
        s2 = self.enc2(self.stem(x))
        s3 = self.enc3(s2)
        s4 = self.enc4(s3)
        d3 = self.dec3[1:](merge_up(s4, s3, self.dec3[0]))
        d2 = self.dec2[1:](merge_up(d3, s2, self.dec2[0]))
        return heatmap_outputs(self.out, d2, self.stride)


class LiteHeatmapUNet(nn.Module):
    """`heatmap_unet`'s design (stride-2 heatmaps, soft-argmax, a 7x7 bottleneck) at half its
    compute, for CPUs: the first convolution already strides to 25x25 (no feature map at full
    resolution, where the big model spends a quarter of its time) and the widths are 2c, 4c,
    4c at 25x25, 13x13, 7x7 with c = 12 (37 MFLOP per frame). 1.6x faster than heatmap_unet
    in fp32, slightly less accurate: README, Performance.
    """

    def __init__(self, width: int = 12):
        super().__init__()
        c = width
        self.enc2 = nn.Sequential(conv_bn(1, 2 * c, stride=2), conv_bn(2 * c, 2 * c))  # 25x25
        self.enc3 = nn.Sequential(conv_bn(2 * c, 4 * c, stride=2), conv_bn(4 * c, 4 * c))  # 13x13
        self.enc4 = nn.Sequential(conv_bn(4 * c, 4 * c, stride=2), conv_bn(4 * c, 4 * c))  # 7x7
        self.dec3 = nn.Sequential(conv1x1_bn(8 * c, 4 * c), conv_bn(4 * c, 4 * c))  # 13x13
        self.dec2 = nn.Sequential(conv1x1_bn(6 * c, 2 * c), conv_bn(2 * c, 2 * c))  # 25x25
        self.out = nn.Conv2d(2 * c, N_KEYPOINTS, 1)
        self.stride = 2

    forward = HeatmapUNet.forward  # the same graph, minus the stem

    def stem(self, x):
        return x


class FastHeatmapUNet(nn.Module):
    """The default model: `heatmap_unet`'s design at ~60 % of its compute on CPU (fp32, the
    path every CPU without native bf16 takes): heatmaps at stride 2 decoded by soft-argmax,
    a 7x7 bottleneck, but
    - no feature map at full resolution: the frame enters as 2x2 pixel blocks (space to
      depth, 4 channels at 25x25: lossless), where heatmap_unet's 50x50 stem and first
      stride-2 convolution took ~15 % of its time for 9 % of its FLOPs;
    - a lighter decoder: the 25x25 level merges by 1x1 convolution and the output
      convolution is 3x3 (1 MFLOP) instead of a 32-channel 3x3 block (12 MFLOP);
    - `mid` channels at 13x13 (48; heatmap_unet has 64).
    42 MFLOP per frame: a training step costs 1/1.6 and a prediction 1/1.8 of heatmap_unet's
    CPU time. For the same number of steps it is 6-13 % less accurate on synthetic frames;
    for the same training time (1.6x the steps: the default budget) it is more accurate on
    every keypoint (README, Performance).
    """

    def __init__(self, width: int = 16, mid: int = 48):
        super().__init__()
        c, m = width, mid
        self.enc2 = nn.Sequential(conv_bn(4, 2 * c), conv_bn(2 * c, 2 * c))  # 25x25
        self.enc3 = nn.Sequential(conv_bn(2 * c, m, stride=2), conv_bn(m, m))  # 13x13
        self.enc4 = nn.Sequential(conv_bn(m, 4 * c, stride=2), conv_bn(4 * c, 4 * c))  # 7x7
        self.dec3 = nn.Sequential(conv1x1_bn(4 * c + m, m), conv_bn(m, m))  # 13x13
        self.dec2 = nn.Sequential(conv1x1_bn(m + 2 * c, 2 * c))  # 25x25
        self.out = nn.Conv2d(2 * c, N_KEYPOINTS, 3, padding=1)
        self.stride = 2

    forward = HeatmapUNet.forward  # the same graph: dec2[1:] is empty here

    def stem(self, x):
        return F.pixel_unshuffle(x, 2)


def output_layer(model: nn.Module) -> nn.Module:
    """The layer that turns features into keypoints: heatmap logits, or SeedCNN's 6 numbers."""
    return model.head[-1] if isinstance(model, SeedCNN) else model.out


def heatmap_outputs(out: nn.Module, features: torch.Tensor, stride: int) -> dict:
    """The common output of heatmap models: `out` conv to logits, soft-argmax, confidence."""
    with torch.autocast(features.device.type, enabled=False):  # heatmaps in fp32 under bf16
        logits = out(features.float())
    coords, probs = soft_argmax(logits, stride)
    return {
        "coords": coords,
        "confidence": heatmap_confidence(probs, coords, stride),
        "heatmaps": probs,
    }


def merge_up(low: torch.Tensor, skip: torch.Tensor, block: nn.Sequential) -> torch.Tensor:
    """`block(cat([upsample(low), skip]))` for a block of 1x1 conv (+ batch norm) + ReLU,
    without the concatenation: a 1x1 conv of a concatenation is the sum of 1x1 convs of its
    parts, and nearest upsampling commutes with a 1x1 conv, so the low-resolution part is
    convolved before upsampling, at a quarter of the pixels. Same weights, same result;
    the copy that `cat` makes in channels-last was 15 % of inference time."""
    conv = block[0]
    n_low = low.shape[1]
    y = F.interpolate(F.conv2d(low, conv.weight[:, :n_low]), size=skip.shape[-2:])
    y = y + F.conv2d(skip, conv.weight[:, n_low:], conv.bias)
    return block[1:](y)


def fuse_batchnorm(module: nn.Module) -> nn.Module:
    """Fold every Conv2d+BatchNorm2d pair into one conv (eval mode only): same outputs, faster."""
    for child in module.children():
        if isinstance(child, nn.Sequential):
            for i in range(len(child) - 1):
                if isinstance(child[i], nn.Conv2d) and isinstance(child[i + 1], nn.BatchNorm2d):
                    child[i] = fuse_conv_bn_eval(child[i], child[i + 1])
                    child[i + 1] = nn.Identity()
        fuse_batchnorm(child)
    return module


def prepare_for_inference(model: nn.Module, device: torch.device) -> nn.Module:
    """Eval mode, batch norm folded, channels-last memory layout (fastest on CPU and CUDA)."""
    model = fuse_batchnorm(model.eval())
    return model.to(device=device, memory_format=torch.channels_last)


ARCHITECTURES = {
    "seed_cnn": SeedCNN,
    "heatmap_unet": HeatmapUNet,
    "lite_heatmap_unet": LiteHeatmapUNet,
    "fast_heatmap_unet": FastHeatmapUNet,
}


def check_architecture(architecture, arch_kwargs) -> None:
    """ValueError unless `architecture` is known and `arch_kwargs` are options it takes, each a
    positive integer (the only kind there is: channel widths)."""
    if not isinstance(architecture, str) or architecture not in ARCHITECTURES:
        raise ValueError(
            f"unknown architecture {architecture!r}; expected one of {sorted(ARCHITECTURES)}"
        )
    if not isinstance(arch_kwargs, dict):
        raise ValueError(f"expected a mapping of options, got {arch_kwargs!r}")
    known = sorted(inspect.signature(ARCHITECTURES[architecture]).parameters)
    for name, value in arch_kwargs.items():
        if name not in known:
            raise ValueError(f"'{architecture}' has no option '{name}' (it has {known})")
        if isinstance(value, bool) or not isinstance(value, int) or value < 1:
            raise ValueError(f"option '{name}' is {value!r}; expected a positive integer")


def build_model(architecture: str, **arch_kwargs) -> nn.Module:
    check_architecture(architecture, arch_kwargs)
    return ARCHITECTURES[architecture](**arch_kwargs)


def normalise_frames(frames: torch.Tensor) -> torch.Tensor:
    """(B, 50, 50) grey levels (uint8 or float 0-255) -> (B, 1, 50, 50) float, standardised per
    frame. Per-frame standardisation makes the model indifferent to exposure and contrast;
    polarity (dark-on-light or light-on-dark) is left to the model, which sees both in training.
    """
    x = frames.float().unsqueeze(1)
    mean = x.mean(dim=(2, 3), keepdim=True)
    std = x.std(dim=(2, 3), keepdim=True).clamp_min(1.0)
    return (x - mean) / std


NORMALISATION = "per-frame standardisation: (x - mean(x)) / max(std(x), 1), x in grey levels"
