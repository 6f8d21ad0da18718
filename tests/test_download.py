"""Download: real HTTP on 127.0.0.1 (never the internet), with a server that misbehaves on cue.

Every failure must end in one line naming the file (or URL) and the problem, leave nothing bad
at the final path, and never replace a good file already there.
"""

from __future__ import annotations

import errno
import hashlib
import io as stdio
import socket
import threading
import time
import urllib.parse
import zipfile
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import numpy as np
import pytest

from direction_tagger import cli
from direction_tagger.data.archive import classify_zip, extract_members
from direction_tagger.data.download import LABELLED_NAME, MOVIE_NAME, fetch, read_sidecar
from direction_tagger.data.transport import (
    DRIVE_BASE_ENV,
    network_failure,
    parse_source,
    served_filename,
)
from direction_tagger.io import DataError, load_labelled, save_labelled, save_movie

FAST = dict(retries=3, backoff=0.001, timeout=5.0)  # tiny backoff: tests take milliseconds
DRIVE_ID = "1XdjzcHqCB6wxBliPySgaPZMPE6LqZoVZ"


# --------------------------------------------------------------------------- test data


def labelled_bytes(tmp_path: Path, n: int = 12, seed: int = 0) -> bytes:
    rng = np.random.default_rng(seed)
    images = rng.integers(0, 256, (n, 50, 50), dtype=np.uint8)
    locs = rng.uniform(5, 45, (n, 3, 2)).astype(np.float32)
    path = tmp_path / f"src-{seed}.npz"
    save_labelled(path, images, locs)
    return path.read_bytes()


def movie_bytes(tmp_path: Path, n: int = 8) -> bytes:
    path = tmp_path / "src-movie.npz"
    save_movie(path, np.zeros((n, 50, 50), np.uint8), fps=25)
    return path.read_bytes()


def zip_bytes(members: dict[str, bytes]) -> bytes:
    buf = stdio.BytesIO()
    with zipfile.ZipFile(buf, "w") as zf:
        for name, data in members.items():
            zf.writestr(name, data)
    return buf.getvalue()


def sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def one_line(err: pytest.ExceptionInfo) -> str:
    text = str(err.value)
    assert "\n" not in text, text
    return text


# --------------------------------------------------------------------------- the server


@dataclass
class Route:
    body: bytes
    status: int = 200
    content_type: str = "application/octet-stream"
    ranges: bool = True  # honour Range with 206
    drop_after: list[int] = field(default_factory=list)  # close mid-body, once per entry
    always_drop: int | None = None  # close mid-body every time
    filename: str | None = None  # Content-Disposition


class Handler(BaseHTTPRequestHandler):
    def log_message(self, *args):  # keep pytest output clean
        pass

    def do_GET(self):
        srv: Server = self.server.owner
        parts = urllib.parse.urlsplit(self.path)
        query = dict(urllib.parse.parse_qsl(parts.query))
        srv.requests.append((parts.path, query, self.headers.get("Range")))
        if parts.path == "/uc":  # Drive: large files get a confirmation page
            return self._drive_uc(srv, query)
        if parts.path == "/download":
            if query.get("confirm") != "t" or query.get("id") not in srv.drive:
                return self._page(srv.confirmation_page(query.get("id", "")))
            return self._serve(srv.drive[query["id"]])
        route = srv.routes.get(parts.path)
        if route is None:
            return self._page("<!DOCTYPE html><html><title>Not Found</title></html>", 404)
        return self._serve(route)

    def _drive_uc(self, srv, query):
        file_id = query.get("id", "")
        if file_id == "quota":
            return self._page(
                '<html><body><p class="uc-error-subcaption">Too many users have '
                "viewed or downloaded this file recently.</p></body></html>"
            )
        if file_id not in srv.drive:
            return self._page("<!DOCTYPE html><html><title>Not Found</title></html>", 404)
        return self._page(srv.confirmation_page(file_id))

    def _page(self, html: str, status: int = 200):
        data = html.encode()
        self.send_response(status)
        self.send_header("Content-Type", "text/html; charset=utf-8")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def _serve(self, route: Route):
        body, start = route.body, 0
        rng = self.headers.get("Range")
        if route.status != 200:
            self.send_response(route.status)
            self.send_header("Content-Length", str(len(body)))
            self.send_header("Content-Type", route.content_type)
            self.end_headers()
            self.wfile.write(body)
            return
        if rng and route.ranges:
            start = int(rng.removeprefix("bytes=").split("-")[0])
            self.send_response(206)
            self.send_header("Content-Range", f"bytes {start}-{len(body) - 1}/{len(body)}")
        else:
            self.send_response(200)
        self.send_header("Content-Type", route.content_type)
        self.send_header("Content-Length", str(len(body) - start))
        self.send_header("ETag", f'"{sha(body)[:16]}"')
        if route.filename:
            self.send_header("Content-Disposition", f'attachment; filename="{route.filename}"')
        self.end_headers()
        stop = len(body)
        if route.drop_after:
            stop = route.drop_after.pop(0)
        elif route.always_drop is not None:
            stop = start + route.always_drop
        self.wfile.write(body[start : max(start, stop)])
        if stop < len(body):
            self.wfile.flush()
            self.close_connection = True  # the client sees fewer bytes than announced


