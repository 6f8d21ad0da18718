"""direction-tagger: tail base, neck and nose of a rat in 50x50 top-view frames."""

import importlib
import os

__version__ = "0.1.0"

# torch's OpenMP threads sleep while they wait for work (read once, when torch loads, so it is
# set here, before any module imports torch). Left spinning, a waiting thread takes the core
# from the thread that has work whenever other jobs share the cores: on 2 busy cores that made
# 40 short clips through tag-movies 2.5-4.4x slower (benchmarks/bench_scale.py measures it).
# A policy the user set (OMP_WAIT_POLICY, or GOMP_SPINCOUNT for torch's GNU OpenMP) is kept.
if "OMP_WAIT_POLICY" not in os.environ and "GOMP_SPINCOUNT" not in os.environ:
    os.environ["OMP_WAIT_POLICY"] = "PASSIVE"


def __getattr__(name: str):
    """`from direction_tagger import Tagger`: the public API (api.py), loaded on first use so
    that `import direction_tagger` stays light for the commands."""
    if name in ("Tagger", "Result", "FrameResult"):
        # by name, not `from . import api`: no command imports the API, and the environments'
        # import walk (tests/test_envs.py) must not count it as one of theirs
        api = importlib.import_module(f"{__name__}.api")
        return getattr(api, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
