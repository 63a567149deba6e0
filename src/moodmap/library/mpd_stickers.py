"""MPD stickers: each indexed song's ``valence``, ``arousal`` and ``mood`` in a running MPD's sticker
database (``moodmap integrate mpd``), through its protocol (python-mpd2, ``moodmap[mpd]``).

``valence`` and ``arousal`` are the 0–1 values scaled to integers 0–1000 and written with four
digits ("0000" … "1000"): MPD 0.24's integer operators (``sticker find song "" valence gt 600``)
read them as numbers, and MPD 0.23's ``<`` / ``>``, which compare text, order them right too.
``mood`` is the song's nearest named emotion (calm, happy, …).

A song is found in MPD by its path below MPD's ``music_directory``: ``--music-dir`` when given,
else the folder MPD's ``config`` names (it answers only on its local socket), else the folder
found by asking MPD for a few songs of each scanned folder under ever shorter path suffixes
(``Music/Album/x.flac``, ``Album/x.flac``, …): that works over TCP, from another machine that
mounts the music elsewhere, and through symlinks in MPD's folder of the same name. A song MPD
does not know is counted, not an error.

What moodmap sets it records in the index (table ``mpd_stickers``: the value before moodmap, the
value it wrote), so that a rerun rewrites only stickers whose value changed and ``--remove``
deletes exactly moodmap's stickers — a value moodmap replaced is put back, a sticker changed
since moodmap set it is left alone, and no other sticker name is ever touched.
"""
from __future__ import annotations

import os
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

from ..core.clock import timestamp
from ..core.errors import MoodmapError, parameter
from .index import Library, editing
from .song_table import one_per_file

STICKERS = ("valence", "arousal", "mood")  # the only sticker names moodmap sets or deletes
SCALE = 1000  # valence 0.6 → "0600"
DEFAULT_HOST, DEFAULT_PORT = "localhost", 6600
SAMPLES = 8  # songs per scanned folder asked for when finding MPD's music_directory
JOURNAL = """CREATE TABLE IF NOT EXISTS mpd_stickers (
    uri TEXT NOT NULL, name TEXT NOT NULL,
    original TEXT,          -- the sticker's value before moodmap first set it; NULL: there was none
    written TEXT NOT NULL,  -- what moodmap set last
    at TEXT NOT NULL,
    PRIMARY KEY (uri, name))"""
NO_SUCH_SONG = 50  # MPD's ACK code for an unknown song (and an unknown sticker)
Progress = Callable[[int, int], None]


@dataclass(frozen=True)
class MpdAddress:
    """Where MPD listens: a host and port, or a socket path (``/…``, or ``@name`` for an abstract one)."""

    host: str = DEFAULT_HOST
    port: int = DEFAULT_PORT
    password: str | None = None

    @classmethod
    def resolve(cls, host: str | None = None, port: int | None = None, environ=None) -> MpdAddress:
        """As MPD's clients do: ``host`` (else $MPD_HOST, else localhost), ``password@`` before it
        when MPD wants one, ``port`` (else $MPD_PORT, else 6600)."""
        environ = os.environ if environ is None else environ
        host = host or environ.get("MPD_HOST") or DEFAULT_HOST
        password = None
        if "@" in host[1:]:  # "pass@host"; a leading "@" is an abstract socket's name
            split = host.index("@", 1)
            password, host = host[:split], host[split + 1:]
        if port is None:
            text = environ.get("MPD_PORT") or str(DEFAULT_PORT)
            if not text.isdigit() or not 0 < int(text) < 65536:
                raise MoodmapError(None, f"MPD_PORT={text!r} is not a port number")
            port = int(text)
        elif not 0 < port < 65536:
            raise MoodmapError(None, f"{parameter('port')} {port} is not a port number (1-65535)")
        return cls(os.path.expanduser(host) if host.startswith("~") else host, port, password or None)

    @property
    def local_socket(self) -> bool:
        return self.host.startswith(("/", "@"))

    def __str__(self) -> str:
        return self.host if self.local_socket else f"{self.host}:{self.port}"