class Server:
    def __init__(self):
        self.routes: dict[str, Route] = {}
        self.drive: dict[str, Route] = {}  # Drive file id -> its bytes
        self.requests: list[tuple[str, dict, str | None]] = []
        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.httpd.owner = self
        self.base = f"http://127.0.0.1:{self.httpd.server_address[1]}"
        self.thread = threading.Thread(target=self.httpd.serve_forever, args=(0.05,), daemon=True)
        self.thread.start()

    def url(self, path: str) -> str:
        return self.base + path

    def confirmation_page(self, file_id: str) -> str:
        # Drive's "can't scan this file for viruses" page: a form on one line, as served.
        return (
            "<!DOCTYPE html><html><head><title>Google Drive - Virus scan warning</title></head>"
            "<body>\n"
            f'<form id="download-form" action="{self.base}/download" method="get">'
            f'<input type="submit" value="Download anyway"/>'
            f'<input type="hidden" name="id" value="{file_id}">'
            '<input type="hidden" name="export" value="download">'
            '<input type="hidden" name="confirm" value="t">'
            '<input type="hidden" name="uuid" value="0a1b2c3d"></form>\n'
            "</body></html>"
        )

    def close(self):
        self.httpd.shutdown()
        self.httpd.server_close()


@pytest.fixture
def server(monkeypatch):
    for var in ("HTTP_PROXY", "HTTPS_PROXY", "http_proxy", "https_proxy", "ALL_PROXY", "all_proxy"):
        monkeypatch.delenv(var, raising=False)
    monkeypatch.setenv("NO_PROXY", "127.0.0.1,localhost")
    srv = Server()
    monkeypatch.setenv(DRIVE_BASE_ENV, srv.base)
    yield srv
    srv.close()


@pytest.fixture
def data_dir(tmp_path, monkeypatch):
    """A fresh working directory with an empty tagged_dataset/ (the default local folder)."""
    work = tmp_path / "work"
    (work / "tagged_dataset").mkdir(parents=True)
    monkeypatch.chdir(work)
    return work / "tagged_dataset"


def bad_files(folder: Path) -> list[Path]:
    return sorted(folder.rglob("*.bad-*"))


# --------------------------------------------------------------------------- sources


