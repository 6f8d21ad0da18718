"""A catalogue of bad inputs (issue #12): every one a user can cause ends in exit status 2 and
one line naming the file or key, the value and what was expected -- never a traceback -- and
no final output is written or changed.

Good inputs are made once (a tiny labelled set, movie, split, model, predictions, ...); each
case then changes one thing: an argument, an option, or a file made bad on purpose. Nothing
depends on wall-clock time, and the network is a local http.server on 127.0.0.1.
"""

from __future__ import annotations

import builtins
import errno
import io as stdio
import json
import os
import shutil
import threading
import zipfile
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import numpy as np
import pytest
import torch

from direction_tagger import cli, io
from direction_tagger.data import transport
from direction_tagger.data.synth import make_labelled_set

# Options whose value is a file or folder a command writes: a failing case must leave each as
# it was (absent, or byte-identical).
OUTPUT_FLAGS = {
    "--out",
    "--log",
    "--curves",
    "--checkpoint",
    "--metrics",
    "--frames",
    "--figure",
    "--worst",
    "--reliability",
    "--summary",
    "--montage",
    "--plots-dir",
    "--groups",
    "--report",
    "--truth-metrics",
    "--dlc-csv",
    "--qc-json",
    "--outdir",
    "--json",
    "--csv",
    "--markdown",
    "--runs-csv",
    "--variants-csv",
}
TRAIN_OPTIONS = {"steps": 2, "batch_size": 8, "arch_kwargs": {"width": 8}, "device": "cpu"}


# --------------------------------------------------------------------------- good inputs


@dataclass
class Good:
    dir: Path
    labelled: Path
    movie: Path
    split: Path
    model: Path
    train_log: Path
    raw: Path
    calibration: Path
    metrics: Path
    reference: Path
    smoothed: Path
    qc: Path
    summary: Path
    url: str  # the local http server


class Handler(BaseHTTPRequestHandler):
    """/loop redirects to itself, /good.npz serves a labelled set, anything else is a 404."""

    body = b""

    def do_GET(self):  # noqa: N802 (the http.server name)
        if self.path.startswith("/loop"):
            self.send_response(302)
            self.send_header("Location", "/loop")
            self.send_header("Content-Length", "0")
            self.end_headers()
        elif self.path == "/good.npz":
            self.send_response(200)
            self.send_header("Content-Length", str(len(self.body)))
            self.end_headers()
            self.wfile.write(self.body)
        else:
            self.send_response(404)
            self.send_header("Content-Length", "0")
            self.end_headers()

    def log_message(self, *args):  # quiet
        pass


def quietly(argv: list[str]) -> None:
    assert cli.main(argv) == 0, argv


@pytest.fixture(scope="module")
def good(tmp_path_factory) -> Good:
    d = tmp_path_factory.mktemp("good")
    images, locs = make_labelled_set(60, 0)
    io.save_labelled(d / "labelled.npz", images, locs)
    g = Good(
        dir=d,
        labelled=d / "labelled.npz",
        movie=d / "movie.npz",
        split=d / "split.json",
        model=d / "model.pt",
        train_log=d / "log.csv",
        raw=d / "raw.csv",
        calibration=d / "calibration.json",
        metrics=d / "metrics.json",
        reference=d / "reference.json",
        smoothed=d / "smoothed.csv",
        qc=d / "qc.json",
        summary=d / "summary.json",
        url="",
    )
    quietly(["synth", "movie", "--frames", "24", "--seed", "3", "--out", str(g.movie)])
    quietly(["split", "--data", str(g.labelled), "--group-key", "frame", "--out", str(g.split)])
    quietly(
        [
            "train",
            "--data",
            str(g.labelled),
            "--split",
            str(g.split),
            "--out",
            str(g.model),
            "--log",
            str(g.train_log),
            "--options",
            json.dumps(TRAIN_OPTIONS),
        ]
    )
    model = ["--model", str(g.model)]
    quietly(["predict", *model, "--movie", str(g.movie), "--out", str(g.raw), "--tta", "2"])
    data = ["--data", str(g.labelled), "--split", str(g.split), "--tta", "2"]
    quietly(["calibrate", *model, *data, "--out", str(g.calibration)])
    evaluate = ["--metrics", str(g.metrics), "--frames", str(d / "frames.csv")]
    quietly(["evaluate", *model, *data, *evaluate])
    quietly(["qc-reference", "--labelled", str(g.labelled), "--out", str(g.reference)])
    smooth = ["--predictions", str(g.raw), "--out", str(g.smoothed), "--qc-json", str(g.qc)]
    quietly(["smooth", *smooth, "--reference", str(g.reference)])
    report = ["--run", "r", *model, "--train-log", str(g.train_log), "--split", str(g.split)]
    outputs = ["--out", str(d / "summary.md"), "--json", str(g.summary)]
    quietly(["summary", *report, "--metrics", f"test={g.metrics}", *outputs])

    Handler.body = g.labelled.read_bytes()
    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    g.url = f"http://127.0.0.1:{server.server_address[1]}"
    yield g
    server.shutdown()
    server.server_close()


# --------------------------------------------------------------------------- the commands

