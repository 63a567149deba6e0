"""Fetching public data sets: resumable downloads, honest checks, safe unpacking.

What is checked, and nothing more is claimed:

- the bytes received equal the size the server announced (``Content-Length``; with a
  Range request, the part already here plus the rest), and the size the source lists
  when it lists one — a connection that ends early leaves ``*.part`` to resume;
- the sha256, only where the source publishes one. DEAM publishes none, so its archives
  are reported as **unverified**; their sha256 is recorded in ``DIR/.moodmap-downloads.json``
  after they unpack cleanly (never before: a truncated first download cannot become the
  reference) and a later download that differs is refused, saying how to accept it;
- unpacking is the last check (zip CRCs, gzip's trailer): an archive that fails it is
  deleted so a rerun fetches it again. Members may not land outside the folder, be links
  or device files, replace the archives or the checksum record, or unpack to more than
  ``MAX_RATIO`` times the archive's size (a zip bomb).
"""
from __future__ import annotations

import gzip
import json
import tarfile
import urllib.error
import urllib.request
import zipfile
import zlib
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from ..core.atomic import atomic_write_text
from ..core.checksums import sha256 as sha256_of
from ..core.errors import MoodmapError

CHUNK = 1 << 16
TIMEOUT = 30
RECORD = ".moodmap-downloads.json"
MAX_RATIO = 100  # unpacked / packed: audio is ~1, annotation CSVs ~10; a zip bomb is 1000+
MIN_ALLOWANCE = 64 * 2**20  # small archives may unpack to this much whatever their ratio


class DownloadError(MoodmapError):
    """A download failed, was corrupt, or its source has moved."""


@dataclass(frozen=True)
class Archive:
    url: str
    filename: str
    size: int | None = None
    sha256: str | None = None  # only a checksum the data set's maintainers publish


@dataclass(frozen=True)
class Source:
    """Where a data set lives, and what to do by hand when it cannot be fetched."""

    name: str
    page: str
    archives: tuple[Archive, ...]
    manual: str


SOURCES = {
    "deam": Source(
        "deam", "https://cvml.unige.ch/databases/DEAM/",
        (Archive("https://cvml.unige.ch/databases/DEAM/DEAM_Annotations.zip", "DEAM_Annotations.zip"),
         Archive("https://cvml.unige.ch/databases/DEAM/DEAM_audio.zip", "DEAM_audio.zip")),
        "open https://cvml.unige.ch/databases/DEAM/, download DEAM_Annotations.zip and DEAM_audio.zip "
        "into DIR, then rerun this command (it unpacks what is there)"),
    "emomusic": Source(
        "emomusic", "https://cvml.unige.ch/databases/emoMusic/", (),
        "open https://cvml.unige.ch/databases/emoMusic/, request the data, and unpack it so that DIR holds "
        "annotations/static_annotations.csv, annotations/songs_info.csv and clips_45seconds/<id>.mp3"),
    "pmemo": Source(
        "pmemo", "https://github.com/HuiZhangDB/PMEmo", (),
        "follow the download link on https://github.com/HuiZhangDB/PMEmo and unpack PMEmo2019 into DIR "
        "(annotations/static_annotations.csv, chorus/<id>.mp3)"),
}


def download_dataset(name: str, to: str | Path, source: Source | None = None,
                     progress: Callable[[str, int, int | None], None] | None = None,
                     report: Callable[[str], None] | None = None) -> Path:
    """Fetch and unpack a data set into ``to``; returns it. ``report`` hears, per archive, what
    was checked. Raises DownloadError (one line, with the manual steps when fetching failed)."""
    source = source or SOURCES.get(name)
    if source is None:
        raise DownloadError(None, f"unknown data set {name!r}; one of {', '.join(SOURCES)}")
    to = Path(to)
    to.mkdir(parents=True, exist_ok=True)
    if not source.archives:
        raise DownloadError(to, f"{source.name} cannot be fetched automatically: {source.manual}")
    protected = {a.filename for a in source.archives} | {RECORD}
    for archive in source.archives:
        path = to / archive.filename
        if not path.exists():
            try:
                fetch(archive, path, progress)
            except DownloadError as exc:
                raise DownloadError(path, f"{exc.reason}. By hand: {source.manual}") from None
        digest = sha256_of(path)
        checked = _check_against_record(to, archive, path, digest)
        unpack(path, to, protected)
        _record(to, archive.filename, digest)
        if report:
            report(f"{archive.filename}: {checked}; sha256 {digest}")
    return to


