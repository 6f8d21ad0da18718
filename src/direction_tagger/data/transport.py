"""Where the bytes come from and how they travel: sources (a Google Drive id or share link, an
http(s) URL, a local path) and a resumable, retrying HTTP transfer that follows Google Drive's
large-file confirmation page.

Google Drive: `gdown` keeps up with Drive's confirmation page ("can't scan this file for
viruses"), so its parser `get_url_from_gdrive_confirmation` and link parser `parse_url` are
used; the transfer itself is ours, because it must restart when a server ignores `Range` and
its backoff must be tunable (gdown raises on an ignored range and sleeps up to 2**n s).
`drive_base_url` (or the environment variable `DIRECTION_TAGGER_DRIVE_BASE_URL`) replaces
`https://drive.google.com` only so that tests can emulate Drive on 127.0.0.1.

Failures end in a `FetchError`: one line naming the URL (or Drive file) and the problem, and
`lines` saying it in plain words. Only what a retry can mend is retried: a timeout, a dropped
or reset connection, HTTP 429 and 5xx. A host name that does not resolve, a refused
connection, no route, TLS, HTTP 4xx and a Drive quota or permission page fail at once: a
machine without network (a cluster's compute node) must hear so in a second, not in 31 s.
"""

from __future__ import annotations

import errno
import hashlib
import os
import re
import socket
import time
import urllib.parse
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from ..io import DataError

DRIVE_BASE_URL = "https://drive.google.com"
DRIVE_BASE_ENV = "DIRECTION_TAGGER_DRIVE_BASE_URL"  # tests only: emulate Drive locally
USER_AGENT = "direction-tagger (python-requests)"
CHUNK = 1 << 20
_DRIVE_ID = re.compile(r"^[-\w]{20,}$")
_PERMANENT_HTTP = {400, 401, 403, 404, 405, 410, 451}
# No route to the host: this machine's network, which a retry within seconds does not change.
_NO_ROUTE = {errno.ENETUNREACH, errno.EHOSTUNREACH}

Log = Callable[[str], None]


class FetchError(DataError):
    """The data could not be had: the source failed, or the file it gave (or the one already in
    place) is bad. `lines` say what happened in plain words, a summary first."""


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


def drive_view_url(file_id: str) -> str:
    """The link a person opens in a browser to download a Drive file by hand."""
    return f"{DRIVE_BASE_URL}/file/d/{urllib.parse.quote(file_id)}/view"


def drive_download_url(file_id: str, base_url: str | None = None) -> str:
    """The download endpoint for a Drive file; large files answer it with a confirmation page."""
    base = (base_url or os.environ.get(DRIVE_BASE_ENV) or DRIVE_BASE_URL).rstrip("/")
    return f"{base}/uc?export=download&id={urllib.parse.quote(file_id)}"


# --------------------------------------------------------------------------- transfer


class _Transient(Exception):
    """A failure worth retrying (dropped connection, 5xx, 429, short body); its message is
    plain words that follow the host's name ("... broke off after 5000 of 20000 bytes")."""


def new_session():
    import requests

    session = requests.Session()
    session.headers["User-Agent"] = USER_AGENT
    # Byte offsets for resuming must count the bytes written to disk.
    session.headers["Accept-Encoding"] = "identity"
    return session


def _status(response) -> str:
    return f"HTTP {response.status_code} {response.reason or ''}".rstrip()


def _http_error(url: str, response) -> FetchError:
    """A 4xx answer, which the same request will get again: said plainly, not retried."""
    host, status = _host(url), _status(response)
    if response.status_code in (404, 410):
        summary = f"{host} has no such file ({status})"
    elif response.status_code in (401, 403):
        summary = f"{host} refuses access to the file ({status})"
    else:
        summary = f"{host} refuses the request ({status})"
    return FetchError(f"{url}: {status}; not retried", [summary, f"({url}; not retried)"])


def _host(url: str) -> str:
    parts = urllib.parse.urlsplit(url)
    return parts.netloc.rpartition("@")[2] or url  # never a user:password in a message


def _causes(err: BaseException):
    """`err` and what lies under it: requests wraps urllib3, which wraps the socket error."""
    seen, todo = set(), [err]
    while todo:
        e = todo.pop(0)
        if e is None or id(e) in seen:
            continue
        seen.add(id(e))
        yield e
        context = None if e.__suppress_context__ else e.__context__  # `from None`: not a cause
        todo += [getattr(e, "reason", None), e.__cause__, context]
        todo += [a for a in e.args if isinstance(a, BaseException)]