# Each command's arguments for good inputs; a case changes some of them ({flag: value}; None
# drops the flag, True gives it bare, a callable (good, tmp) -> value makes a bad file).
COMMANDS = {
    "synth labelled": lambda g, t: {"--n": 4, "--out": t / "s.npz"},
    "synth movie": lambda g, t: {"--frames": 4, "--out": t / "m.npz"},
    "download": lambda g, t: {
        "--source": g.labelled,
        "--out": t / "d.npz",
        "--retries": 0,
        "--local-dir": t,  # not the checkout's tagged_dataset/
    },
    "verify": lambda g, t: {
        "--data": g.labelled,
        "--summary": t / "v.json",
        "--montage": t / "v.png",
        "--plots-dir": t / "plots",
    },
    "recover": lambda g, t: {
        "--data": g.labelled,
        "--out": t / "o.npz",
        "--groups": t / "g.npz",
        "--report": t / "r.json",
    },
    "augment": lambda g, t: {"--data": g.labelled, "--out": t / "a.npz", "--seed": 0},
    "split": lambda g, t: {"--data": g.labelled, "--group-key": "frame", "--out": t / "s.json"},
    "subsample-split": lambda g, t: {
        "--split": g.split,
        "--data": g.labelled,
        "--group-key": "frame",
        "--count": 5,
        "--seed": 0,
        "--out": t / "sub.json",
    },
    "train": lambda g, t: {
        "--data": g.labelled,
        "--split": g.split,
        "--out": t / "m.pt",
        "--log": t / "log.csv",
        "--options": json.dumps(TRAIN_OPTIONS),
    },
    "evaluate": lambda g, t: {
        "--model": g.model,
        "--data": g.labelled,
        "--split": g.split,
        "--metrics": t / "e.json",
        "--frames": t / "e.csv",
    },
    "calibrate": lambda g, t: {
        "--model": g.model,
        "--data": g.labelled,
        "--split": g.split,
        "--tta": 2,
        "--out": t / "c.json",
    },
    "learning-curve": lambda g, t: {
        "--splits": [t / "sub.json"],
        "--metrics": [g.metrics],
        "--csv": t / "lc.csv",
        "--figure": t / "lc.png",
        "--markdown": t / "lc.md",
    },
    "predict": lambda g, t: {"--model": g.model, "--movie": g.movie, "--out": t / "p.csv"},
    "smooth": lambda g, t: {"--predictions": g.raw, "--out": t / "s.csv"},
    "render": lambda g, t: {
        "--movie": g.movie,
        "--predictions": g.raw,
        "--out": t / "v.mp4",
        "--quiet": True,
    },
    "movie-figures": lambda g, t: {"--predictions": g.raw, "--outdir": t / "figures"},
    "to-nwb": lambda g, t: {"--predictions": g.raw, "--model": g.model, "--out": t / "p.nwb"},
    "qc-reference": lambda g, t: {"--labelled": g.labelled, "--out": t / "ref.json"},
    "summary": lambda g, t: {
        "--run": "r",
        "--model": g.model,
        "--train-log": g.train_log,
        "--metrics": [f"test={g.metrics}"],
        "--out": t / "s.md",
        "--json": t / "s.json",
    },
    "compare": lambda g, t: {
        "--summaries": [f"r={g.summary}"],
        "--evalset": "test",
        "--runs-csv": t / "runs.csv",
        "--variants-csv": t / "variants.csv",
        "--figure": t / "c.png",
    },
}


def build_argv(command: str, options: dict, good: Good, tmp: Path) -> list[str]:
    argv = command.split()
    for flag, value in options.items():
        if callable(value):
            value = value(good, tmp)
        if value is None:
            continue
        if value is True:
            argv.append(flag)
        elif isinstance(value, list):
            argv += [flag, *(str(v) for v in value)]
        else:
            argv += [flag, str(value)]
    return argv


# --------------------------------------------------------------------------- bad files


def arrays_of(path: Path) -> dict[str, np.ndarray]:
    with np.load(path, allow_pickle=False) as npz:
        return {k: npz[k] for k in npz.files}


def npz_like(source: str, name: str, **changes):
    """A copy of a good .npz (`labelled` or `movie`) with keys changed (None: removed)."""

    def make(g: Good, t: Path) -> Path:
        arrays = arrays_of(getattr(g, source)) | changes
        path = t / name
        np.savez(path, **{k: v for k, v in arrays.items() if v is not None})
        return path

    return make


def labels_moved(key: str, frame: int, xy: tuple[float, float], source: str = "labelled"):
    def make(g: Good, t: Path) -> Path:
        arrays = arrays_of(getattr(g, source))
        arrays[key] = arrays[key].copy()
        arrays[key][frame] = xy
        path = t / f"moved-{source}.npz"
        np.savez(path, **arrays)
        return path

    return make


def huge_header(source: str = "labelled", frames: int = 10**11):
    """An .npz whose `images` header declares (frames, 50, 50) uint8 (10**11: 227 TiB) while
    holding a few bytes."""

    def make(g: Good, t: Path) -> Path:
        path = t / f"huge-{source}.npz"
        arrays = arrays_of(getattr(g, source))
        with zipfile.ZipFile(path, "w") as zf:
            for key, value in arrays.items():
                buf = stdio.BytesIO()
                if key == "images":
                    header = {"descr": "|u1", "fortran_order": False, "shape": (frames, 50, 50)}
                    np.lib.format.write_array_header_1_0(buf, header)
                    buf.write(b"\0" * 64)
                else:
                    np.lib.format.write_array(buf, value)
                zf.writestr(f"{key}.npy", buf.getvalue())
        return path

    return make


def text_file(name: str, text: str | bytes):
    def make(g: Good, t: Path) -> Path:
        path = t / name
        if isinstance(text, bytes):
            path.write_bytes(text)
        else:
            path.write_text(text)
        return path

    return make


def cut(source: str, keep: float | int, name: str | None = None):
    """A good file cut short: `keep` bytes, or that share of them."""

    def make(g: Good, t: Path) -> Path:
        data = getattr(g, source).read_bytes()
        n = keep if isinstance(keep, int) else int(len(data) * keep)
        path = t / (name or f"cut-{getattr(g, source).name}")
        path.write_bytes(data[:n])
        return path

    return make


def npy_file(g: Good, t: Path) -> Path:
    """A plain .npy array where an .npz is expected."""
    np.save(t / "plain.npy", np.zeros(3))
    return t / "plain.npy"


def header_only(g: Good, t: Path) -> Path:
    """The predictions' header line and no rows."""
    path = t / "head.csv"
    path.write_text(g.raw.read_text().split("\n")[0] + "\n")
    return path


def csv_cut_mid_row(source: str = "raw"):
    def make(g: Good, t: Path) -> Path:
        text = getattr(g, source).read_text()
        last_row = text.rstrip("\n").rfind("\n")
        path = t / "cut-mid-row.csv"
        path.write_text(text[: last_row + 40])  # the last row loses most of its fields
        return path

    return make


def csv_edited(source: str = "raw", drop: str | None = None, replace: dict | None = None):
    def make(g: Good, t: Path) -> Path:
        import pandas as pd

        table = pd.read_csv(getattr(g, source))
        if drop:
            table = table.drop(columns=drop)
        for column, value in (replace or {}).items():
            table[column] = value
        path = t / "edited.csv"
        table.to_csv(path, index=False)
        return path

    return make