def fetch(archive: Archive, path: Path, progress: Callable[[str, int, int | None], None] | None = None) -> Path:
    """Download ``archive`` to ``path``, resuming ``path.part``; the size must be what the server
    announced (and what the source lists), the sha256 what the source publishes."""
    partial = path.with_name(path.name + ".part")
    have = partial.stat().st_size if partial.exists() else 0
    try:
        total = _receive(archive, partial, have, progress)
    except urllib.error.HTTPError as exc:
        if exc.code == 416 and have and _complete_part(archive, exc.headers.get("Content-Range"), have):
            total = have  # the part already holds every byte: a rerun after the last one arrived
        elif exc.code == 416:
            partial.unlink()  # larger than the file now is: start again next time
            raise DownloadError(archive.url, "the partial download does not match the file on the server "
                                             "(deleted; rerun to fetch it again)") from None
        else:
            raise DownloadError(archive.url, f"the server answered {exc.code} {exc.reason} (moved or gone?)") from None
    except (urllib.error.URLError, TimeoutError, ConnectionError, OSError) as exc:
        reason = getattr(exc, "reason", exc)
        raise DownloadError(archive.url, f"cannot reach it ({reason}); offline? the partial download is kept, "
                                         "rerun to resume") from None
    _verify(archive, partial, total)
    partial.replace(path)
    return path


def _receive(archive: Archive, partial: Path, have: int, progress) -> int | None:
    """Append the rest of the file to ``partial``; the size announced for the whole file (None
    when the server announces none)."""
    request = urllib.request.Request(archive.url, headers={"Range": f"bytes={have}-"} if have else {})
    with urllib.request.urlopen(request, timeout=TIMEOUT) as response:
        if have and response.status != 206:
            have = 0  # the server ignored the range: start again
        length = response.headers.get("Content-Length")
        total = have + int(length) if length is not None and length.isdigit() else None
        with open(partial, "ab" if have else "wb") as handle:
            while block := response.read(CHUNK):
                handle.write(block)
                have += len(block)
                if progress:
                    progress(archive.filename, have, total or archive.size)
    return total


def _complete_part(archive: Archive, content_range: str | None, have: int) -> bool:
    """Whether a 416 answer says the part is the whole file (``Content-Range: bytes */SIZE``)."""
    size = archive.size
    if content_range and content_range.startswith("bytes */") and content_range[8:].isdigit():
        size = int(content_range[8:])
    return size == have


def _verify(archive: Archive, partial: Path, announced: int | None) -> None:
    size = partial.stat().st_size
    for expected, whose in ((announced, "the server announced"), (archive.size, "the source lists")):
        if expected is not None and size < expected:
            raise DownloadError(archive.url, f"the connection ended after {size} of the {expected} bytes {whose} "
                                             "(the partial download is kept; rerun to resume)")
        if expected is not None and size > expected:
            partial.unlink()
            raise DownloadError(archive.url, f"got {size} bytes, more than the {expected} {whose} (deleted; rerun "
                                             "to fetch it again)")
    if archive.sha256 is not None and sha256_of(partial) != archive.sha256:
        partial.unlink()
        raise DownloadError(archive.url, "sha256 does not match the published one: the archive is corrupt "
                                         "(deleted; rerun to fetch it again)")