@dataclass
class StickerSummary:
    """What ``set_stickers`` or ``remove_stickers`` did (or, dry, would do)."""

    address: str
    dry_run: bool = False
    songs: int = 0
    set: int = 0  # songs with at least one sticker written
    unchanged: int = 0  # songs whose three stickers already held moodmap's values
    unknown: list[str] = field(default_factory=list)  # indexed songs MPD does not know (index paths)
    replaced: int = 0  # stickers that held a value moodmap had not set (recorded: --remove puts it back)
    removed: int = 0  # stickers deleted (--remove)
    restored: int = 0  # stickers put back to the value they had before moodmap (--remove)
    left_alone: int = 0  # stickers changed since moodmap set them (--remove leaves them)
    missing: int = 0  # recorded stickers of songs MPD does not have now (kept on record)
    music_dir: str | None = None
    music_dir_source: str = ""


@contextmanager
def connected(address: MpdAddress) -> Iterator[object]:
    """A python-mpd2 client logged in to MPD at ``address``, able to use stickers; one line when not."""
    try:
        import mpd
    except ImportError:
        raise MoodmapError(None, "talking to MPD needs python-mpd2: pip install 'moodmap[mpd]'") from None
    client = _client_class()()
    client.timeout = 30
    try:
        client.connect(address.host, address.port)
    except (OSError, mpd.ConnectionError) as exc:
        raise MoodmapError(str(address), f"cannot reach MPD ({exc}); is it running? ({parameter('host')} / "
                                         f"{parameter('port')}, or MPD_HOST / MPD_PORT)") from None
    try:
        _log_in(client, address)
        yield client
    except (mpd.ConnectionError, ConnectionError, TimeoutError) as exc:
        raise MoodmapError(str(address), f"lost the connection to MPD ({exc or type(exc).__name__}); what was set "
                                         "is recorded: run the same command again") from None
    except mpd.CommandError as exc:  # a sticker MPD would not set or delete (a permission taken away meanwhile)
        raise MoodmapError(str(address), f"MPD refused a sticker change ({exc}); what was set is recorded") from None
    finally:
        try:
            client.close()
            client.disconnect()
        except (OSError, mpd.MPDError):
            pass


def _client_class() -> type:
    """python-mpd2's client, with a ``config`` that returns every line MPD sends as a dict (python-mpd2
    expects one line; MPD 0.24 sends music_directory, playlist_directory and pcre)."""
    import mpd

    class Client(mpd.MPDClient):
        pass

    Client.add_command("config", mpd.MPDClient._parse_object)
    return Client


def _log_in(client, address: MpdAddress) -> None:
    """Send the password, then check that MPD has a sticker database this client may use."""
    import mpd

    if address.password:
        try:
            client.password(address.password)
        except mpd.CommandError:
            raise MoodmapError(str(address), "MPD refused the password (the password@ before the host in "
                                             f"{parameter('host')} or MPD_HOST)") from None
    if "sticker" in client.commands():
        return
    if "sticker" in client.notcommands():
        raise MoodmapError(str(address), "MPD does not let this client use stickers (it needs the admin "
                                         "permission): give MPD's password as MPD_HOST=password@host")
    raise MoodmapError(str(address), "MPD has no sticker database: add sticker_file \"~/.mpd/sticker.sql\" "
                                     "(any path MPD may write) to mpd.conf and restart MPD")


def wanted_stickers(row: dict) -> dict[str, str]:
    """The stickers of one indexed song: valence and arousal as four-digit integers 0–1000, its mood."""
    scaled = lambda x: f"{min(SCALE, max(0, round(float(x) * SCALE))):04d}"  # noqa: E731
    return {"valence": scaled(row["valence"]), "arousal": scaled(row["arousal"]), "mood": row["emotion"]}


def current_stickers(client, uri: str) -> dict[str, str] | None:
    """The stickers MPD holds for the song ``uri``; None when MPD does not know the song."""
    import mpd

    try:
        return client.sticker_list("song", uri)
    except mpd.CommandError as exc:
        if _ack(exc) == NO_SUCH_SONG:
            return None
        raise MoodmapError(uri, f"MPD refused to list its stickers: {exc}") from None