def json_edited(source: str, name: str = "edited.json", **changes):
    """A good JSON file with top-level keys changed (None: removed)."""

    def make(g: Good, t: Path) -> Path:
        data = json.loads(getattr(g, source).read_text()) | changes
        path = t / name
        path.write_text(json.dumps({k: v for k, v in data.items() if v is not None}))
        return path

    return make


def split_with(**parts):
    """The good split with some parts' indices replaced."""

    def make(g: Good, t: Path) -> Path:
        data = json.loads(g.split.read_text())
        data["indices"] |= parts
        path = t / "bad-split.json"
        path.write_text(json.dumps(data))
        return path

    return make


def model_with(metadata: dict | None = None, drop: str | None = None, state=None):
    """The good model file with its metadata changed (or a top-level entry dropped)."""

    def make(g: Good, t: Path) -> Path:
        bundle = torch.load(g.model, weights_only=True)
        if metadata is not None:
            bundle["metadata"] = {
                k: v for k, v in (bundle["metadata"] | metadata).items() if v is not None
            }
        if state is not None:
            bundle["metadata"] = state
        if drop:
            bundle.pop(drop)
        path = t / "bad-model.pt"
        torch.save(bundle, path)
        return path

    return make


def subsample_split(g: Good, t: Path) -> Path:
    """A good subset split (for learning-curve cases)."""
    path = t / "sub.json"
    quietly(
        [
            "subsample-split",
            *build_argv("", COMMANDS["subsample-split"](g, t), g, t),
        ]
    )
    return path


def copy_of(source: str, name: str):
    def make(g: Good, t: Path) -> Path:
        path = t / name
        shutil.copyfile(getattr(g, source), path)
        return path

    return make


# --------------------------------------------------------------------------- faults


def no_space_in(module, name: str):
    """Make `module.name(...)`'s writes fail half-way with ENOSPC (a full disk)."""

    def setup(g: Good, t: Path, monkeypatch) -> None:
        real = getattr(module, name, None) or getattr(builtins, name)

        def full(*args, **kwargs):
            handle = real(*args, **kwargs)
            mode = args[1] if len(args) > 1 else kwargs.get("mode", "r")
            if not any(c in mode for c in "wa"):
                return handle
            write = handle.write

            def write_half(data):
                write(data[: len(data) // 2])
                raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))

            handle.write = write_half
            return handle

        monkeypatch.setattr(module, name, full, raising=False)

    return setup


def savez_no_space(g: Good, t: Path, monkeypatch) -> None:
    def full(f, **arrays):
        f.write(b"PK half a file")
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))

    monkeypatch.setattr(np, "savez", full)


def write_text_no_space(g: Good, t: Path, monkeypatch) -> None:
    real = Path.write_text

    def full(self, data, *args, **kwargs):
        real(self, data[: len(data) // 2], *args, **kwargs)
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))

    monkeypatch.setattr(Path, "write_text", full)


def read_only(folder: str):
    """An output folder without write permission (skipped where root writes anyway)."""

    def setup(g: Good, t: Path, monkeypatch) -> None:
        path = t / folder
        path.mkdir()
        path.chmod(0o500)
        if os.access(path, os.W_OK):
            path.chmod(0o700)
            pytest.skip("running as root: a folder without write permission is still writable")

    return setup


def no_permission(g: Good, t: Path, monkeypatch) -> None:
    """What root never sees: the folder `locked` says it is not writable, and opening a file
    for writing there is refused (EACCES)."""
    locked = t / "locked"
    real_open, real_access = builtins.open, os.access

    def refuse(file, mode="r", *args, **kwargs):
        if any(c in mode for c in "wax") and Path(os.fspath(file)).parent == locked:
            raise PermissionError(errno.EACCES, os.strerror(errno.EACCES), os.fspath(file))
        return real_open(file, mode, *args, **kwargs)

    def access(path, mode, *args, **kwargs):
        if Path(os.fspath(path)) == locked and mode & os.W_OK:
            return False
        return real_access(path, mode, *args, **kwargs)

    locked.mkdir()
    monkeypatch.setattr(builtins, "open", refuse)
    monkeypatch.setattr(os, "access", access)


def good_file_at(name: str):
    def setup(g: Good, t: Path, monkeypatch) -> None:
        shutil.copyfile(g.labelled, t / name)

    return setup


def no_gpu(g: Good, t: Path, monkeypatch) -> None:
    if torch.cuda.is_available():
        pytest.skip("this machine has a GPU: --device cuda is good input here")


# --------------------------------------------------------------------------- the catalogue

ZERO_HEX = "0" * 64
FRAMES_10 = np.zeros((10, 50, 50), np.uint8)
NO_LABELS = {"locs_base": None, "locs_neck": None, "locs_head": None}
EMPTY_SET = {"images": np.zeros((0, 50, 50), np.uint8)} | {
    f"locs_{k}": np.zeros((0, 2)) for k in ("base", "neck", "head")
}


def case(title: str, changes: dict, *expected: str, setup=None):
    """One bad input, titled "<command>: <what is wrong>": `changes` to the command's good
    arguments, and what its one error line must hold; `setup(good, tmp, monkeypatch)`
    prepares a fault."""
    command = title.split(":")[0]
    return pytest.param(command, changes, expected, setup, id=title)


def value(command: str, flag: str, text, *expected: str):
    """A bad argument value: the line names the flag and the value as given."""
    return case(f"{command}: {flag} {text}", {flag: text}, flag, str(text), *expected)


def option(name: str, given, *expected: str, setup=None):
    """A bad training option (--options JSON): the line names the option and the value."""
    changes = {"--options": json.dumps(TRAIN_OPTIONS | {name: given})}
    return case(f"train: option {name} {given!r}", changes, f"'{name}'", *expected, setup=setup)


def missing(name: str):
    return lambda g, t: t / name


def inside(folder: str, name: str):
    return lambda g, t: t / folder / name


def folder_named(name: str):
    """An existing folder where a file is to be written."""

    def make(g: Good, t: Path) -> Path:
        (t / name).mkdir()
        return t / name

    return make


def good_file(attribute: str):
    return lambda g, t: getattr(g, attribute)


def pair(name: str, make):
    """NAME=PATH, of a file `make` writes."""
    return lambda g, t: [f"{name}={make(g, t)}"]


