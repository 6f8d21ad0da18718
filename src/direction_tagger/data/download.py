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
decided by content: an `.npz` is a zip of `.npy` members, an archive holds `.npz` members
(archive.py). Sources and the HTTP / Google Drive transfer are in transport.py; this module
is the policy: where to look first, what to check, where files go.
"""

from __future__ import annotations

import contextlib
import os
import re
import shutil
import sys
import zipfile
from pathlib import Path

from ..io import DataError, atomic_path, sha256_file
from .archive import classify_zip, extract_members, sniff_html, zip_names
from .transport import FetchError, Log, new_session, parse_source, resolve_drive, transfer

DATA_DIR = Path("tagged_dataset")  # where the original instructions put the download
CACHE_DIRNAME = ".downloads"  # raw downloads (archives) kept beside the data
PIN_HINT = "data: published: sha256:"  # the config key that pins the published download
LABELLED_NAME = "rat_images_augmented_and_tagged.npz"
MOVIE_NAME = "rat_movie_db_50pix.npz"
PUBLISHED_NAMES = (LABELLED_NAME, MOVIE_NAME)
PUBLISHED_DRIVE_ID = "1XdjzcHqCB6wxBliPySgaPZMPE6LqZoVZ"


def _stderr(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


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


def _check_file(
    candidate: Path,
    final: Path,
    pin: str | None,
    *,
    move_aside: bool,
    digest: str | None = None,
    what: str = "the download",
) -> str:
    """Reject an HTML page, an incomplete zip, or a pin mismatch; return the sha256.

    `final` names the file in messages and decides the `.bad-` name; a rejected candidate is
    moved there when `move_aside` (never for a user's file outside our folders). `what` names
    the candidate in the FetchError's plain lines ("the download", "the file in place")."""
    digest = digest or sha256_file(candidate)

    def reject(problem: str, summary: str, detail: str | None = None):
        lines = [f"{what} {summary}"] + ([detail] if detail else [])
        where = ""
        if move_aside:
            aside = _move_aside_to(candidate, final, digest)
            where = f"; moved aside to {aside}"
            lines.append(f"moved aside to {aside}")
        else:
            lines.append(f"({final})")
        raise FetchError(f"{final}: {problem}{where}", lines)

    title = sniff_html(candidate)
    if title is not None:
        # The title tells a quota or sign-in page; the command line's first line (100
        # characters, 34 of them "direction-tagger download: error: ") keeps what fits.
        room = max(66 - len(f"{what} is an HTML page ('')"), 12)
        short = title if len(title) <= room else title[: room - 3] + "..."
        reject(
            f"an HTML page ('{title}') was served instead of data",
            f"is an HTML page ('{short}')",
        )
    try:
        zip_names(candidate)
    except DataError as err:
        problem = str(err).split(": ", 1)[1]
        if pin and pin != digest:
            problem += f" (sha256 expected {pin}, actual {digest})"
        reject(problem, "is truncated or damaged")
    if pin and pin != digest:
        reject(
            f"sha256 mismatch: expected {pin}, actual {digest} (pinned in config {PIN_HINT})",
            "does not match data.published.sha256",
            f"(sha256 {digest}; pinned {pin[:8]}...)",
        )
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
        log(
            f"nothing pinned: to make later runs check this file, set `sha256: {digest}` under "
            "`data: published:` in your config (config/config.yaml)"
        )


def download_file(
    source: str | os.PathLike,
    dest: str | os.PathLike,
    sha256: str | None = None,
    *,
    retries: int = 5,
    backoff: float = 1.0,
    timeout: float = 60.0,
    drive_base_url: str | None = None,
    served_name: bool = False,
    info: dict | None = None,
    log: Log = _stderr,
) -> Path:
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
        local = _existing_source(src.value)
        with atomic_path(part) as tmp:
            shutil.copyfile(local, tmp)
        filename = local.name
    else:
        session = new_session()
        with session:
            url = src.value
            if src.kind == "drive":
                url = resolve_drive(
                    session,
                    src.value,
                    base_url=drive_base_url,
                    retries=retries,
                    backoff=backoff,
                    timeout=timeout,
                    log=log,
                )
            log(f"downloading {url} -> {dest}")
            try:
                filename = transfer(
                    session, url, part, retries=retries, backoff=backoff, timeout=timeout, log=log
                )
            except OSError as err:
                if err.errno is None:  # not the disk's doing (requests' errors are OSErrors)
                    raise
                # A full disk or a refused write: a partial file helps nobody, and its space
                # is what the user needs back.
                part.unlink(missing_ok=True)
                raise OSError(err.errno, err.strerror, str(dest)) from None
    digest = _check_file(part, dest, pin, move_aside=True)
    if info is not None:
        info.update(filename=filename, sha256=digest)
    if served_name and filename:
        dest = dest.with_name(filename)
    os.replace(part, dest)
    _write_sidecar(dest, [(digest, dest.name)])
    _announce(dest, digest, pin, log)
    return dest


def _existing_source(path: str) -> Path:
    """A local source, which must exist (a mirror on a shared disk, a copy made by hand)."""
    local = Path(path)
    if not local.is_file():
        raise FetchError(f"{local}: data source not found", [f"data source not found: {local}"])
    return local


# --------------------------------------------------------------------------- the data file


def _accept_in_place(dest: Path, pin: str | None, log: Log) -> None:
    """Check the file already at `dest`: an HTML page or a broken zip is moved aside, a complete
    file that does not match the pin is left in place; both are reported (DataError)."""
    digest = sha256_file(dest)
    recorded = read_sidecar(dest)
    # An extracted member carries its own hash and that of the pinned download it came from.
    if pin and pin != digest and recorded.get(dest.name) == digest and pin in recorded.values():
        log(f"{dest}: in place, extracted from the pinned download (sha256 {pin[:12]}...)")
        return
    # A page or a broken zip is moved aside: it can never become good, and the next run
    # then downloads (or finds) a good copy.
    _check_file(dest, dest, None, move_aside=True, digest=digest, what="the file in place")
    if pin and pin != digest:
        # A complete file is at the final path: the pin may be what is wrong, so the file
        # stays where it is (moving it would leave the final path empty).
        raise FetchError(
            f"{dest}: sha256 mismatch: expected {pin}, actual {digest} (pinned in config "
            f"{PIN_HINT}); the file is left in place: correct the pin, or replace the file "
            "with --force",
            [
                "the file in place does not match data.published.sha256",
                f"(sha256 {digest}; pinned {pin[:8]}...)",
                "left in place: correct the pin, or replace the file",
            ],
        )
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


def _unusable_zip(err: DataError) -> FetchError:
    """A complete zip that holds the wrong things (another archive, no such member)."""
    problem = str(err).split(": ", 1)[-1]
    path = str(err).split(": ", 1)[0]
    return FetchError(
        str(err), [problem if len(problem) <= 66 else problem[:63] + "...", f"({path})"]
    )


def _kind(raw: Path) -> str:
    try:
        return classify_zip(raw)
    except DataError as err:
        raise _unusable_zip(err) from None


def _place(raw: Path, dest: Path, member: str, digest: str, *, owned: bool, log: Log) -> Path:
    """Make `dest` the data file from a checked raw file: the `.npz` itself, or its member."""
    if _kind(raw) == "npz":
        if owned:  # our own download: move it, do not keep two copies of ~250 MB
            os.replace(raw, dest)
            raw.with_name(raw.name + ".sha256").unlink(missing_ok=True)
        else:
            with atomic_path(dest) as tmp:
                shutil.copyfile(raw, tmp)
        _write_sidecar(dest, [(digest, dest.name)])
        return dest
    try:
        extract_members(raw, {member: dest})
    except DataError as err:
        raise _unusable_zip(err) from None
    member_digest = sha256_file(dest)
    origin = os.path.relpath(raw, dest.parent)
    _write_sidecar(dest, [(member_digest, dest.name), (digest, origin)])
    log(f"{dest}: extracted '{member}' from {raw} (member sha256 {member_digest})")
    return dest


def fetch(
    source: str | os.PathLike,
    dest: str | os.PathLike,
    sha256: str | None = None,
    *,
    member: str | None = None,
    force: bool = False,
    retries: int = 5,
    backoff: float = 1.0,
    timeout: float = 60.0,
    drive_base_url: str | None = None,
    local_dirs: list[str | os.PathLike] | None = None,
    log: Log = _stderr,
) -> Path:
    """Make `dest` hold the data file `member` (default: `dest`'s name) from `source`.

    `sha256` pins what is downloaded (the `.npz`, or the archive holding it). Order, cheapest
    first: a file already at `dest` (unless `force`); a file the user put into `local_dirs`
    (default: `dest`'s folder and `tagged_dataset/`), named `member` or a `.zip` holding it;
    the raw download kept in `<dest folder>/.downloads/`; then `source`. The raw download is a
    `.npz` (moved to `dest`) or an archive (kept, and `member` extracted from it). Bad data
    never replaces a good `dest`. Failing to get the data raises FetchError (a DataError: one
    line naming the file or URL and the problem; `lines` say it in plain words); a permanent
    network failure (no DNS, refused, HTTP 4xx, a Drive quota) is not retried."""
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
        local = _existing_source(src.value)
        digest = _check_file(local, local, pin, move_aside=False, what="the data source")
        _announce(local, digest, pin, log)
        return _place(local, dest, member, digest, owned=False, log=log)
    with _locked(cache_dir):  # the labelled-set and movie jobs may share one download
        return _from_cache_or_network(
            source,
            cache_dir,
            dest,
            member,
            pin,
            retries=retries,
            backoff=backoff,
            timeout=timeout,
            drive_base_url=drive_base_url,
            log=log,
        )


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


def _from_cache_or_network(
    source,
    cache_dir: Path,
    dest: Path,
    member: str,
    pin: str | None,
    *,
    retries,
    backoff,
    timeout,
    drive_base_url,
    log,
) -> Path:
    cached = _cached_download(cache_dir, pin)
    if cached is not None:
        raw, digest = cached
        log(f"{dest}: using the earlier download {raw} (no network)")
    else:
        info: dict = {}
        raw = download_file(
            source,
            cache_dir / "download",
            pin,
            retries=retries,
            backoff=backoff,
            timeout=timeout,
            drive_base_url=drive_base_url,
            served_name=True,
            info=info,
            log=log,
        )
        digest = info["sha256"]
    if _kind(raw) == "npz" and raw.name in PUBLISHED_NAMES and raw.name != member:
        # The source serves the other published file (e.g. the labelled set when the movie was
        # asked for): never store it under the wrong name. Other names (mirrors) are trusted.
        raise FetchError(
            f"{dest}: {source} serves the single file '{raw.name}', not '{member}' "
            f"(nor an archive holding it); kept in {raw.parent}",
            [f"the source serves '{raw.name}', not '{member}'", f"(kept in {raw.parent})"],
        )
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