@pytest.mark.parametrize(
    "text, kind, value",
    [
        (f"https://drive.google.com/file/d/{DRIVE_ID}/view", "drive", DRIVE_ID),
        (f"https://drive.google.com/file/d/{DRIVE_ID}/view?usp=sharing", "drive", DRIVE_ID),
        (f"https://drive.google.com/open?id={DRIVE_ID}", "drive", DRIVE_ID),
        (f"https://drive.google.com/uc?id={DRIVE_ID}&export=download", "drive", DRIVE_ID),
        (DRIVE_ID, "drive", DRIVE_ID),
        (
            "https://zenodo.org/records/1/files/x.npz",
            "http",
            "https://zenodo.org/records/1/files/x.npz",
        ),
        ("tagged_dataset/x.npz", "local", "tagged_dataset/x.npz"),
    ],
)
def test_parse_source(text, kind, value):
    src = parse_source(text)
    assert (src.kind, src.value) == (kind, value)


# --------------------------------------------------------------------------- happy paths


def test_plain_download_records_and_prints_the_hash(server, data_dir, tmp_path):
    body = labelled_bytes(tmp_path)
    server.routes["/set.npz"] = Route(body)
    dest = data_dir / LABELLED_NAME
    messages = []
    fetch(server.url("/set.npz"), dest, log=messages.append, **FAST)
    assert dest.read_bytes() == body
    assert read_sidecar(dest) == {LABELLED_NAME: sha(body)}
    assert any(
        sha(body) in m and "under `data: published:`" in m for m in messages
    )  # how to pin it
    assert load_labelled(dest).images.shape == (12, 50, 50)
    assert not list(data_dir.rglob("*.part")) and not bad_files(data_dir)


def test_pinned_download_then_in_place_without_network(server, data_dir, tmp_path):
    body = labelled_bytes(tmp_path)
    server.routes["/set.npz"] = Route(body)
    dest = data_dir / LABELLED_NAME
    fetch(server.url("/set.npz"), dest, sha(body), log=lambda m: None, **FAST)
    n = len(server.requests)
    fetch(server.url("/set.npz"), dest, sha(body), log=lambda m: None, **FAST)
    assert len(server.requests) == n  # the file in place was checked, not downloaded again


def test_drive_confirmation_page_is_followed(server, data_dir, tmp_path):
    body = zip_bytes(
        {
            f"data/{LABELLED_NAME}": labelled_bytes(tmp_path),
            f"data/{MOVIE_NAME}": movie_bytes(tmp_path),
        }
    )
    server.drive[DRIVE_ID] = Route(body, filename="tagged_dataset.zip")
    link = f"https://drive.google.com/file/d/{DRIVE_ID}/view?usp=sharing"
    labelled = fetch(link, data_dir / LABELLED_NAME, sha(body), log=lambda m: None, **FAST)
    paths = [p for p, _, _ in server.requests]
    assert paths[:2] == ["/uc", "/download"] and server.requests[1][1]["confirm"] == "t"
    assert load_labelled(labelled).images.shape == (12, 50, 50)
    # The movie comes out of the same kept archive: no second download.
    n = len(server.requests)
    movie = fetch(link, data_dir / MOVIE_NAME, sha(body), log=lambda m: None, **FAST)
    assert len(server.requests) == n
    assert movie.read_bytes() == movie_bytes(tmp_path)
    # Re-running finds the extracted member in place and accepts it under the archive's pin.
    fetch(link, data_dir / LABELLED_NAME, sha(body), log=lambda m: None, **FAST)
    assert len(server.requests) == n


def test_drive_download_through_the_cli(server, data_dir, tmp_path, capsys):
    body = labelled_bytes(tmp_path)
    server.drive[DRIVE_ID] = Route(body, filename=LABELLED_NAME)
    out = data_dir / LABELLED_NAME
    rc = cli.main(
        [
            "download",
            "--source",
            f"https://drive.google.com/open?id={DRIVE_ID}",
            "--out",
            str(out),
            "--backoff",
            "0.001",
        ]
    )
    assert rc == 0 and out.read_bytes() == body
    assert sha(body) in capsys.readouterr().err