CATALOGUE = [
    # ---- argument values, refused by argparse before anything is read
    value("synth labelled", "--n", 0, "positive integer"),
    value("synth labelled", "--n", -5),
    value("synth labelled", "--n", "ten"),
    value("synth labelled", "--seed", -1),
    value("synth labelled", "--polarity", "grey"),
    value("synth movie", "--frames", 0),
    value("synth movie", "--fps", 0),
    value("synth movie", "--fps", "1e12", "frames per second"),
    value("synth movie", "--fps", "1e-9"),
    value("synth movie", "--fps", "nan"),
    value("download", "--retries", -1),
    value("download", "--timeout", 0),
    value("download", "--backoff", -1),
    value("verify", "--expected-n", -1),
    value("recover", "--max-shift-px", 7, "0 to 6"),
    value("recover", "--threads", -1),
    value("recover", "--residual-factor", -1),
    value("augment", "--pixel-noise-sigma", -1),
    value("augment", "--pixel-shift-px", -1),
    value("augment", "--pixel-shift-px", 30),
    value("augment", "--label-noise-sigma", "nan"),
    value("augment", "--seed", -3),
    value("split", "--seed", -1),
    value("subsample-split", "--count", 0),
    value("subsample-split", "--seed", -1),
    value("train", "--threads", 0),
    value("train", "--options", "{steps: 2}", "JSON"),
    value("train", "--options", "[1, 2]", "object"),
    value("evaluate", "--tta", 3, "0, 1, 2, 4 or 8"),
    value("evaluate", "--device", "gpu0"),
    value("evaluate", "--threads", 0),
    value("calibrate", "--tta", 5),
    value("predict", "--batch-size", 0),
    value("predict", "--tta", 3),
    value("predict", "--device", "gpu0"),
    value("predict", "--precision", "fp16", "auto", "fp32", "bf16"),
    value("predict", "--device", "cuda:x"),
    value("smooth", "--window", 0),
    value("smooth", "--polyorder", -1),
    value("smooth", "--min-confidence", 1.5),
    value("smooth", "--max-gap", -1),
    value("smooth", "--outlier-px", -2),
    value("smooth", "--max-jump-px", 0),
    value("smooth", "--max-spread-px", 0),
    value("smooth", "--fps", 0),
    value("smooth", "--fps", "1e12"),
    value("smooth", "--flag-risk", 2),
    value("smooth", "--unfamiliar", "never", "movie", "calibration"),
    value("render", "--scale", 0),
    value("render", "--trail", -1),
    value("render", "--crf", 99),
    value("compare", "--overrides", "{x", "JSON"),
    value("compare", "--overrides", "[1]", "object"),
    case("summary: metrics not a pair", {"--metrics": ["m.json"]}, "NAME=PATH"),
    case("compare: summaries not pairs", {"--summaries": ["=s.json"]}, "NAME=PATH"),
    case("compare: a summary not there", {"--summaries": ["gone/summary.json"]}, "gone"),
    # ---- training options
    option("steps", 0, "positive integer"),
    option("steps", -3, "-3", "positive integer"),
    option("steps", "100", "'100'", "integer"),
    option("batch_size", 0),
    option("batch_size", 2.5, "2.5"),
    option("lr", -1, "-1"),
    option("lr", "fast", "'fast'"),
    option("patience", 0),
    option("eval_every", 0),
    option("warmup_fraction", 1.5, "1.5"),
    option("max_minutes", 0),
    option("passes", 0),
    option("seed", -1, "-1"),
    option("online_augment", "yes", "'yes'", "true or false"),
    option("architecture", "resnet", "'resnet'", "heatmap_unet"),
    option("arch_kwargs", {"depth": 3}, "depth"),
    option("arch_kwargs", "wide", "'wide'"),
    option("arch_kwargs", {"width": 0}, "width"),
    option("device", "gpu0", "'gpu0'"),
    case("train: option epochs", {"--options": '{"epochs": 30}'}, "'epochs'", "now steps"),
    option("learning_rate", 0.1, "unknown training option", "known"),
    # ---- devices that are not here
    option("device", "cuda", "not available", setup=no_gpu),
    case("evaluate: device cuda", {"--device": "cuda"}, "'cuda'", "not available", setup=no_gpu),
    case("evaluate: device cuda:99", {"--device": "cuda:99"}, "'cuda:99'"),
    case("predict: device cuda", {"--device": "cuda"}, "'cuda'", "not available", setup=no_gpu),
    # ---- labelled sets and movies (.npz)
    case("verify: missing", {"--data": missing("absent.npz")}, "absent.npz", "not found"),
    case(
        "verify: not a zip",
        {"--data": text_file("junk.npz", "hello")},
        "junk.npz",
        "not a readable .npz",
    ),
    case(
        "verify: huge header",
        {"--data": huge_header()},
        "huge-labelled.npz",
        "'images'",
        "declares",
    ),
    case(
        "verify: labels outside",
        {"--data": labels_moved("locs_neck", 2, (56.0, 10.0))},
        "'locs_neck'",
        "outside the frame",
        "56.00",
    ),
    case(
        "verify: images shape",
        {"--data": npz_like("labelled", "shape.npz", images=np.zeros((60, 64, 64), np.uint8))},
        "'images'",
        "(60, 64, 64)",
        "(N, 50, 50)",
    ),
    case(
        "verify: movie fps text",
        {"--data": npz_like("movie", "fps.npz", fps=np.array("thirty")), "--movie": True},
        "fps.npz",
        "'fps'",
        "thirty",
    ),
    case("recover: missing", {"--data": missing("absent.npz")}, "absent.npz", "not found"),
    case(
        "augment: images float",
        {"--data": npz_like("labelled", "float.npz", images=np.full((60, 50, 50), 300.0))},
        "'images'",
        "float64",
        "uint8",
    ),
    case("split: data truncated", {"--data": cut("labelled", 0.5)}, "cut-labelled.npz"),
    case(
        "train: labels outside",
        {"--data": labels_moved("locs_head", 5, (60.0, 20.0))},
        "'locs_head'",
        "outside the frame",
        "60.00",
    ),
    case(
        "train: labels negative",
        {"--data": labels_moved("locs_base", 0, (-6.0, 20.0))},
        "'locs_base'",
        "outside the frame",
        "-6.00",
    ),
    case(
        "train: labels nan",
        {"--data": labels_moved("locs_neck", 1, (np.nan, 20.0))},
        "'locs_neck'",
        "non-finite",
    ),
    case(
        "train: val data labels outside",
        {"--split": None, "--val-data": labels_moved("locs_neck", 3, (20.0, 99.0))},
        "'locs_neck'",
        "outside the frame",
    ),
    case("train: huge header", {"--data": huge_header()}, "'images'", "declares"),
    case(
        "train: data empty",
        {"--data": npz_like("labelled", "empty.npz", **EMPTY_SET)},
        "empty.npz",
        "no frames",
    ),
    case(
        "train: data missing key",
        {"--data": npz_like("labelled", "nokey.npz", locs_head=None)},
        "nokey.npz",
        "'locs_head'",
    ),
    case("train: data is npy", {"--data": npy_file}, "plain.npy", "not a readable .npz"),
    case(
        "evaluate: labels outside",
        {"--data": labels_moved("locs_base", 10, (54.6, 3.0))},
        "'locs_base'",
        "outside the frame",
        "54.60",
    ),
    case(
        "evaluate: object array",
        {"--data": npz_like("labelled", "obj.npz", locs_base=np.array([None] * 60, object))},
        "obj.npz",
        "'locs_base'",
        "pickled",
    ),
    case(
        "qc-reference: labels outside",
        {"--labelled": labels_moved("locs_neck", 7, (25.0, -6.0))},
        "'locs_neck'",
        "outside the frame",
        "-6.00",
    ),
    case(
        "qc-reference: missing key",
        {"--labelled": npz_like("labelled", "nokey.npz", locs_base=None)},
        "nokey.npz",
        "'locs_base'",
    ),
    case("qc-reference: huge header", {"--labelled": huge_header()}, "declares"),
    case(
        "predict: fps huge",
        {"--movie": npz_like("movie", "fps.npz", fps=np.float32(1e12))},
        "fps.npz",
        "'fps'",
        "1e+12",
    ),
    case(
        "predict: fps tiny",
        {"--movie": npz_like("movie", "fps.npz", fps=np.float64(1e-9))},
        "fps.npz",
        "'fps'",
        "1e-09",
    ),
    case(
        "predict: fps text",
        {"--movie": npz_like("movie", "fps.npz", fps=np.array("30"))},
        "fps.npz",
        "'fps'",
        "'30'",
    ),
    case(
        "predict: fps empty",
        {"--movie": npz_like("movie", "fps.npz", fps=np.array([]))},
        "fps.npz",
        "'fps'",
        "no value",
    ),
    case(
        "predict: fps two",
        {"--movie": npz_like("movie", "fps.npz", fps=np.array([30.0, 25.0]))},
        "fps.npz",
        "'fps'",
        "2 values",
    ),
    case(
        "predict: fps negative",
        {"--movie": npz_like("movie", "fps.npz", fps=np.float32(-30))},
        "fps.npz",
        "'fps'",
        "-30",
    ),
    case("predict: movie huge header", {"--movie": huge_header("movie")}, "declares"),
    case(
        "predict: movie truth outside",
        {"--movie": labels_moved("locs_head", 0, (55.0, 5.0), source="movie")},
        "'locs_head'",
        "outside the frame",
    ),
    case(
        "predict: movie no images",
        {"--movie": npz_like("movie", "noimg.npz", images=None)},
        "noimg.npz",
        "'images'",
    ),
    case(
        "render: fps huge",
        {"--movie": npz_like("movie", "fps.npz", fps=np.float64(1e12))},
        "fps.npz",
        "'fps'",
        "1e+12",
    ),
    case(
        "render: fps nan",
        {"--movie": npz_like("movie", "fps.npz", fps=np.float32("nan"))},
        "fps.npz",
        "'fps'",
        "nan",
    ),
    case(
        "render: rows differ",
        {"--movie": npz_like("movie", "short.npz", images=FRAMES_10, **NO_LABELS)},
        "24 rows",
        "10 frames",
    ),
    # ---- splits
    case("split: train fraction zero", {"--fractions": "0,0.5,0.5"}, "--fractions", "'train'", "0"),
    case(
        "split: fractions sum",
        {"--fractions": "0.8,0.1,0.2"},
        "--fractions 0.8,0.1,0.2",
        "sum to 1",
    ),
    case("split: fractions count", {"--fractions": "0.5,0.5"}, "--fractions", "3 numbers"),
    case("split: fractions words", {"--fractions": "a,b,c"}, "--fractions a,b,c"),
    case("split: fraction negative", {"--fractions": "0.6,-0.1,0.5"}, "--fractions", "-0.1"),
    case("split: no groups", {"--group-key": None}, "no groups to split by"),
    case("split: group key absent", {"--group-key": "video"}, "no key 'video'"),
    case(
        "split: groups wrong length",
        {"--group-key": None, "--groups": npz_like("labelled", "g.npz", groups=np.arange(7))},
        "7",
        "60 frames",
    ),
    case(
        "subsample-split: no train",
        {"--split": split_with(train=None)},
        "bad-split.json",
        "'train'",
    ),
    case(
        "subsample-split: other file",
        {"--split": json_edited("split", data_sha256="f" * 64)},
        "another file",
    ),
    case(
        "subsample-split: indices outside",
        {"--split": split_with(train=[0, 1, 999])},
        "bad-split.json",
        "999",
        "60 frames",
    ),
    case(
        "train: split indices outside",
        {"--split": split_with(train=[0, 1, 500])},
        "bad-split.json",
        "500",
        "60 frames",
    ),
    case(
        "train: split val empty",
        {"--split": split_with(val=[])},
        "bad-split.json",
        "'val'",
        "empty",
    ),
    case("train: split no train", {"--split": split_with(train=None)}, "bad-split.json", "'train'"),
    case(
        "train: split not json",
        {"--split": text_file("split.json", "{'indices': 1")},
        "split.json",
        "not a valid split JSON",
    ),
    case("train: no validation", {"--split": None}, "--split", "--val-data"),
    case(
        "evaluate: split indices outside",
        {"--split": split_with(test=[58, 59, 60])},
        "bad-split.json",
        "60",
        "60 frames",
    ),
    case(
        "evaluate: split negative index",
        {"--split": split_with(test=[-1, 2])},
        "bad-split.json",
        "'test'",
        ">= 0",
    ),
    case("evaluate: subset absent", {"--subset": "holdout"}, "'holdout'"),
    case(
        "calibrate: val empty", {"--split": split_with(val=[])}, "bad-split.json", "'val'", "empty"
    ),
    case(
        "calibrate: split indices outside",
        {"--split": split_with(val=[0, 61])},
        "bad-split.json",
        "61",
    ),
    # ---- model files
    case("evaluate: model missing", {"--model": missing("absent.pt")}, "absent.pt"),
    case(
        "evaluate: model text",
        {"--model": text_file("text.pt", "not a model")},
        "text.pt",
        "not a direction-tagger model",
    ),
    case(
        "evaluate: model other architecture",
        {"--model": model_with({"architecture": "seed_cnn"})},
        "bad-model.pt",
        "'seed_cnn'",
    ),
    case(
        "evaluate: model arch kwargs differ",
        {"--model": model_with({"arch_kwargs": {"width": 16}})},
        "bad-model.pt",
        "width",
    ),
    case(
        "evaluate: model unknown architecture",
        {"--model": model_with({"architecture": "resnet"})},
        "bad-model.pt",
        "'resnet'",
    ),
    case(
        "evaluate: model without metadata",
        {"--model": model_with(drop="metadata")},
        "bad-model.pt",
        "metadata",
    ),
    case(
        "evaluate: model empty metadata",
        {"--model": model_with(state={})},
        "bad-model.pt",
        "'architecture'",
    ),
    case(
        "evaluate: model no train mean",
        {"--model": model_with({"train_mean_locs": None})},
        "bad-model.pt",
        "'train_mean_locs'",
    ),
    case(
        "calibrate: model truncated",
        {"--model": cut("model", 0.5)},
        "cut-model.pt",
        "not a direction-tagger model",
    ),
    case(
        "predict: model arch kwargs differ",
        {"--model": model_with({"arch_kwargs": {"width": 4}})},
        "bad-model.pt",
        "width",
    ),
    case(
        "predict: model unknown kwarg",
        {"--model": model_with({"arch_kwargs": {"depth": 4}})},
        "bad-model.pt",
        "depth",
    ),
    case(
        "predict: model empty file",
        {"--model": text_file("empty.pt", b"")},
        "empty.pt",
        "not a direction-tagger model",
    ),
    case(
        "predict: model metadata list",
        {"--model": model_with(state=[1, 2])},
        "bad-model.pt",
        "metadata",
    ),
    case("summary: model missing", {"--model": missing("absent.pt")}, "absent.pt"),
    case(
        "summary: model without metadata",
        {"--model": model_with(drop="metadata")},
        "bad-model.pt",
        "metadata",
    ),
    # ---- calibrations and QC references
    case(
        "evaluate: calibration other tta",
        {"--calibration": good_file("calibration")},
        "calibration.json",
        "TTA 2",
        "TTA 0",
    ),
    case(
        "evaluate: calibration not one",
        {"--calibration": good_file("metrics"), "--tta": 2},
        "metrics.json",
        "not a calibration",
    ),
    case(
        "smooth: calibration invalid",
        {"--calibration": text_file("cal.json", "{")},
        "cal.json",
        "not a valid calibration",
    ),
    case(
        "smooth: calibration other tta",
        {"--calibration": json_edited("calibration", tta=0)},
        "edited.json",
        "TTA 0",
    ),
    case(
        "smooth: reference not one",
        {"--reference": good_file("metrics")},
        "metrics.json",
        "not a geometry reference",
    ),
    case(
        "smooth: polyorder not below window",
        {"--polyorder": 7, "--window": 7},
        "polyorder 7",
        "window",
    ),
    # ---- prediction tables (CSV)
    case(
        "smooth: cut mid row", {"--predictions": csv_cut_mid_row()}, "cut-mid-row.csv", "cut short"
    ),
    case(
        "smooth: empty",
        {"--predictions": text_file("empty.csv", "")},
        "empty.csv",
        "not a readable CSV",
    ),
    case("smooth: header only", {"--predictions": header_only}, "head.csv", "no frames"),
    case(
        "smooth: missing column",
        {"--predictions": csv_edited(drop="head_x")},
        "edited.csv",
        "head_x",
    ),
    case(
        "smooth: text column",
        {"--predictions": csv_edited(replace={"neck_y": "up"})},
        "edited.csv",
        "'neck_y'",
        "is not a number",
    ),
    case(
        "smooth: binary",
        {"--predictions": text_file("binary.csv", bytes(range(256)) * 4)},
        "binary.csv",
    ),
    case("smooth: missing", {"--predictions": missing("absent.csv")}, "absent.csv", "not found"),
    case(
        "render: cut mid row", {"--predictions": csv_cut_mid_row()}, "cut-mid-row.csv", "cut short"
    ),
    # to-nwb reads its columns without pandas (movies/columns.py): the same checks
    case(
        "to-nwb: cut mid row", {"--predictions": csv_cut_mid_row()}, "cut-mid-row.csv", "cut short"
    ),
    case("to-nwb: header only", {"--predictions": header_only}, "head.csv", "no frames"),
    case(
        "to-nwb: no direction column",
        {"--predictions": csv_edited(drop="body_direction_deg")},
        "edited.csv",
        "body_direction_deg",
    ),
    case(
        "to-nwb: text column",
        {"--predictions": csv_edited(replace={"neck_y": "up"})},
        "edited.csv",
        "row 1, column 'neck_y'",
        "is not a number",
    ),
    case(
        "to-nwb: binary",
        {"--predictions": text_file("binary.csv", bytes(range(256)) * 4)},
        "binary.csv",
    ),
    # ... and the model's facts from its JSON record; torch only for a file without one
    case(
        "to-nwb: model not a zip",
        {"--model": text_file("model.pt", "not a model")},
        "model.pt",
        "not a direction-tagger model file",
    ),
    case(
        "to-nwb: model without the JSON record, metadata a list",
        {"--model": model_with(state=[1, 2])},
        "bad-model.pt",
        "metadata is a list",
    ),
    case(
        "movie-figures: cut mid row",
        {"--predictions": csv_cut_mid_row()},
        "cut-mid-row.csv",
        "cut short",
    ),
    # ---- run reports (JSON, CSV)
    case(
        "learning-curve: counts differ",
        {"--splits": lambda g, t: [subsample_split(g, t)] * 2},
        "2 --splits",
        "1 --metrics",
    ),
    case(
        "learning-curve: metrics lack key",
        {
            "--splits": lambda g, t: [subsample_split(g, t)],
            "--metrics": lambda g, t: [json_edited("metrics", keypoints=None)(g, t)],
        },
        "edited.json",
        "'keypoints'",
    ),
    case(
        "learning-curve: split not subsampled",
        {"--splits": lambda g, t: [g.split]},
        "split.json",
        "'count_requested'",
    ),
    case(
        "summary: train log missing",
        {"--train-log": missing("absent.csv")},
        "absent.csv",
        "not found",
    ),
    case("summary: train log not a log", {"--train-log": good_file("raw")}, "raw.csv", "'seconds'"),
    case(
        "summary: metrics lack key",
        {"--metrics": pair("test", json_edited("metrics", body_direction=None))},
        "edited.json",
        "'body_direction'",
    ),
    case(
        "summary: movie qc invalid",
        {"--movie-qc": pair("m", text_file("qc.json", "{nope"))},
        "qc.json",
        "not a valid",
    ),
    case(
        "summary: split not json",
        {"--split": text_file("split.json", "[")},
        "split.json",
        "not a valid",
    ),
    case("compare: evalset absent", {"--evalset": "holdout"}, "'evaluation.holdout'"),
    case(
        "compare: summary lacks evaluation",
        {"--summaries": pair("r", json_edited("summary", evaluation=None))},
        "edited.json",
        "'evaluation'",
    ),
    case(
        "compare: summary missing",
        {"--summaries": pair("r", missing("absent.json"))},
        "absent.json",
        "not found",
    ),
    # ---- downloads (local files and a local http server)
    case(
        "download: source missing", {"--source": missing("nowhere.npz")}, "nowhere.npz", "not found"
    ),
    case("download: source empty", {"--source": " "}, "source is empty"),
    case("download: pin not hex", {"--sha256": "abc"}, "'abc'", "64 hex digits"),
    case(
        "download: source html",
        {"--source": text_file("page.npz", "<html><title>Quota exceeded</title></html>")},
        "HTML page",
        "Quota exceeded",
    ),
    case("download: source truncated", {"--source": cut("labelled", 0.5)}, "cut-labelled.npz"),
    # the terminal shows the file's full sha256 (to pin it) and the pin's first digits
    case(
        "download: wrong pin local source",
        {"--sha256": ZERO_HEX},
        "does not match data.published.sha256",
        f"pinned {ZERO_HEX[:8]}...",
    ),
    case(
        "download: wrong pin good file in place",
        {"--out": missing("in-place.npz"), "--sha256": ZERO_HEX},
        "in-place.npz",
        "sha256",
        f"pinned {ZERO_HEX[:8]}...",
        "left in place",
        setup=good_file_at("in-place.npz"),
    ),
    case(
        "download: redirect loop", {"--source": lambda g, t: f"{g.url}/loop"}, "/loop", "redirects"
    ),
    case(
        "download: http 404",
        {"--source": lambda g, t: f"{g.url}/missing.npz"},
        "missing.npz",
        "HTTP 404",
    ),
    # ---- where outputs go: a full disk, no write permission, a folder in the way
    case("synth labelled: disk full", {}, "s.npz", "No space left on device", setup=savez_no_space),
    case("split: disk full", {}, "s.json", "No space left on device", setup=write_text_no_space),
    case(
        "smooth: disk full",
        {"--qc-json": missing("qc.json")},
        "qc.json",
        "No space left on device",
        setup=write_text_no_space,
    ),
    case(
        "download: disk full",
        {"--source": lambda g, t: f"{g.url}/good.npz"},
        "No space left on device",
        setup=no_space_in(transport, "open"),
    ),
    case(
        "synth labelled: read only",
        {"--out": inside("ro", "s.npz")},
        "s.npz",
        "Permission denied",
        setup=read_only("ro"),
    ),
    case(
        "download: read only",
        {"--out": inside("ro", "d.npz")},
        "Permission denied",
        setup=read_only("ro"),
    ),
    case(
        "train: read only",
        {"--out": inside("ro", "m.pt")},
        "m.pt",
        "Permission denied",
        setup=read_only("ro"),
    ),
    case(
        "render: read only",
        {"--out": inside("ro", "v.mp4")},
        "v.mp4",
        "Permission denied",
        setup=read_only("ro"),
    ),
    case(
        "qc-reference: read only",
        {"--out": inside("ro", "ref.json")},
        "ref.json",
        "Permission denied",
        setup=read_only("ro"),
    ),
    case(
        "synth labelled: no permission",
        {"--out": inside("locked", "s.npz")},
        "s.npz",
        "Permission denied",
        setup=no_permission,
    ),
    case(
        "train: no permission",
        {"--out": inside("locked", "m.pt")},
        "m.pt",
        "Permission denied",
        setup=no_permission,
    ),
    case(
        "render: no permission",
        {"--out": inside("locked", "v.mp4")},
        "v.mp4",
        "Permission denied",
        setup=no_permission,
    ),
    case(
        "qc-reference: no permission",
        {"--out": inside("locked", "ref.json")},
        "ref.json",
        "Permission denied",
        setup=no_permission,
    ),
    case(
        "synth labelled: out is a folder",
        {"--out": folder_named("folder.npz")},
        "folder.npz",
        "is a folder",
    ),
    case(
        "evaluate: metrics is a folder",
        {"--metrics": folder_named("e.json")},
        "e.json",
        "is a folder",
    ),
    case("predict: out is a folder", {"--out": folder_named("p.csv")}, "p.csv", "is a folder"),
    case(
        "movie-figures: outdir is a file",
        {"--outdir": text_file("figures", "x")},
        "figures",
        "expected a folder",
    ),
    case(
        "augment: montage index outside",
        {"--montage-index": 99, "--montage": missing("a.png")},
        "--montage-index 99",
        "60 originals",
    ),
]


