"""Regenerate (or check) the NWB schema our NWB files carry: src/.../movies/nwb_spec.json.

pynwb caches in every file it writes the namespaces it knows (NWB core, hdmf-common,
hdmf-experimental and, with ndx-pose imported, ndx-pose) as JSON texts under /specifications;
our writer (movies/nwb.py) copies them from nwb_spec.json rather than importing pynwb. After
a pynwb or ndx-pose upgrade, regenerate it and check nwb.py's layout against the new versions
(the tests read our files back with pynwb and nwbinspector):

    .venv/bin/python scripts/nwb_spec.py            # write nwb_spec.json
    .venv/bin/python scripts/nwb_spec.py --check    # exit 1 when it is not what pynwb caches
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import sys
import tempfile
from pathlib import Path

from direction_tagger.movies.nwb_spec import SPEC_FILE


def spec_of_installed_pynwb() -> dict[str, str]:
    """{"<namespace>/<version>/<source>": JSON text}, as the installed pynwb caches them."""
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


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--check", action="store_true", help="compare, do not write")
    args = p.parse_args(argv)
    spec = spec_of_installed_pynwb()
    if args.check:
        stored = json.loads(SPEC_FILE.read_text(encoding="utf-8"))
        if stored != spec:
            changed = sorted(
                set(stored) ^ set(spec) | {k for k in spec if stored.get(k) != spec[k]}
            )
            print(f"{SPEC_FILE}: differs from what the installed pynwb caches ({', '.join(changed)});"
                  " run scripts/nwb_spec.py")  # fmt: skip
            return 1
        print(f"{SPEC_FILE}: up to date ({len(spec)} schema texts)")
        return 0
    SPEC_FILE.write_text(json.dumps(spec, indent=0) + "\n", encoding="utf-8")
    print(f"{SPEC_FILE}: {len(spec)} schema texts")
    return 0


if __name__ == "__main__":
    sys.exit(main())