def test_the_other_published_file_is_not_stored_under_this_name(server, data_dir, tmp_path):
    server.drive[DRIVE_ID] = Route(labelled_bytes(tmp_path), filename=LABELLED_NAME)
    dest = data_dir / MOVIE_NAME
    with pytest.raises(DataError) as err:
        fetch(DRIVE_ID, dest, log=lambda m: None, **FAST)
    assert f"serves the single file '{LABELLED_NAME}', not '{MOVIE_NAME}'" in one_line(err)
    assert not dest.exists()
    # ... and that download is kept: the labelled set comes from it without the network.
    n = len(server.requests)
    fetch(DRIVE_ID, data_dir / LABELLED_NAME, log=lambda m: None, **FAST)
    assert len(server.requests) == n and load_labelled(data_dir / LABELLED_NAME)


@pytest.mark.parametrize(
    "header, url, name",
    [
        ('attachment; filename="rat.zip"', None, "rat.zip"),
        ("attachment; filename*=UTF-8''r%C3%A4t.npz", None, "r\u00e4t.npz"),
        ('attachment; filename="../../etc/passwd"', None, "passwd"),
        (None, "https://zenodo.org/records/1/files/set.npz?download=1", "set.npz"),
        (None, "https://drive.usercontent.google.com/download", None),
    ],
)
def test_served_filename(header, url, name):
    assert served_filename(header, url) == name


def test_dropped_connection_resumes_with_range(server, data_dir, tmp_path):
    body = labelled_bytes(tmp_path)
    server.routes["/set.npz"] = Route(body, drop_after=[10_000])
    dest = data_dir / LABELLED_NAME
    fetch(server.url("/set.npz"), dest, sha(body), log=lambda m: None, **FAST)
    assert dest.read_bytes() == body
    assert [r for _, _, r in server.requests] == [None, "bytes=10000-"]


def test_dropped_connection_restarts_when_range_is_ignored(server, data_dir, tmp_path):
    body = labelled_bytes(tmp_path)
    server.routes["/set.npz"] = Route(body, ranges=False, drop_after=[10_000, 20_000])
    dest = data_dir / LABELLED_NAME
    messages = []
    fetch(server.url("/set.npz"), dest, sha(body), log=messages.append, **FAST)
    assert dest.read_bytes() == body
    assert len(server.requests) == 3
    assert any("restarting" in m for m in messages)


def test_user_file_in_tagged_dataset_is_used_without_network(data_dir, tmp_path):
    body = labelled_bytes(tmp_path)
    (data_dir / LABELLED_NAME).write_bytes(body)
    messages = []
    # The source is unreachable (nothing listens on port 9): only the local file can serve.
    out = fetch("http://127.0.0.1:9/set.npz", data_dir / LABELLED_NAME, log=messages.append, **FAST)
    assert out.read_bytes() == body
    assert read_sidecar(out) == {LABELLED_NAME: sha(body)}  # still checksummed
    assert any(sha(body) in m for m in messages)


def test_user_archive_in_tagged_dataset_is_extracted_without_network(data_dir, tmp_path):
    archive = zip_bytes(
        {LABELLED_NAME: labelled_bytes(tmp_path), MOVIE_NAME: movie_bytes(tmp_path)}
    )
    (data_dir / "downloaded.zip").write_bytes(archive)
    results = data_dir.parent / "results" / "data"
    out = fetch(
        "http://127.0.0.1:9/x", results / MOVIE_NAME, sha(archive), log=lambda m: None, **FAST
    )
    assert out.read_bytes() == movie_bytes(tmp_path)


def test_local_path_source(data_dir, tmp_path):
    body = labelled_bytes(tmp_path)
    src = tmp_path / "elsewhere.npz"
    src.write_bytes(body)
    out = fetch(str(src), data_dir / "mine.npz", sha(body), log=lambda m: None, **FAST)
    assert out.read_bytes() == body and src.exists()


# --------------------------------------------------------------------------- failures


def test_404_is_one_line_and_leaves_nothing(server, data_dir):
    dest = data_dir / LABELLED_NAME
    with pytest.raises(DataError) as err:
        fetch(server.url("/missing.npz"), dest, log=lambda m: None, **FAST)
    assert "/missing.npz: HTTP 404" in one_line(err)
    assert not dest.exists()
    assert len(server.requests) == 1  # a 404 is not retried