def _ack(exc: Exception) -> int | None:
    """The number of MPD's ACK [N@…] in a CommandError."""
    text = str(exc)
    head = text[1:text.find("@")] if text.startswith("[") else ""
    return int(head) if head.isdigit() else None


def place_songs(client, paths: list[str], roots: list[str],
                music_dir: Path | None = None) -> tuple[dict[str, str], str | None, str]:
    """Index path → MPD URI for every song that can be placed below MPD's music folder, with that
    folder and how it was found. ``music_dir`` decides alone when given; else each scanned folder's
    songs are placed under MPD's configured folder when they lie in it, else under the folder that
    suffix matching finds for them (``find_base``)."""
    if music_dir is not None:
        folder = os.path.abspath(os.path.expanduser(music_dir))
        return _under(paths, folder), folder, "--music-dir"
    configured = _configured_music_dir(client)
    uris: dict[str, str] = {}
    found: Counter[str] = Counter()
    for group in _by_root(paths, roots):
        base = configured if configured and _under(group[:SAMPLES], configured) else find_base(client, group)
        if base is not None:
            placed = _under(group, base)
            uris.update(placed)
            found[base] += len(placed)
    if not found:
        return uris, configured, "MPD's config" if configured else "no song's path matched one MPD knows"
    base = found.most_common(1)[0][0]
    return uris, base, "MPD's config" if base == configured else "found by matching the songs' paths"


def _under(paths: list[str], base: str) -> dict[str, str]:
    """The paths below ``base`` (as given, or with symlinks resolved), each relative to it as MPD writes it."""
    bases = {os.path.abspath(base), os.path.realpath(base)}
    placed = {}
    for path in paths:
        for folder in bases:
            if path.startswith(folder.rstrip(os.sep) + os.sep):
                placed[path] = Path(path).relative_to(folder).as_posix()
                break
    return placed


def _by_root(paths: list[str], roots: list[str]) -> list[list[str]]:
    """The songs grouped by the scanned folder they lie in (the deepest), those in none together."""
    groups: dict[str | None, list[str]] = {}
    ordered = sorted(roots, key=len, reverse=True)
    for path in sorted(paths):
        root = next((r for r in ordered if path.startswith(r.rstrip(os.sep) + os.sep)), None)
        groups.setdefault(root, []).append(path)
    return list(groups.values())


