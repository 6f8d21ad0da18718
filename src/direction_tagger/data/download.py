"""Fetch the published dataset (or any copy of it) so that nothing bad reaches `dest`.

Sources: a Google Drive file id or share link, an http(s) URL, or a local path. A file the
user already put at `dest` (or into `tagged_dataset/`, as the original instructions say) is
used without any network, but still checksummed.

Every byte goes to a temporary name first (`<name>.part`); the file is renamed onto its final
name only after it passed, in this order: not an HTML page, a complete zip (`.npz` files and
archives are both zips), and the pinned sha256. A file that fails is moved aside to
`<name>.bad-<first 8 hex of its sha256>`, never to the final path, so a good file already in
place is never overwritten by a bad one. With nothing pinned, the hash is written beside the
data (`<name>.sha256`, `sha256sum` format) and printed with how to pin it.

Whether the published download is one `.npz` or an archive holding both `.npz` files is
decided by content: an `.npz` is a zip of `.npy` members, an archive holds `.npz` members.

Google Drive: `gdown` keeps up with Drive's confirmation page ("can't scan this file for
viruses"), so its parser `get_url_from_gdrive_confirmation` and link parser `parse_url` are
used; the transfer itself is ours, because it must restart when a server ignores `Range` and
its backoff must be tunable (gdown raises on an ignored range and sleeps up to 2**n s).
`drive_base_url` (or the environment variable `DIRECTION_TAGGER_DRIVE_BASE_URL`) replaces
`https://drive.google.com` only so that tests can emulate Drive on 127.0.0.1.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import re
import shutil
import sys
import time
import urllib.parse
import zipfile
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

from ..io import DataError, atomic_path, sha256_file

DRIVE_BASE_URL = "https://drive.google.com"
DRIVE_BASE_ENV = "DIRECTION_TAGGER_DRIVE_BASE_URL"  # tests only: emulate Drive locally
DATA_DIR = Path("tagged_dataset")  # where the original instructions put the download
CACHE_DIRNAME = ".downloads"  # raw downloads (archives) kept beside the data
PIN_HINT = "data: published: sha256:"  # the config key that pins the published download
LABELLED_NAME = "rat_images_augmented_and_tagged.npz"
MOVIE_NAME = "rat_movie_db_50pix.npz"
PUBLISHED_NAMES = (LABELLED_NAME, MOVIE_NAME)
PUBLISHED_DRIVE_ID = "1XdjzcHqCB6wxBliPySgaPZMPE6LqZoVZ"
USER_AGENT = "direction-tagger (python-requests)"
CHUNK = 1 << 20
_DRIVE_ID = re.compile(r"^[-\w]{20,}$")
_HTML_START = (b"<!doctype html", b"<html", b"<?xml", b"<head", b"<body")
_PERMANENT_HTTP = {400, 401, 403, 404, 405, 410, 451}

Log = Callable[[str], None]


def _stderr(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


# --------------------------------------------------------------------------- sources


@dataclass(frozen=True)
class Source:
    """What `source` names: kind is 'drive' (value = file id), 'http' (URL) or 'local' (path)."""

    kind: str
    value: str

    @property
    def slug(self) -> str:
        """A file name for the raw download, stable for one source."""
        if self.kind == "drive":
            return f"drive-{self.value}"
        if self.kind == "local":
            return Path(self.value).name
        path = urllib.parse.urlsplit(self.value).path
        base = re.sub(r"[^\w.-]", "_", Path(path).name) or "download"
        return f"{base}-{hashlib.sha256(self.value.encode()).hexdigest()[:8]}"


def parse_source(source: str | os.PathLike) -> Source:
    """Classify a source: Drive id or share link, http(s) URL, else a local path."""
    text = str(source).strip()
    if not text:
        raise DataError("data source is empty; expected a Google Drive link or id, a URL or a path")
    scheme = urllib.parse.urlsplit(text).scheme.lower()
    if scheme in ("http", "https"):
        from gdown.parse_url import parse_url  # Drive link formats, kept up to date by gdown

        file_id, _ = parse_url(text)
        if file_id:
            return Source("drive", file_id)
        if urllib.parse.urlsplit(text).hostname in ("drive.google.com", "docs.google.com"):
            raise DataError(f"{text}: no Google Drive file id found in this link")
        return Source("http", text)
    if scheme == "file":
        return Source("local", urllib.parse.unquote(urllib.parse.urlsplit(text).path))
    if _DRIVE_ID.match(text) and not Path(text).exists():
        return Source("drive", text)
    return Source("local", text)


def drive_download_url(file_id: str, base_url: str | None = None) -> str:
    """The download endpoint for a Drive file; large files answer it with a confirmation page."""
    base = (base_url or os.environ.get(DRIVE_BASE_ENV) or DRIVE_BASE_URL).rstrip("/")
    return f"{base}/uc?export=download&id={urllib.parse.quote(file_id)}"


# --------------------------------------------------------------------------- content checks


def sniff_html(path: str | os.PathLike) -> str | None:
    """If the file is an HTML page (served instead of data), return its title (or 'untitled')."""
    with open(path, "rb") as f:
        head = f.read(4096)
    start = head.lstrip(b"\xef\xbb\xbf \t\r\n").lower()
    if not start.startswith(_HTML_START):
        return None
    title = re.search(rb"<title[^>]*>(.*?)</title>", head, re.I | re.S)
    text = title.group(1).decode("utf-8", "replace") if title else "untitled"
    return " ".join(text.split())[:80] or "untitled"


def _zip_names(path: Path) -> list[str]:
    """Names in a zip, after checking it is complete (central directory and member CRCs)."""
    try:
        with zipfile.ZipFile(path) as archive:
            bad = archive.testzip()
            names = archive.namelist()
    except (zipfile.BadZipFile, EOFError, OSError) as err:
        raise DataError(
            f"{path}: not a complete zip/.npz file ({err}); the download is truncated or damaged"
        ) from None
    if bad is not None:
        raise DataError(f"{path}: member '{bad}' is damaged (CRC mismatch); truncated download?")
    return names


def _useful_names(names: list[str]) -> list[str]:
    # macOS zips add __MACOSX/._name resource forks; they are not data.
    return [n for n in names if not n.startswith("__MACOSX/") and not Path(n).name.startswith("._")]


def classify_zip(path: str | os.PathLike) -> str:
    """'npz' for a zip of `.npy` members, 'archive' for a zip holding `.npz` members.

    Anything else is a DataError listing what the zip holds."""
    path = Path(path)
    names = _useful_names(_zip_names(path))
    files = [n for n in names if not n.endswith("/")]
    if any(n.endswith(".npz") for n in files):
        return "archive"
    if files and all(n.endswith(".npy") for n in files):
        return "npz"
    shown = ", ".join(files[:10]) + (f", ... ({len(files)} in all)" if len(files) > 10 else "")
    raise DataError(
        f"{path}: zip holds neither .npz files nor .npy arrays; it holds: {shown or 'nothing'}"
    )


def extract_members(archive: str | os.PathLike, members: dict[str, str | os.PathLike]) -> dict[str, Path]:
    """Extract `.npz` members of an archive by file name (any folder inside it) to their paths.

    Each is written atomically. A missing member is a DataError listing what the archive
    holds; a plain `.npz` passed as `archive` is a DataError too (it is the data itself)."""
    archive = Path(archive)
    kind = classify_zip(archive)
    if kind == "npz":
        raise DataError(f"{archive}: is a single .npz (a zip of .npy arrays), not an archive of .npz files")
    with zipfile.ZipFile(archive) as zf:
        names = [n for n in _useful_names(zf.namelist()) if not n.endswith("/")]
        out = {}
        for member, dest in members.items():
            hits = sorted((n for n in names if Path(n).name == member), key=len)
            if not hits:
                raise DataError(
                    f"{archive}: archive has no member '{member}'; it holds: {', '.join(names)}"
                )
            dest = Path(dest)
            with atomic_path(dest) as tmp, zf.open(hits[0]) as src, open(tmp, "wb") as dst:
                shutil.copyfileobj(src, dst, CHUNK)
            out[member] = dest
    return out


# --------------------------------------------------------------------------- checksums


def _write_sidecar(path: Path, lines: list[tuple[str, str]]) -> Path:
    """Write `<path>.sha256` in `sha256sum` format: one `<hex>  <relative name>` per line."""
    sidecar = path.with_name(path.name + ".sha256")
    with atomic_path(sidecar) as tmp:
        tmp.write_text("".join(f"{digest}  {name}\n" for digest, name in lines))
    return sidecar


def read_sidecar(path: str | os.PathLike) -> dict[str, str]:
    """Read `<path>.sha256` as {relative name: hex}; empty when there is none."""
    sidecar = Path(str(path) + ".sha256")
    if not sidecar.exists():
        return {}
    entries = {}
    for line in sidecar.read_text().splitlines():
        parts = line.strip().split(None, 1)
        if len(parts) == 2 and re.fullmatch(r"[0-9a-f]{64}", parts[0]):
            entries[parts[1].lstrip("*")] = parts[0]
    return entries


def _normalise_pin(sha256: str | None) -> str | None:
    if sha256 is None or str(sha256).strip() in ("", "null", "None"):
        return None
    pin = str(sha256).strip().lower()
    if not re.fullmatch(r"[0-9a-f]{64}", pin):
        raise DataError(f"pinned sha256 '{sha256}' is not 64 hex digits (config {PIN_HINT})")
    return pin


def _check_file(candidate: Path, final: Path, pin: str | None, *, move_aside: bool) -> str:
    """Reject an HTML page, an incomplete zip, or a pin mismatch; return the sha256.

    `final` names the file in messages and decides the `.bad-` name; a rejected candidate is
    moved there when `move_aside` (never for a user's file outside our folders)."""
    digest = sha256_file(candidate)

    def reject(problem: str):
        where = ""
        if move_aside:
            where = f"; moved aside to {_move_aside_to(candidate, final, digest)}"
        raise DataError(f"{final}: {problem}{where}")

    title = sniff_html(candidate)
    if title is not None:
        reject(f"an HTML page ('{title}') was served instead of data")
    try:
        _zip_names(candidate)
    except DataError as err:
        problem = str(err).split(": ", 1)[1]
        if pin and pin != digest:
            problem += f" (sha256 expected {pin}, actual {digest})"
        reject(problem)
    if pin and pin != digest:
        reject(f"sha256 mismatch: expected {pin}, actual {digest} (pinned in config {PIN_HINT})")
    return digest


def _move_aside_to(candidate: Path, final: Path, digest: str) -> Path:
    """Rename a rejected file to `<final name>.bad-<sha8>`: kept for a look, never used."""
    aside = final.with_name(f"{final.name}.bad-{digest[:8]}")
    os.replace(candidate, aside)
    return aside


def _announce(path: Path, digest: str, pin: str | None, log: Log) -> None:
    if pin:
        log(f"{path}: sha256 {digest} matches the pinned value")
    else:
        log(f"{path}: sha256 {digest} (recorded in {path.name}.sha256)")
        log(f"nothing pinned: to make later runs check this file, set `sha256: {digest}` under "
            "`data: published:` in your config (config/config.yaml)")


# --------------------------------------------------------------------------- transfer


class _Transient(Exception):
    """A failure worth retrying (dropped connection, 5xx, 429, short body)."""


def _session():
    import requests

    session = requests.Session()
    session.headers["User-Agent"] = USER_AGENT
    # Byte offsets for resuming must count the bytes written to disk.
    session.headers["Accept-Encoding"] = "identity"
    return session


def _http_error(url: str, response) -> DataError:
    return DataError(f"{url}: HTTP {response.status_code} {response.reason or ''}".rstrip())


def _retrying(what: str, retries: int, backoff: float, log: Log, attempt: Callable[[], object]):
    """Run `attempt` until it does not raise a transient error; sleep backoff * 2**k between."""
    import requests
    import urllib3

    transient = (
        _Transient,
        urllib3.exceptions.HTTPError,  # from the raw stream: IncompleteRead, ProtocolError
        requests.exceptions.ConnectionError,
        requests.exceptions.Timeout,
        requests.exceptions.ChunkedEncodingError,
    )
    for k in range(retries + 1):
        try:
            return attempt()
        except transient as err:
            if isinstance(err, requests.exceptions.SSLError) or k == retries:
                raise DataError(f"{what}: download failed after {k + 1} attempts: {_one_line(err)}") from None
            delay = min(backoff * 2**k, 60.0)
            log(f"{what}: {_one_line(err)}; retry {k + 1}/{retries} in {delay:.2g} s")
            time.sleep(delay)
    raise AssertionError("unreachable")


def _one_line(err: BaseException) -> str:
    return " ".join(str(err).split())[:300] or type(err).__name__


def _content_range_start(value: str | None) -> tuple[int | None, int | None]:
    m = re.fullmatch(r"bytes (\d+)-(\d+)/(\d+|\*)", (value or "").strip())
    if not m:
        return None, None
    return int(m.group(1)), (int(m.group(3)) if m.group(3) != "*" else None)


def _chunks(response):
    """The body in pieces, keeping every byte that arrived before a dropped connection.

    `iter_content` reads fixed-size blocks and loses a partial block when the connection
    drops; urllib3's `read1` returns what is there, so a resume starts where the data ends."""
    raw = response.raw
    if hasattr(raw, "read1"):
        while chunk := raw.read1(CHUNK, decode_content=True):
            yield chunk
        if raw.length_remaining:  # closed before the announced Content-Length
            raise _Transient(f"connection closed with {raw.length_remaining} bytes missing")
    else:
        yield from response.iter_content(64 * 1024)


def served_filename(content_disposition: str | None, url: str | None = None) -> str | None:
    """The file name a server gives its download (Content-Disposition, else the URL's last
    path part when it has a suffix); None when there is none. Never a path."""
    name = None
    if content_disposition:
        m = (re.search(r"filename\*\s*=\s*UTF-8''([^;]+)", content_disposition, re.I)
             or re.search(r'filename\s*=\s*"([^"]+)"', content_disposition, re.I)
             or re.search(r"filename\s*=\s*([^;\s]+)", content_disposition, re.I))
        if m:
            name = urllib.parse.unquote(m.group(1))
    if name is None and url:
        last = Path(urllib.parse.unquote(urllib.parse.urlsplit(url).path)).name
        name = last if Path(last).suffix else None
    if name is None:
        return None
    name = Path(name.replace("\\", "/")).name.strip()
    return name if name not in ("", ".", "..") else None


def _transfer(session, url: str, part: Path, *, retries: int, backoff: float, timeout: float,
              log: Log) -> str | None:
    """Download `url` into `part`, resuming with Range (206) or restarting when it is ignored.

    Returns the file name the server gave (see `served_filename`)."""
    import requests
    import urllib3

    state = {"validator": None, "total": None, "filename": None}

    def attempt():
        offset = part.stat().st_size if part.exists() else 0
        headers = {}
        if offset:
            headers["Range"] = f"bytes={offset}-"
            if state["validator"]:
                headers["If-Range"] = state["validator"]  # a changed file restarts, not splices
        with session.get(url, headers=headers, stream=True, timeout=timeout) as r:
            if r.status_code in _PERMANENT_HTTP:
                raise _http_error(url, r)
            if r.status_code == 416 and offset:
                if offset == state["total"]:
                    return  # everything was already here
                part.unlink()
                raise _Transient("server refused the resume range; restarting from 0")
            if r.status_code == 429 or r.status_code >= 500:
                raise _Transient(f"HTTP {r.status_code} {r.reason}")
            if r.status_code >= 400:
                raise _http_error(url, r)
            mode = "wb"
            length = r.headers.get("Content-Length")
            length = int(length) if length and length.isdigit() else None
            if offset and r.status_code == 206:
                start, total = _content_range_start(r.headers.get("Content-Range"))
                if start != offset:
                    raise _Transient(f"server answered Range {offset} with {r.headers.get('Content-Range')}")
                mode, state["total"] = "ab", total
            else:
                if offset:
                    log(f"{url}: server does not resume (HTTP {r.status_code}); restarting from 0")
                state["total"] = length
            state["validator"] = r.headers.get("ETag") or r.headers.get("Last-Modified")
            state["filename"] = served_filename(r.headers.get("Content-Disposition"), r.url)
            try:
                with open(part, mode) as f:
                    for chunk in _chunks(r):
                        f.write(chunk)
            except (urllib3.exceptions.HTTPError, requests.exceptions.RequestException) as err:
                got = part.stat().st_size
                of = f" of {state['total']}" if state["total"] is not None else ""
                raise _Transient(f"connection dropped after {got}{of} bytes ({type(err).__name__})") from None
        size = part.stat().st_size
        if state["total"] is not None and size < state["total"]:
            raise _Transient(f"connection closed after {size} of {state['total']} bytes")
        if state["total"] is not None and size > state["total"]:
            part.unlink()
            raise _Transient(f"received {size} bytes, more than the announced {state['total']}")

    _retrying(url, retries, backoff, log, attempt)
    return state.get("filename")


def _resolve_drive(session, file_id: str, *, base_url: str | None, retries: int, backoff: float,
                   timeout: float, log: Log) -> str:
    """Follow Drive's confirmation page (large files) to the URL that serves the bytes."""
    from gdown.download import get_url_from_gdrive_confirmation
    from gdown.exceptions import FileURLRetrievalError

    url = drive_download_url(file_id, base_url)
    for _ in range(4):  # uc -> confirmation form -> data; one spare step
        def probe():
            with session.get(url, stream=True, timeout=timeout) as r:
                if r.status_code in _PERMANENT_HTTP:
                    raise DataError(f"Google Drive file {file_id}: HTTP {r.status_code} {r.reason}; "
                                    "is the link shared as 'Anyone with the link'?")
                if r.status_code == 429 or r.status_code >= 500:
                    raise _Transient(f"HTTP {r.status_code} {r.reason}")
                if r.status_code >= 400:
                    raise _http_error(url, r)
                html = "text/html" in r.headers.get("Content-Type", "")
                if "Content-Disposition" in r.headers or not html:
                    return r.url, None  # the bytes themselves (after any redirects)
                return r.url, r.text

        final_url, page = _retrying(f"Google Drive file {file_id}", retries, backoff, log, probe)
        if page is None:
            return final_url
        try:
            url = get_url_from_gdrive_confirmation(page)
        except FileURLRetrievalError as err:
            raise DataError(f"Google Drive file {file_id}: {_one_line(err)}") from None
        log(f"Google Drive file {file_id}: confirmed the large-file download")
    raise DataError(f"Google Drive file {file_id}: still a confirmation page after 3 confirmations")


def download_file(source: str | os.PathLike, dest: str | os.PathLike, sha256: str | None = None, *,
                  retries: int = 5, backoff: float = 1.0, timeout: float = 60.0,
                  drive_base_url: str | None = None, served_name: bool = False,
                  info: dict | None = None, log: Log = _stderr) -> Path:
    """Put the bytes of `source` at `dest`, checked; no interpretation beyond 'a complete zip'.

    Goes through `<dest>.part` (kept across runs for resuming only when a sha256 is pinned,
    since only then can a splice of two versions be caught). On failure nothing is renamed
    onto `dest`; a rejected download is moved to `<dest>.bad-<sha8>`. With `served_name`, the
    file is stored under the name the server gave it (in `dest`'s folder) when there is one.
    Returns the path written; `info`, when given, receives 'filename' (the served name, or
    None) and 'sha256'."""
    src, dest, pin = parse_source(source), Path(dest), _normalise_pin(sha256)
    dest.parent.mkdir(parents=True, exist_ok=True)
    part = dest.with_name(dest.name + ".part")
    if part.exists() and not pin:
        part.unlink()
    if src.kind == "local":
        local = Path(src.value)
        if not local.is_file():
            raise FileNotFoundError(f"{local}: data source not found")
        with atomic_path(part) as tmp:
            shutil.copyfile(local, tmp)
        filename = local.name
    else:
        session = _session()
        with session:
            url = src.value
            if src.kind == "drive":
                url = _resolve_drive(session, src.value, base_url=drive_base_url, retries=retries,
                                     backoff=backoff, timeout=timeout, log=log)
            log(f"downloading {url} -> {dest}")
            filename = _transfer(session, url, part, retries=retries, backoff=backoff,
                                 timeout=timeout, log=log)
    digest = _check_file(part, dest, pin, move_aside=True)
    if info is not None:
        info.update(filename=filename, sha256=digest)
    if served_name and filename:
        dest = dest.with_name(filename)
    os.replace(part, dest)
    _write_sidecar(dest, [(digest, dest.name)])
    _announce(dest, digest, pin, log)
    return dest


# --------------------------------------------------------------------------- the data file


def _accept_in_place(dest: Path, pin: str | None, log: Log) -> None:
    """Check the file already at `dest`; a bad one is moved aside and reported (DataError)."""
    digest = sha256_file(dest)
    recorded = read_sidecar(dest)
    # An extracted member carries its own hash and that of the pinned download it came from.
    if pin and pin != digest and recorded.get(dest.name) == digest and pin in recorded.values():
        log(f"{dest}: in place, extracted from the pinned download (sha256 {pin[:12]}...)")
        return
    _check_file(dest, dest, pin, move_aside=True)
    if recorded.get(dest.name) != digest:
        _write_sidecar(dest, [(digest, dest.name)])
    log(f"{dest}: already in place; no download needed")
    _announce(dest, digest, pin, log)


def _local_candidates(member: str, dirs: list[Path], dest: Path) -> list[Path]:
    """Files a user may have put down by hand: the member itself, or an archive holding it."""
    found = []
    for d in dirs:
        if not d.is_dir():
            continue
        direct = d / member
        if direct.is_file() and direct.resolve() != dest.resolve():
            found.append(direct)
        for z in sorted(d.glob("*.zip")):
            try:
                with zipfile.ZipFile(z) as zf:
                    if any(Path(n).name == member for n in zf.namelist()):
                        found.append(z)
            except (zipfile.BadZipFile, OSError):
                continue
    return found


def _place(raw: Path, dest: Path, member: str, digest: str, *, owned: bool, log: Log) -> Path:
    """Make `dest` the data file from a checked raw file: the `.npz` itself, or its member."""
    if classify_zip(raw) == "npz":
        if owned:  # our own download: move it, do not keep two copies of ~250 MB
            os.replace(raw, dest)
            raw.with_name(raw.name + ".sha256").unlink(missing_ok=True)
        else:
            with atomic_path(dest) as tmp:
                shutil.copyfile(raw, tmp)
        _write_sidecar(dest, [(digest, dest.name)])
        return dest
    extract_members(raw, {member: dest})
    member_digest = sha256_file(dest)
    origin = os.path.relpath(raw, dest.parent)
    _write_sidecar(dest, [(member_digest, dest.name), (digest, origin)])
    log(f"{dest}: extracted '{member}' from {raw} (member sha256 {member_digest})")
    return dest


def fetch(source: str | os.PathLike, dest: str | os.PathLike, sha256: str | None = None, *,
          member: str | None = None, force: bool = False, retries: int = 5, backoff: float = 1.0,
          timeout: float = 60.0, drive_base_url: str | None = None,
          local_dirs: list[str | os.PathLike] | None = None, log: Log = _stderr) -> Path:
    """Make `dest` hold the data file `member` (default: `dest`'s name) from `source`.

    `sha256` pins what is downloaded (the `.npz`, or the archive holding it). Order, cheapest
    first: a file already at `dest` (unless `force`); a file the user put into `local_dirs`
    (default: `dest`'s folder and `tagged_dataset/`), named `member` or a `.zip` holding it;
    the raw download kept in `<dest folder>/.downloads/`; then `source`. The raw download is a
    `.npz` (moved to `dest`) or an archive (kept, and `member` extracted from it). Bad data
    raises DataError (one line: file and problem) and never replaces a good `dest`."""
    dest, pin = Path(dest), _normalise_pin(sha256)
    member = member or dest.name
    if dest.exists() and not force:
        _accept_in_place(dest, pin, log)
        return dest
    dirs = [dest.parent] + [Path(d) for d in (local_dirs if local_dirs is not None else [DATA_DIR])]
    unique_dirs = list({d.resolve(): d for d in dirs}.values())
    src = parse_source(source)
    cache_dir = dest.parent / CACHE_DIRNAME / src.slug
    for raw in _local_candidates(member, unique_dirs, dest):
        try:
            digest = _check_file(raw, raw, pin, move_aside=False)
        except DataError as err:  # someone else's file: report it, leave it, look further
            log(f"not using {err}")
            continue
        log(f"{dest}: using {raw}, found locally (no network)")
        return _place(raw, dest, member, digest, owned=False, log=log)
    if src.kind == "local":
        local = Path(src.value)
        if not local.is_file():
            raise FileNotFoundError(f"{local}: data source not found")
        digest = _check_file(local, local, pin, move_aside=False)
        _announce(local, digest, pin, log)
        return _place(local, dest, member, digest, owned=False, log=log)
    with _locked(cache_dir):  # the labelled-set and movie jobs may share one download
        return _from_cache_or_network(source, cache_dir, dest, member, pin, retries=retries,
                                      backoff=backoff, timeout=timeout,
                                      drive_base_url=drive_base_url, log=log)


@contextlib.contextmanager
def _locked(cache_dir: Path):
    """Hold an exclusive lock on `<cache_dir>.lock` (POSIX flock; a no-op elsewhere)."""
    cache_dir.parent.mkdir(parents=True, exist_ok=True)
    try:
        import fcntl
    except ImportError:  # Windows: one job at a time is the user's business
        yield
        return
    with open(cache_dir.with_name(cache_dir.name + ".lock"), "w") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def _from_cache_or_network(source, cache_dir: Path, dest: Path, member: str, pin: str | None, *,
                           retries, backoff, timeout, drive_base_url, log) -> Path:
    cached = _cached_download(cache_dir, pin)
    if cached is not None:
        raw, digest = cached
        log(f"{dest}: using the earlier download {raw} (no network)")
    else:
        info: dict = {}
        raw = download_file(source, cache_dir / "download", pin, retries=retries, backoff=backoff,
                            timeout=timeout, drive_base_url=drive_base_url, served_name=True,
                            info=info, log=log)
        digest = info["sha256"]
    if classify_zip(raw) == "npz" and raw.name in PUBLISHED_NAMES and raw.name != member:
        # The source serves the other published file (e.g. the labelled set when the movie was
        # asked for): never store it under the wrong name. Other names (mirrors) are trusted.
        raise DataError(f"{dest}: {source} serves the single file '{raw.name}', not '{member}' "
                        f"(nor an archive holding it); kept in {raw.parent}")
    return _place(raw, dest, member, digest, owned=True, log=log)


def _cached_download(cache_dir: Path, pin: str | None) -> tuple[Path, str] | None:
    """An earlier download of this source that still matches its recorded (and pinned) hash."""
    if not cache_dir.is_dir():
        return None
    for path in sorted(cache_dir.iterdir()):
        if not path.is_file() or path.name.endswith((".sha256", ".part")) or ".bad-" in path.name:
            continue
        recorded = read_sidecar(path).get(path.name)
        if recorded and (not pin or pin == recorded) and sha256_file(path) == recorded:
            return path, recorded
    return None
