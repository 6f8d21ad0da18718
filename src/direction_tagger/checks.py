"""Rules for single values that the command line, the data files and the training options share:
frame rates, test-time augmentation counts, device names and precisions.

Each rule is a test and the words for what it expects; `check` applies one and raises ValueError
"expected ..., got ..." (the caller adds where the value came from: an argument, a key of a
file, a training option). No torch here: the command line checks its arguments before loading
anything heavy.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable
from dataclasses import dataclass

# Frames per second: 0.01 (a frame every 100 s, time-lapse) to 10,000 (high-speed cameras).
# Outside it a value is a unit mistake, and ffmpeg cannot encode it.
FPS_RANGE = (0.01, 10_000.0)
TTA_COUNTS = (0, 1, 2, 4, 8)  # dihedral transforms at test time (0 and 1: none)
_DEVICE = re.compile(r"auto|cpu|mps|cuda(:\d+)?")
PRECISIONS = ("auto", "fp32", "bf16")  # auto: bf16 autocast where it is faster
# Crop side as a multiple of the body length: below 1 the crop cuts the animal off, above 8
# the animal is a few pixels of the 50 px crop (the training data has it at 2).
CROP_SCALE = (1.0, 8.0)


@dataclass(frozen=True)
class Rule:
    holds: Callable[[object], bool]
    expected: str  # what a good value is, in words

    def check(self, value):
        """The value, when it follows the rule; else ValueError naming both."""
        try:
            good = self.holds(value)
        except (TypeError, ValueError):
            good = False
        if not good:
            shown = f"{value:g}" if isinstance(value, float) else repr(value)
            raise ValueError(f"expected {self.expected}, got {shown}")
        return value


def _is_number(value) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


FPS = Rule(
    lambda v: _is_number(v) and math.isfinite(v) and FPS_RANGE[0] <= v <= FPS_RANGE[1],
    f"a frame rate of {FPS_RANGE[0]:g} to {FPS_RANGE[1]:g} frames per second",
)
TTA = Rule(
    lambda v: _is_number(v) and v in TTA_COUNTS,
    f"{', '.join(str(c) for c in TTA_COUNTS[:-1])} or {TTA_COUNTS[-1]} transforms",
)
DEVICE = Rule(
    lambda v: isinstance(v, str) and _DEVICE.fullmatch(v) is not None,
    "a device: auto, cpu, mps, cuda or cuda:N",
)
PRECISION = Rule(lambda v: v in PRECISIONS, f"a precision: {', '.join(PRECISIONS)}")