def find_base(client, paths: list[str]) -> str | None:
    """The folder MPD's URIs of ``paths`` are relative to: for a few of them, the longest path suffix
    MPD knows as a song names it; the folder most of them agree on."""
    step = max(1, len(paths) // SAMPLES)
    votes: Counter[str] = Counter()
    for path in paths[::step][:SAMPLES]:
        parts = Path(path).parts
        for i in range(1, len(parts)):
            if current_stickers(client, "/".join(parts[i:])) is not None:
                votes[str(Path(*parts[:i]))] += 1
                break
    return votes.most_common(1)[0][0] if votes else None


def _configured_music_dir(client) -> str | None:
    """MPD's music_directory as its config says (MPD answers only on a local socket); None otherwise."""
    import mpd

    try:
        folder = client.config().get("music_directory")
    except mpd.CommandError:  # "Command only permitted to local clients", or no permission
        return None
    return folder if isinstance(folder, str) and os.path.isdir(folder) else None


def set_stickers(db_path: str | Path, address: MpdAddress, music_dir: Path | None = None, dry_run: bool = False,
                 progress: Progress = lambda done, total: None) -> StickerSummary:
    """Set the valence, arousal and mood stickers of every indexed song MPD knows, writing only those
    whose value differs; each write recorded in the index first. ``dry_run`` counts, changes nothing."""
    with editing(db_path, dry_run=dry_run, create=False) as library, connected(address) as client:
        rows = one_per_file(library.catalogue())
        summary = StickerSummary(str(address), dry_run, songs=len(rows))
        uris, summary.music_dir, summary.music_dir_source = place_songs(
            client, [row["path"] for row in rows], library.roots(), music_dir)
        if not dry_run:
            library.db.execute(JOURNAL)
        journal = {(uri, name): written for uri, name, _, written in _journal(library)}
        for done, row in enumerate(rows, 1):
            uri = uris.get(row["path"])
            current = current_stickers(client, uri) if uri is not None else None
            if uri is None or current is None:
                summary.unknown.append(row["path"])
            else:
                _set_song(client, library, journal, uri, current, wanted_stickers(row), summary)
            progress(done, len(rows))
    return summary


def _set_song(client, library: Library, journal: dict, uri: str, current: dict[str, str], wanted: dict[str, str],
              summary: StickerSummary) -> None:
    """One song: record, then set, the stickers whose value is not moodmap's now."""
    changes = {name: value for name, value in wanted.items() if current.get(name) != value}
    if not changes:
        summary.unchanged += 1
        return
    summary.set += 1
    summary.replaced += sum(name in current and journal.get((uri, name)) != current[name] for name in changes)
    if summary.dry_run:
        return
    with library.db:  # recorded first: a run stopped between the two leaves nothing --remove cannot find
        library.db.executemany(
            # A value that is not the one moodmap wrote last was set by someone else since: it becomes
            # the value --remove puts back (as a value there before moodmap's first run is).
            "INSERT INTO mpd_stickers VALUES (?, ?, ?, ?, ?) ON CONFLICT(uri, name) DO UPDATE SET "
            "original = CASE WHEN excluded.original IS mpd_stickers.written THEN mpd_stickers.original "
            "ELSE excluded.original END, written = excluded.written, at = excluded.at",
            [(uri, name, current.get(name), value, timestamp()) for name, value in changes.items()])
    for name, value in changes.items():
        client.sticker_set("song", uri, name, value)


def _journal(library: Library) -> list[tuple[str, str, str | None, str]]:
    """The stickers moodmap has set: (uri, name, value before moodmap, value moodmap wrote)."""
    if not library.db.execute("SELECT 1 FROM sqlite_master WHERE name = 'mpd_stickers'").fetchone():
        return []
    return [tuple(row) for row in library.db.execute(
        "SELECT uri, name, original, written FROM mpd_stickers ORDER BY uri, name")]


def remove_stickers(db_path: str | Path, address: MpdAddress, dry_run: bool = False,
                    progress: Progress = lambda done, total: None) -> StickerSummary:
    """Undo ``set_stickers``: each sticker moodmap set that still holds its value is deleted (or put
    back to the value it replaced); one changed since is left alone. Songs MPD does not have now stay
    on record for a later --remove."""
    with editing(db_path, dry_run=dry_run, create=False) as library, connected(address) as client:
        songs: dict[str, list[tuple[str, str | None, str]]] = {}
        for uri, name, original, written in _journal(library):
            songs.setdefault(uri, []).append((name, original, written))
        summary = StickerSummary(str(address), dry_run, songs=len(songs))
        for done, (uri, stickers) in enumerate(songs.items(), 1):
            current = current_stickers(client, uri)
            if current is None:
                summary.missing += len(stickers)
                summary.unknown.append(uri)
            else:
                _remove_song(client, library, uri, current, stickers, summary)
            progress(done, len(songs))
    return summary


def _remove_song(client, library: Library, uri: str, current: dict[str, str],
                 stickers: list[tuple[str, str | None, str]], summary: StickerSummary) -> None:
    """One song: delete (or put back) each of moodmap's stickers that holds what moodmap wrote."""
    for name, original, written in stickers:
        now = current.get(name)
        if now is None:  # deleted since: nothing to undo
            continue
        if now != written:
            summary.left_alone += 1
        elif original is None:
            summary.removed += 1
            if not summary.dry_run:
                client.sticker_delete("song", uri, name)
        else:
            summary.restored += 1
            if not summary.dry_run:
                client.sticker_set("song", uri, name, original)
    if not summary.dry_run:
        with library.db:
            library.db.executemany("DELETE FROM mpd_stickers WHERE uri = ? AND name = ?",
                                   [(uri, name) for name, _, _ in stickers])
