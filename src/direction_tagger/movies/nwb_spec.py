"""The NWB schema our NWB files carry, stored once in `nwb_spec.json`.

An NWB file describes itself: it caches the namespaces it follows (NWB core, hdmf-common,
hdmf-experimental, ndx-pose) as JSON texts under /specifications, so a reader without
ndx-pose still knows a PoseEstimation. pynwb builds those texts by loading every namespace,
which is most of its 1-3 s import; our writer (nwb.py) copies them from `nwb_spec.json`.
The file is the spec of the versions whose layout nwb.py writes, made by pynwb itself:

    python -m direction_tagger.movies.nwb_spec     # needs pynwb and ndx-pose

(the tests fail when the installed pynwb / ndx-pose would cache something else: regenerate,
and check nwb.py's layout against the new versions' with the tests).
"""

from __future__ import annotations

import datetime as dt
import json
import sys
import tempfile
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


def spec_of_installed_pynwb() -> dict[str, str]:
    """What the installed pynwb caches in a file, with ndx-pose loaded."""
    import h5py
    import ndx_pose  # noqa: F401  (registers its namespace, so pynwb caches it)
    import pynwb

    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "spec.nwb"
        start = dt.datetime(2000, 1, 1, tzinfo=dt.timezone.utc)
        nwbfile = pynwb.NWBFile(session_description="spec", identifier="spec",
                                session_start_time=start)  # fmt: skip
        with pynwb.NWBHDF5IO(str(path), "w") as io:
            io.write(nwbfile)
        texts = {}
        with h5py.File(path, "r") as f:
            f["specifications"].visititems(
                lambda name, obj: (
                    texts.__setitem__(name, obj[()].decode("utf-8"))
                    if isinstance(obj, h5py.Dataset)
                    else None
                )
            )
    return dict(sorted(texts.items()))


def main() -> int:
    SPEC_FILE.write_text(json.dumps(spec_of_installed_pynwb(), indent=0) + "\n", encoding="utf-8")
    print(f"{SPEC_FILE}: {len(cached_spec.__wrapped__())} schema texts")
    return 0


if __name__ == "__main__":
    sys.exit(main())