def _state(path: Path):
    """What is at a path: None, a file's bytes, or a folder's listing."""
    if path.is_dir():
        return sorted(str(p.relative_to(path)) for p in path.rglob("*"))
    if path.exists():
        return path.read_bytes()
    return None


def _outputs(argv: list[str]) -> list[Path]:
    paths = []
    for flag, value in zip(argv, argv[1:]):
        if flag in OUTPUT_FLAGS:
            paths.append(Path(value))
    return paths


def _run(argv: list[str]) -> int:
    try:
        return cli.main(argv)
    except SystemExit as exit_:  # argparse
        return exit_.code


@pytest.mark.parametrize("command, changes, expected, setup", CATALOGUE)
def test_bad_input_is_one_line_and_writes_nothing(
    good, tmp_path, capsys, monkeypatch, command, changes, expected, setup
):
    if setup is not None:
        setup(good, tmp_path, monkeypatch)
    options = COMMANDS[command](good, tmp_path) | changes
    argv = build_argv(command, options, good, tmp_path)
    outputs = _outputs(argv)
    before = {p: _state(p) for p in outputs}
    listing = _state(tmp_path)
    capsys.readouterr()

    code = _run(argv)

    err = capsys.readouterr().err
    lines = [line for line in err.splitlines() if line.strip()]
    assert code == 2, err
    assert "Traceback" not in err, err
    if command == "download":
        # Its progress log precedes the error; a failed fetch says what to do in a few
        # indented lines under it (issue 30).
        first = next(i for i, line in enumerate(lines) if line.startswith("direction-tagger "))
        assert ": error: " in lines[first], err
        assert not any("error" in line.lower() for line in lines[:first]), err
        assert all(line.startswith("  ") for line in lines[first + 1 :]), err
        message = "\n".join(lines[first:])
    else:
        assert len(lines) == 1, err
        message = lines[0]
    assert message.startswith("direction-tagger ") and ": error: " in message, err
    for part in expected:
        assert part in message, f"{part!r} not in {message!r}"
    for path in outputs:
        assert _state(path) == before[path], f"{path} was written"
    # no temporary or partial file left behind, no file moved aside
    left = set(_state(tmp_path)) - set(listing)
    assert not [p for p in left if ".tmp-" in p or p.endswith(".part") or ".bad-" in p], left