def test_html_page_instead_of_data(server, data_dir):
    server.routes["/set.npz"] = Route(
        b"<!DOCTYPE html>\n<html><head><title>Quota exceeded</title></head></html>",
        content_type="text/html",
    )
    dest = data_dir / LABELLED_NAME
    with pytest.raises(DataError) as err:
        fetch(server.url("/set.npz"), dest, log=lambda m: None, **FAST)
    msg = one_line(err)
    assert "HTML page ('Quota exceeded')" in msg and "moved aside" in msg
    assert not dest.exists() and len(bad_files(data_dir)) == 1


def test_drive_quota_page(server, data_dir):
    with pytest.raises(DataError) as err:
        fetch(
            "https://drive.google.com/uc?id=quota", data_dir / "x.npz", log=lambda m: None, **FAST
        )
    assert "Google Drive file quota: Too many users" in one_line(err)


def test_truncated_file(server, data_dir, tmp_path):
    body = labelled_bytes(tmp_path)
    server.routes["/set.npz"] = Route(body[: len(body) // 2])  # served whole, but cut short
    dest = data_dir / LABELLED_NAME
    with pytest.raises(DataError) as err:
        fetch(server.url("/set.npz"), dest, log=lambda m: None, **FAST)
    assert "truncated or damaged" in one_line(err)
    assert not dest.exists() and len(bad_files(data_dir)) == 1


def test_connection_that_always_drops_gives_up(server, data_dir, tmp_path):
    server.routes["/set.npz"] = Route(labelled_bytes(tmp_path), ranges=False, always_drop=5_000)
    dest = data_dir / LABELLED_NAME
    with pytest.raises(DataError) as err:
        fetch(server.url("/set.npz"), dest, log=lambda m: None, **FAST)
    msg = one_line(err)
    assert "/set.npz: download failed after 4 attempts" in msg and "5000 of" in msg
    assert not dest.exists()


def test_checksum_mismatch_is_moved_aside(server, data_dir, tmp_path):
    body = labelled_bytes(tmp_path)
    server.routes["/set.npz"] = Route(body)
    dest = data_dir / LABELLED_NAME
    wrong = "0" * 64
    with pytest.raises(DataError) as err:
        fetch(server.url("/set.npz"), dest, wrong, log=lambda m: None, **FAST)
    msg = one_line(err)
    assert f"expected {wrong}, actual {sha(body)}" in msg
    assert not dest.exists()
    [aside] = bad_files(data_dir)
    assert aside.name.endswith(f".bad-{sha(body)[:8]}") and aside.read_bytes() == body


@pytest.mark.parametrize("bad", ["html", "mismatch", "truncated"])
def test_good_file_in_place_is_never_overwritten(server, data_dir, tmp_path, bad):
    good = labelled_bytes(tmp_path, seed=1)
    other = labelled_bytes(tmp_path, seed=2)
    served = {
        "html": b"<html><title>Error</title></html>",
        "mismatch": other,
        "truncated": good[:5000],
    }[bad]
    server.routes["/set.npz"] = Route(served)
    dest = data_dir / LABELLED_NAME
    dest.write_bytes(good)
    with pytest.raises(DataError):
        fetch(server.url("/set.npz"), dest, sha(good), force=True, log=lambda m: None, **FAST)
    assert dest.read_bytes() == good


def test_pinned_file_in_place_that_does_not_match(data_dir, tmp_path):
    body = labelled_bytes(tmp_path)
    dest = data_dir / LABELLED_NAME
    dest.write_bytes(body)
    with pytest.raises(DataError) as err:
        fetch("http://127.0.0.1:9/x", dest, "f" * 64, log=lambda m: None, **FAST)
    msg = one_line(err)
    assert str(dest) in msg and f"actual {sha(body)}" in msg and "left in place" in msg
    # The pin may be the mistake: the file stays at its final path, nothing is moved aside.
    assert dest.read_bytes() == body and not bad_files(data_dir)


def test_archive_without_the_expected_members(server, data_dir):
    body = zip_bytes({"notes/readme.txt": b"hello", "other.npz": b"x"})
    server.routes["/data.zip"] = Route(body)
    dest = data_dir / LABELLED_NAME
    with pytest.raises(DataError) as err:
        fetch(server.url("/data.zip"), dest, log=lambda m: None, **FAST)
    msg = one_line(err)
    assert f"no member '{LABELLED_NAME}'" in msg and "notes/readme.txt, other.npz" in msg
    assert not dest.exists()


def test_zip_holding_neither_npz_nor_npy(tmp_path):
    path = tmp_path / "odd.zip"
    path.write_bytes(zip_bytes({"a.txt": b"1", "b.csv": b"2"}))
    with pytest.raises(DataError) as err:
        classify_zip(path)
    assert (
        f"{path}: zip holds neither .npz files nor .npy arrays; it holds: a.txt, b.csv"
        == one_line(err)
    )


def test_extract_members_from_a_subfolder(tmp_path):
    path = tmp_path / "a.zip"
    labelled, movie = labelled_bytes(tmp_path), movie_bytes(tmp_path)
    path.write_bytes(
        zip_bytes(
            {
                f"x/y/{LABELLED_NAME}": labelled,
                f"x/{MOVIE_NAME}": movie,
                f"__MACOSX/x/._{MOVIE_NAME}": b"junk",
            }
        )
    )
    out = extract_members(path, {LABELLED_NAME: tmp_path / "l.npz", MOVIE_NAME: tmp_path / "m.npz"})
    assert out[LABELLED_NAME].read_bytes() == labelled and out[MOVIE_NAME].read_bytes() == movie
    assert classify_zip(out[LABELLED_NAME]) == "npz"


# --------------------------------------------------------------------------- what the user is told
# The download is the first command a new user runs, often where Google Drive cannot be reached
# (a cluster's compute node): a failure says so at once, in plain words, with what to do.

PUBLISHED_LINK = f"https://drive.google.com/file/d/{DRIVE_ID}/view"
PREFIX = "direction-tagger download: error: "


@pytest.fixture
def lookups(monkeypatch):
    """Every host name looked up (one per connection attempt); Google's names and names under
    `.invalid` fail as they do on a machine without DNS (so nothing here reaches the internet)."""
    calls = []
    real = socket.getaddrinfo

    def getaddrinfo(host, *args, **kwargs):
        calls.append(host)
        if str(host).endswith((".invalid", ".google.com")):
            raise socket.gaierror(socket.EAI_NONAME, "Name or service not known")
        return real(host, *args, **kwargs)

    monkeypatch.setattr(socket, "getaddrinfo", getaddrinfo)
    return calls


def closed_port() -> int:
    """A port on 127.0.0.1 where nothing listens (bound, then let go)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def download(capsys, source: str, out: str, *options: str) -> tuple[list[str], float]:
    """Run `direction-tagger download` with the user's defaults; the error's lines, seconds."""
    capsys.readouterr()
    start = time.monotonic()
    rc = cli.main(["download", "--source", source, "--out", out, *options])
    seconds = time.monotonic() - start
    err = capsys.readouterr().err.splitlines()
    assert rc == 2, err
    first = next(i for i, line in enumerate(err) if line.startswith(PREFIX))
    return err[first:], seconds


def assert_says_what_to_do(lines: list[str], out: str, link: str = PUBLISHED_LINK) -> None:
    text = "\n".join(lines)
    assert len(lines) <= 8 and all(len(line) <= 100 for line in lines), text
    assert "Traceback" not in text and "HTTPConnectionPool" not in text, text
    for part in (
        link,  # the file by hand
        out,  # exactly where it goes
        "sha256 is then recorded",
        "data.published.sha256",
        "data.published.url also takes a mirror URL or a local path",
        "login node",
        "bash scripts/demo.sh",
    ):
        assert part in text, f"{part!r} not in\n{text}"


@pytest.mark.parametrize("name", [LABELLED_NAME, MOVIE_NAME])
def test_no_name_resolution_fails_at_once_saying_what_to_do(
    server, data_dir, lookups, capsys, monkeypatch, name
):
    monkeypatch.delenv(DRIVE_BASE_ENV)  # the real Drive, whose name does not resolve here
    out = f"tagged_dataset/{name}"
    lines, seconds = download(capsys, PUBLISHED_LINK, out)
    assert lines[0] == PREFIX + "cannot reach drive.google.com: the host name does not resolve"
    assert lines[1] == "  (no network or no DNS on this machine; not retried)"
    assert_says_what_to_do(lines, out)
    assert lookups.count("drive.google.com") == 1  # not retried
    assert seconds < 10  # target 2 s; a retry would take 1 + 2 + ... = 31 s
    assert not (data_dir / name).exists() and not bad_files(data_dir)
    if name == MOVIE_NAME:  # the README shows this message: it must be the real one
        readme = (Path(__file__).parents[1] / "README.md").read_text()
        assert "\n".join(lines) in readme


def test_a_host_under_invalid_does_not_resolve_either(server, data_dir, lookups, capsys):
    # An http(s) mirror whose name does not resolve, e.g. a typo in data.published.url.
    out = f"tagged_dataset/{LABELLED_NAME}"
    lines, _ = download(capsys, "https://mirror.invalid/rats.npz", out)
    assert lines[0] == PREFIX + "cannot reach mirror.invalid: the host name does not resolve"
    assert_says_what_to_do(lines, out, link="https://mirror.invalid/rats.npz")
    assert lookups.count("mirror.invalid") == 1


def test_refused_connection_fails_at_once(server, data_dir, lookups, capsys):
    port = closed_port()
    source = f"http://127.0.0.1:{port}/set.npz"
    lines, seconds = download(capsys, source, f"tagged_dataset/{LABELLED_NAME}")
    assert lines[0] == PREFIX + f"cannot reach 127.0.0.1:{port}: connection refused"
    assert lines[1] == "  (nothing listens there, or a firewall rejects it; not retried)"
    assert_says_what_to_do(lines, f"tagged_dataset/{LABELLED_NAME}", link=source)
    assert lookups.count("127.0.0.1") == 1 and seconds < 10


def wrapped(cause: BaseException):
    """A failure as requests raises it: its ConnectionError over urllib3's, over the cause."""
    import requests
    import urllib3

    try:
        try:
            raise cause
        except BaseException as err:
            raise urllib3.exceptions.NewConnectionError(None, "failed") from err
    except urllib3.exceptions.HTTPError as err:
        return requests.exceptions.ConnectionError(err)


@pytest.mark.parametrize(
    "cause, reason, retried",
    [
        (socket.gaierror(-3, "Temporary failure in name resolution"), "does not resolve", False),
        (ConnectionRefusedError(111, "Connection refused"), "connection refused", False),
        (OSError(errno.ENETUNREACH, "Network is unreachable"), "no route", False),
        (OSError(errno.EHOSTUNREACH, "No route to host"), "no route", False),
        (ConnectionResetError(104, "Connection reset by peer"), "reset the connection", True),
        (TimeoutError("timed out"), "failed", True),
    ],
)
def test_which_network_failures_are_retried(cause, reason, retried):
    said, permanent = network_failure(wrapped(cause), "https://example.org/x.npz")
    assert reason in said and (permanent is None) == retried


def test_proxy_tls_and_timeout_errors_from_requests():
    import requests

    url = "https://example.org/x.npz"
    said, permanent = network_failure(requests.exceptions.ProxyError("x"), url)
    assert "proxy" in said and "HTTPS_PROXY" in permanent
    said, permanent = network_failure(requests.exceptions.SSLError("x"), url)
    assert "TLS/SSL" in said and permanent
    said, permanent = network_failure(requests.exceptions.ConnectTimeout("x"), url)
    assert said == "example.org did not answer in time" and permanent is None


def test_a_server_that_never_answers_is_retried(server, data_dir, lookups, capsys):
    with socket.socket() as silent:  # accepts connections (the backlog), never answers
        silent.bind(("127.0.0.1", 0))
        silent.listen(8)
        source = f"http://127.0.0.1:{silent.getsockname()[1]}/set.npz"
        options = ("--timeout", "0.2", "--retries", "1", "--backoff", "0")
        lines, _ = download(capsys, source, f"tagged_dataset/{LABELLED_NAME}", *options)
    assert lines[0].endswith("did not answer in time") and "(tried 2 times" in lines[1], lines
    assert lookups.count("127.0.0.1") == 2


@pytest.mark.parametrize(
    "route, drive_id, summary",
    [
        (None, None, "has no such file (HTTP 404 Not Found)"),
        (Route(b"denied", status=403), None, "refuses access to the file (HTTP 403 Forbidden)"),
        (None, "quota", "Google Drive quota: too many users downloaded this file recently"),
    ],
    ids=["404", "403", "drive-quota"],
)
def test_permanent_answers_are_not_retried(server, data_dir, capsys, route, drive_id, summary):
    if route is not None:
        server.routes["/set.npz"] = route
    source, link = server.url("/set.npz"), server.url("/set.npz")
    if drive_id is not None:
        source, link = f"https://drive.google.com/uc?id={drive_id}", drive_id
    out = f"tagged_dataset/{MOVIE_NAME}"
    lines, seconds = download(capsys, source, out)
    assert lines[0].startswith(PREFIX) and lines[0].endswith(summary), lines[0]
    assert "not retried" in lines[1]
    assert_says_what_to_do(lines, out, link=link)
    assert len(server.requests) == 1 and seconds < 10


@pytest.mark.parametrize(
    "route, summary",
    [
        (
            Route(b"x" * 20_000, ranges=False, always_drop=5_000),
            "broke off after 5000 of 20000 bytes",
        ),
        (Route(b"busy", status=503), "is busy or failing (HTTP 503 Service Unavailable)"),
        (Route(b"slow down", status=429), "is busy or failing (HTTP 429 Too Many Requests)"),
    ],
    ids=["truncated-body", "503", "429"],
)
def test_transient_failures_are_retried_then_say_what_to_do(
    server, data_dir, capsys, route, summary
):
    server.routes["/set.npz"] = route
    out = f"tagged_dataset/{LABELLED_NAME}"
    lines, _ = download(capsys, server.url("/set.npz"), out, "--retries", "2", "--backoff", "0")
    assert summary in lines[0] and lines[1].startswith("  (tried 3 times in "), lines
    assert_says_what_to_do(lines, out, link=server.url("/set.npz"))
    assert len(server.requests) == 3


@pytest.mark.parametrize(
    "content, problem",
    [
        (b"<html><head><title>Sign in</title></head></html>", "is an HTML page ('Sign in')"),
        (b"PK\x03\x04 cut short", "is truncated or damaged"),
    ],
    ids=["html", "truncated"],
)
def test_bad_file_in_place_is_moved_aside_saying_where(server, data_dir, capsys, content, problem):
    (data_dir / MOVIE_NAME).write_bytes(content)
    out = f"tagged_dataset/{MOVIE_NAME}"
    lines, _ = download(capsys, server.url("/set.npz"), out)
    [aside] = bad_files(data_dir)
    assert lines[0].startswith(PREFIX + "the file in place " + problem), lines[0]
    assert lines[1] == f"  moved aside to tagged_dataset/{aside.name}"
    assert aside.read_bytes() == content and not (data_dir / MOVIE_NAME).exists()
    assert_says_what_to_do(lines, out, link=server.url("/set.npz"))
    assert server.requests == []  # what to do next is the user's choice, said in the message
