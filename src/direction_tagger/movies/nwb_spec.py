"""The NWB schema our NWB files carry, stored once in `nwb_spec.json`.

An NWB file describes itself: it caches the namespaces it follows (NWB core, hdmf-common,
hdmf-experimental, ndx-pose) as JSON texts under /specifications, so a reader without
ndx-pose still knows a PoseEstimation. pynwb builds those texts by loading every namespace,
which is most of its 1-3 s import; our writer (nwb.py) copies them from `nwb_spec.json`, made
by pynwb itself for the versions whose layout nwb.py writes (scripts/nwb_spec.py regenerates
it after an upgrade; the tests fail while it differs from what the installed pynwb caches).
"""

from __future__ import annotations

import json
from functools import cache
from pathlib import Path

SPEC_FILE = Path(__file__).with_name("nwb_spec.json")


@cache
def cached_spec() -> dict[str, str]:
    """{"<namespace>/<version>/<source>": its JSON text}, as pynwb caches them."""
    return json.loads(SPEC_FILE.read_text(encoding="utf-8"))


def core_version() -> str:
    """The NWB core version our files follow (the root's `nwb_version`)."""
    return next(key.split("/")[1] for key in cached_spec() if key.startswith("core/"))