def test_the_catalogue_is_large_and_its_names_unique():
    names = [param.id for param in CATALOGUE]
    assert len(names) == len(set(names)) and len(names) >= 120
    assert {param.values[0] for param in CATALOGUE} == set(COMMANDS)  # every command


def test_a_bug_shows_its_traceback_and_says_it_is_one(capsys, monkeypatch, tmp_path):
    from direction_tagger.commands import report

    def broken(args):
        raise ZeroDivisionError("something we never meant to happen")

    monkeypatch.setattr(report, "run_summary", broken)
    code = cli.main(
        ["summary", "--run", "r", "--model", "m", "--train-log", "l", "--out", "o", "--json", "j"]
    )
    err = capsys.readouterr().err
    assert code == 1
    assert "Traceback" in err and "ZeroDivisionError" in err
    last = err.strip().splitlines()[-1]
    assert last.startswith("direction-tagger summary: internal error (a bug")
    assert "report it" in last


@pytest.mark.parametrize("damage", ["truncated", "empty", "foreign"])
def test_a_damaged_checkpoint_is_set_aside_and_training_starts_over(good, tmp_path, capsys, damage):
    """Not a failure: the damaged file is kept as *.damaged, for a look, and training goes on."""
    checkpoint = good.model.with_suffix(".ckpt").read_bytes()
    content = {
        "truncated": checkpoint[: len(checkpoint) // 2],
        "empty": b"",
        "foreign": good.labelled.read_bytes(),
    }[damage]
    (tmp_path / "m.ckpt").write_bytes(content)
    argv = build_argv("train", COMMANDS["train"](good, tmp_path), good, tmp_path)
    assert cli.main(argv) == 0
    assert (tmp_path / "m.ckpt.damaged").read_bytes() == content
    assert "damaged checkpoint" in capsys.readouterr().out
    assert (tmp_path / "m.pt").exists()


# --------------------------------------------------------------------------- outputs vs inputs


def _own_copies(options: dict, folder: Path) -> dict:
    """The command's options with every input file replaced by a copy of its own (the case
    may destroy it if the rule breaks; the module's good files must survive)."""
    folder.mkdir()
    copied = {}
    for flag, value in options.items():
        if isinstance(value, Path) and value.is_file() and flag not in OUTPUT_FLAGS:
            copied[flag] = folder / f"{flag.strip('-')}{value.suffix}"
            shutil.copyfile(value, copied[flag])
    return options | copied


@pytest.mark.parametrize("command", sorted(COMMANDS))
@pytest.mark.parametrize("spelling", ["same", "dotted", "symlink"])
def test_no_output_is_an_input(good, tmp_path, capsys, command, spelling):
    """Every command given one of its inputs as an output refuses before reading anything,
    naming both, and the input is byte-identical (issue #23: six commands overwrote theirs)."""
    options = _own_copies(COMMANDS[command](good, tmp_path), tmp_path / "in")
    inputs = [f for f, v in options.items() if isinstance(v, Path) and v.is_file()]
    # a list-valued flag (summary's --metrics NAME=PATH ...) is an input there
    outputs = [f for f, v in options.items() if f in OUTPUT_FLAGS and isinstance(v, Path)]
    outputs = [f for f in outputs if f not in inputs]
    if not inputs:
        pytest.skip(f"{command} reads no file")
    target = options[inputs[0]]
    given = {
        "same": target,
        "dotted": Path(f"{target.parent}/./{target.name}"),
        "symlink": tmp_path / "link",
    }[spelling]
    if spelling == "symlink":
        given.symlink_to(target)
    before = target.read_bytes()
    capsys.readouterr()
    code = _run(build_argv(command, options | {outputs[0]: given}, good, tmp_path))
    err = capsys.readouterr().err.strip().splitlines()
    assert code == 2, err
    assert "is also an input" in err[-1] and str(target.name) in err[-1], err
    assert target.read_bytes() == before


@pytest.mark.parametrize("command", sorted(COMMANDS))
def test_two_outputs_are_never_one_file(good, tmp_path, capsys, command):
    options = COMMANDS[command](good, tmp_path)
    outputs = [f for f, v in options.items() if f in OUTPUT_FLAGS and isinstance(v, Path)]
    if len(outputs) < 2:
        pytest.skip(f"{command} writes one file")
    code = _run(build_argv(command, options | {outputs[1]: options[outputs[0]]}, good, tmp_path))
    err = capsys.readouterr().err.strip().splitlines()
    assert code == 2 and "given for two outputs" in err[-1], err
    assert not options[outputs[0]].exists()
