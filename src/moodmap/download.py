"""Fetching public data sets: resumable downloads, size and sha256 checks, safe unpacking.

``fetch`` continues a partial download with an HTTP Range request, checks the size and
(when known) the sha256, and only then renames ``*.part`` to the archive; a corrupt
archive is deleted with a clear message. ``unpack`` refuses members that would land
outside the target folder. Where an archive has no published checksum, the first
verified download's sha256 is recorded in ``DIR/.moodmap-downloads.json`` and later
downloads are held to it.
"""
from __future__ import annotations

import hashlib
import json
import tarfile
import urllib.error
import urllib.request
import zipfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from .atomic import atomic_write_text
from .errors import MoodmapError

CHUNK = 1 << 16
TIMEOUT = 30


class DownloadError(MoodmapError):
    """A download failed, was corrupt, or its source has moved."""


@dataclass(frozen=True)
class Archive:
    url: str
    filename: str
    size: int | None = None
    sha256: str | None = None


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
                     progress: Callable[[str, int, int | None], None] | None = None) -> Path:
    """Fetch and unpack a data set into ``to``; returns it. Raises DownloadError with manual steps."""
    source = source or SOURCES.get(name)
    if source is None:
        raise DownloadError(None, f"unknown data set {name!r}; one of {', '.join(SOURCES)}")
    to = Path(to)
    to.mkdir(parents=True, exist_ok=True)
    if not source.archives:
        raise DownloadError(to, f"{source.name} cannot be fetched automatically: {source.manual}")
    for archive in source.archives:
        path = to / archive.filename
        if not path.exists():
            try:
                fetch(archive, path, _recorded(to).get(archive.filename), progress)
            except DownloadError as exc:
                raise DownloadError(path, f"{exc.reason}. By hand: {source.manual}") from None
            _record(to, archive.filename, sha256_of(path))
        unpack(path, to)
    return to


def fetch(archive: Archive, path: Path, recorded_sha256: str | None = None,
          progress: Callable[[str, int, int | None], None] | None = None) -> Path:
    """Download ``archive`` to ``path``, resuming ``path.part``; verify size and sha256."""
    partial = path.with_name(path.name + ".part")
    have = partial.stat().st_size if partial.exists() else 0
    request = urllib.request.Request(archive.url, headers={"Range": f"bytes={have}-"} if have else {})
    try:
        with urllib.request.urlopen(request, timeout=TIMEOUT) as response:
            if have and response.status != 206:
                have = 0  # the server ignored the range: start again
            length = response.headers.get("Content-Length")
            total = have + int(length) if length is not None else archive.size
            with open(partial, "ab" if have else "wb") as handle:
                while block := response.read(CHUNK):
                    handle.write(block)
                    have += len(block)
                    if progress:
                        progress(archive.filename, have, total)
    except urllib.error.HTTPError as exc:
        raise DownloadError(archive.url, f"the server answered {exc.code} {exc.reason} (moved or gone?)") from None
    except (urllib.error.URLError, TimeoutError, ConnectionError, OSError) as exc:
        reason = getattr(exc, "reason", exc)
        raise DownloadError(archive.url, f"cannot reach it ({reason}); offline? the partial download is kept, "
                                         "rerun to resume") from None
    _verify(archive, partial, recorded_sha256)
    partial.replace(path)
    return path


def _verify(archive: Archive, partial: Path, recorded_sha256: str | None) -> None:
    size = partial.stat().st_size
    if archive.size is not None and size != archive.size:
        if size > archive.size:
            partial.unlink()
        raise DownloadError(archive.url, f"got {size} bytes, expected {archive.size}")
    expected = archive.sha256 or recorded_sha256
    if expected is not None and sha256_of(partial) != expected:
        partial.unlink()
        raise DownloadError(archive.url, "sha256 does not match: the archive is corrupt (deleted; rerun to fetch "
                                         "it again)")


def unpack(archive: Path, target: Path) -> None:
    """Extract a zip or tar archive into ``target``, refusing members that escape it."""
    root = target.resolve()
    if zipfile.is_zipfile(archive):
        with zipfile.ZipFile(archive) as bundle:
            names = bundle.namelist()
            _check_members(archive, root, names)
            bundle.extractall(target)
    elif tarfile.is_tarfile(archive):
        with tarfile.open(archive) as bundle:
            members = bundle.getmembers()
            _check_members(archive, root, [m.name for m in members])
            if any(m.issym() or m.islnk() for m in members):
                raise DownloadError(archive, "archive holds links; refusing to unpack")
            bundle.extractall(target, filter="data")
    else:
        raise DownloadError(archive, "not a zip or tar archive (corrupt download?)")


def _check_members(archive: Path, root: Path, names: list[str]) -> None:
    for name in names:
        destination = (root / name).resolve()
        if destination != root and root not in destination.parents:
            raise DownloadError(archive, f"member {name!r} would be written outside the target folder")


def sha256_of(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        while block := handle.read(1 << 20):
            digest.update(block)
    return digest.hexdigest()


def _recorded(folder: Path) -> dict[str, str]:
    path = folder / ".moodmap-downloads.json"
    return json.loads(path.read_text(encoding="utf-8")) if path.exists() else {}


def _record(folder: Path, filename: str, digest: str) -> None:
    entries = _recorded(folder)
    entries[filename] = digest
    atomic_write_text(folder / ".moodmap-downloads.json", json.dumps(entries, indent=2))


__all__ = ["Archive", "Source", "SOURCES", "DownloadError", "download_dataset", "fetch", "unpack", "sha256_of"]