def _check_against_record(folder: Path, archive: Archive, path: Path, digest: str) -> str:
    """What the archive was checked against, in words; refuses one that differs from the copy
    that unpacked cleanly before (no published checksum to decide which is right)."""
    if archive.sha256 is not None:
        return "sha256 matches the published checksum"
    recorded = _recorded(folder).get(archive.filename)
    if recorded is None:
        return "unverified (no published checksum; size checked against the server's)"
    if recorded != digest:
        raise DownloadError(path, f"differs from the copy downloaded here before (sha256 {recorded[:12]}…, recorded "
                                  f"in {folder / RECORD}); if the data set was updated, remove its entry there")
    return "unverified (no published checksum); same sha256 as the copy downloaded here before"


def unpack(archive: Path, target: Path, protected: set[str] = frozenset({RECORD})) -> None:
    """Extract a zip or tar archive into ``target``, refusing members that escape it, are links
    or special files, would replace a ``protected`` name, or unpack far beyond the archive's size.
    An archive that cannot be read is deleted (a rerun fetches it again)."""
    try:
        if zipfile.is_zipfile(archive):
            _unpack_zip(archive, target, protected)
        elif tarfile.is_tarfile(archive):
            _unpack_tar(archive, target, protected)
        else:
            raise zipfile.BadZipFile("not a zip or tar archive")
    except (zipfile.BadZipFile, tarfile.TarError, gzip.BadGzipFile, EOFError, zlib.error) as exc:
        archive.unlink(missing_ok=True)
        raise DownloadError(archive, f"cannot be unpacked ({_reason(exc)}): a corrupt or truncated download; "
                                     "deleted, rerun to fetch it again") from None


def _unpack_zip(archive: Path, target: Path, protected: set[str]) -> None:
    with zipfile.ZipFile(archive) as bundle:
        members = bundle.infolist()
        _check_members(archive, target, [m.filename for m in members], protected)
        _check_size(archive, sum(m.file_size for m in members))
        bundle.extractall(target)


def _unpack_tar(archive: Path, target: Path, protected: set[str]) -> None:
    with tarfile.open(archive) as bundle:
        members = bundle.getmembers()
        _check_members(archive, target, [m.name for m in members], protected)
        if any(not (m.isfile() or m.isdir()) for m in members):
            raise DownloadError(archive, "archive holds links or special files; refusing to unpack")
        _check_size(archive, sum(m.size for m in members))
        bundle.extractall(target, filter="data")


def _check_members(archive: Path, target: Path, names: list[str], protected: set[str]) -> None:
    root = target.resolve()
    for name in names:
        destination = (root / name).resolve()
        if destination != root and root not in destination.parents:
            raise DownloadError(archive, f"member {name!r} would be written outside the target folder")
        if destination.parent == root and (destination.name in protected or destination.name.endswith(".part")):
            raise DownloadError(archive, f"member {name!r} would replace moodmap's own download files; refusing")


def _check_size(archive: Path, unpacked: int) -> None:
    allowance = max(MIN_ALLOWANCE, MAX_RATIO * archive.stat().st_size)
    if unpacked > allowance:
        raise DownloadError(archive, f"would unpack to {unpacked / 2**20:.0f} MB, more than {MAX_RATIO}× its own "
                                     "size (a zip bomb?); refusing")


def _reason(exc: BaseException) -> str:
    return str(exc).splitlines()[0] if str(exc) else type(exc).__name__


def _recorded(folder: Path) -> dict[str, str]:
    path = folder / RECORD
    try:
        return json.loads(path.read_text(encoding="utf-8")) if path.exists() else {}
    except (OSError, ValueError) as exc:
        raise DownloadError(path, f"unreadable ({exc}); remove it to start the record again") from None


def _record(folder: Path, filename: str, digest: str) -> None:
    entries = _recorded(folder)
    if entries.get(filename) != digest:
        atomic_write_text(folder / RECORD, json.dumps({**entries, filename: digest}, indent=2))


__all__ = ["Archive", "Source", "SOURCES", "DownloadError", "download_dataset", "fetch", "unpack", "sha256_of"]