def network_failure(err: BaseException, url: str) -> tuple[str, str | None]:
    """What went wrong, in plain words, and why a retry cannot help (None: it may).

    A refused connection counts as permanent: nothing listens there, or a firewall rejects
    the connection, and neither changes within the seconds of a retry (a mirror that is
    restarting is rare, and rerunning the command is cheap)."""
    import requests

    host = _host(url)
    for cause in _causes(err):
        if isinstance(cause, _Transient):
            return f"{host} {cause}", None
        if isinstance(cause, requests.exceptions.ProxyError):  # before what lies under it
            return f"the proxy to {host} fails", "see HTTPS_PROXY / HTTP_PROXY"
        # Any failed look-up, EAI_AGAIN ("temporary failure") included: that is what a machine
        # whose DNS server cannot be reached says, and it does not pass within seconds.
        if isinstance(cause, socket.gaierror) or type(cause).__name__ == "NameResolutionError":
            name = urllib.parse.urlsplit(url).hostname or host
            return (
                f"cannot reach {name}: the host name does not resolve",
                "no network or no DNS on this machine",
            )
        if isinstance(cause, ConnectionRefusedError):
            return (
                f"cannot reach {host}: connection refused",
                "nothing listens there, or a firewall rejects it",
            )
        if isinstance(cause, OSError) and cause.errno in _NO_ROUTE:
            return f"cannot reach {host}: no route to it", "no network on this machine"
        if isinstance(cause, requests.exceptions.SSLError):
            return (
                f"no secure connection to {host} (TLS/SSL failed)",
                "an intercepting proxy, or a wrong clock on this machine",
            )
        if isinstance(cause, requests.exceptions.Timeout):
            return f"{host} did not answer in time", None
        if isinstance(cause, ConnectionResetError):
            return f"{host} reset the connection", None
    return f"the connection to {host} failed ({_one_line(err)[:60]})", None


def _retrying(
    what: str, url: str, retries: int, backoff: float, log: Log, attempt: Callable[[], object]
):
    """Run `attempt` until it does not raise a transient error; sleep backoff * 2**k between.

    `url` (the first one asked) names the host in messages; an error that a retry cannot
    mend ends it at once."""
    import requests
    import urllib3

    transient = (
        _Transient,
        urllib3.exceptions.HTTPError,  # from the raw stream: IncompleteRead, ProtocolError
        requests.exceptions.ConnectionError,
        requests.exceptions.Timeout,
        requests.exceptions.ChunkedEncodingError,
    )
    start = time.monotonic()
    for k in range(retries + 1):
        try:
            return attempt()
        except transient as err:
            reason, permanent = network_failure(err, url)
            if permanent:
                raise FetchError(
                    f"{what}: {reason} ({permanent}); not retried",
                    [reason, f"({permanent}; not retried)"],
                ) from None
            if k == retries:
                tried = f"tried {k + 1} times in {time.monotonic() - start:.0f} s"
                raise FetchError(
                    f"{what}: download failed after {k + 1} attempts: {reason}",
                    [reason, f"({tried})"],
                ) from None
            delay = min(backoff * 2**k, 60.0)
            log(f"{what}: {reason}; retry {k + 1}/{retries} in {delay:.2g} s")
            time.sleep(delay)
        except requests.exceptions.RequestException as err:  # e.g. a redirect loop: final
            reason = f"the download from {_host(url)} failed: {_one_line(err)[:100]}"
            raise FetchError(f"{what}: download failed: {_one_line(err)}", [reason]) from None
    raise AssertionError("unreachable")


def _one_line(err: BaseException) -> str:
    return " ".join(str(err).split())[:300] or type(err).__name__


def _size(n: int, total: int | None = None) -> str:
    """'5000 of 20000 bytes', '104.9 of 250.1 MB': short enough for a message line."""
    if max(n, total or 0) < 1_000_000:
        return f"{n} of {total} bytes" if total is not None else f"{n} bytes"
    mb = f"{n / 1e6:.1f}"
    return f"{mb} of {total / 1e6:.1f} MB" if total is not None else f"{mb} MB"


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
            raise _Transient(f"broke off with {_size(raw.length_remaining)} missing")
    else:
        yield from response.iter_content(64 * 1024)


def served_filename(content_disposition: str | None, url: str | None = None) -> str | None:
    """The file name a server gives its download (Content-Disposition, else the URL's last
    path part when it has a suffix); None when there is none. Never a path."""
    name = None
    if content_disposition:
        m = (
            re.search(r"filename\*\s*=\s*UTF-8''([^;]+)", content_disposition, re.I)
            or re.search(r'filename\s*=\s*"([^"]+)"', content_disposition, re.I)
            or re.search(r"filename\s*=\s*([^;\s]+)", content_disposition, re.I)
        )
        if m:
            name = urllib.parse.unquote(m.group(1))
    if name is None and url:
        last = Path(urllib.parse.unquote(urllib.parse.urlsplit(url).path)).name
        name = last if Path(last).suffix else None
    if name is None:
        return None
    name = Path(name.replace("\\", "/")).name.strip()
    return name if name not in ("", ".", "..") else None


def transfer(
    session, url: str, part: Path, *, retries: int, backoff: float, timeout: float, log: Log
) -> str | None:
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
                raise _Transient("refused the resume range; restarting from 0")
            if r.status_code == 429 or r.status_code >= 500:
                raise _Transient(f"is busy or failing ({_status(r)})")
            if r.status_code >= 400:
                raise _http_error(url, r)
            mode = "wb"
            length = r.headers.get("Content-Length")
            length = int(length) if length and length.isdigit() else None
            if offset and r.status_code == 206:
                start, total = _content_range_start(r.headers.get("Content-Range"))
                if start != offset:
                    raise _Transient(
                        f"answered Range {offset} with {r.headers.get('Content-Range')}"
                    )
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
            except (urllib3.exceptions.HTTPError, requests.exceptions.RequestException):
                got = part.stat().st_size
                raise _Transient(f"broke off after {_size(got, state['total'])}") from None
        size = part.stat().st_size
        if state["total"] is not None and size < state["total"]:
            raise _Transient(f"broke off after {_size(size, state['total'])}")
        if state["total"] is not None and size > state["total"]:
            part.unlink()
            raise _Transient(f"sent {size} bytes, more than the announced {state['total']}")

    _retrying(url, url, retries, backoff, log, attempt)
    return state.get("filename")


def resolve_drive(
    session,
    file_id: str,
    *,
    base_url: str | None,
    retries: int,
    backoff: float,
    timeout: float,
    log: Log,
) -> str:
    """Follow Drive's confirmation page (large files) to the URL that serves the bytes."""
    from gdown.download import get_url_from_gdrive_confirmation
    from gdown.exceptions import FileURLRetrievalError

    what = f"Google Drive file {file_id}"
    url = drive_download_url(file_id, base_url)
    for _ in range(4):  # uc -> confirmation form -> data; one spare step

        def probe(url=url):  # this step's URL
            with session.get(url, stream=True, timeout=timeout) as r:
                if r.status_code in _PERMANENT_HTTP:
                    status = _status(r)
                    raise FetchError(
                        f"{what}: {status}; is the link shared as 'Anyone with the link'?",
                        [
                            f"Google Drive refuses the file ({status})",
                            "(is it shared as 'Anyone with the link'? not retried)",
                        ],
                    )
                if r.status_code == 429 or r.status_code >= 500:
                    raise _Transient(f"is busy or failing ({_status(r)})")
                if r.status_code >= 400:
                    raise _http_error(url, r)
                html = "text/html" in r.headers.get("Content-Type", "")
                if "Content-Disposition" in r.headers or not html:
                    return r.url, None  # the bytes themselves (after any redirects)
                return r.url, r.text

        final_url, page = _retrying(what, url, retries, backoff, log, probe)
        if page is None:
            return final_url
        try:
            url = get_url_from_gdrive_confirmation(page)
        except FileURLRetrievalError as err:
            raise _drive_refusal(what, _one_line(err)) from None
        log(f"{what}: confirmed the large-file download")
    raise FetchError(
        f"{what}: still a confirmation page after 3 confirmations",
        ["Google Drive keeps asking to confirm the download (3 confirmations sent)"],
    )


def _drive_refusal(what: str, text: str) -> FetchError:
    """Drive answered with a page instead of the file: a quota or a permission, which hold for
    hours or for good, so nothing is retried."""
    if "too many users" in text.lower():
        summary = "Google Drive quota: too many users downloaded this file recently"
        detail = "(Drive lifts it within a day; not retried)"
    else:
        summary = "Google Drive gives no download link for this file"
        detail = "(is it shared as 'Anyone with the link'? not retried)"
    return FetchError(f"{what}: {text}", [summary, detail])
