"""`moodmap integrate mpd`: every indexed song's valence, arousal and mood as stickers in a real,
running MPD (conftest's `mpd`: Debian's MPD over the tagged library of test_mpd.py), set through
the installed CLI and read back through MPD's protocol as a client would (`sticker list`,
`sticker find song "" valence`). Each test starts from an MPD without stickers and its own copy of
the index."""
from __future__ import annotations

import os
import shutil
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest

from mpd_server import PASSWORD, start_mpd

MOODMAP = str(Path(sys.executable).parent / "moodmap")
NAMES = ("valence", "arousal", "mood")
pytestmark = pytest.mark.xdist_group("mpd")  # with test_mpd.py: one library, one MPD


def integrate(*args: str, cwd: Path, host: str | None = None, code: int = 0) -> subprocess.CompletedProcess:
    """``moodmap integrate mpd ARGS`` with MPD_HOST=``host`` (none: MPD_HOST unset)."""
    env = {k: v for k, v in os.environ.items() if k not in ("MPD_HOST", "MPD_PORT")}
    env.update({"MPD_HOST": host} if host else {})
    done = subprocess.run([MOODMAP, "integrate", "mpd", "--db", "lib.sqlite", *args], cwd=cwd, env=env,
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == code, done.stdout + done.stderr
    return done


@pytest.fixture
def client(mpd):
    """A python-mpd2 client logged in to the test MPD."""
    import mpd as mpd2

    connection = mpd2.MPDClient()
    connection.connect(str(mpd.socket))
    connection.password(PASSWORD)
    yield connection
    connection.disconnect()


@pytest.fixture
def fresh(tagged, mpd, client, tmp_path) -> Path:
    """A folder with its own copy of the index, and an MPD holding no sticker."""
    for song in uris(client):
        for name in client.sticker_list("song", song):
            client.sticker_delete("song", song, name)
    shutil.copy(tagged / "lib.sqlite", tmp_path / "lib.sqlite")
    return tmp_path


def uris(client) -> list[str]:
    return [entry["file"] for entry in client.listall() if "file" in entry]


def expected(folder: Path, music: Path) -> dict[str, dict[str, str]]:
    """MPD URI → the stickers the index says it should have."""
    with sqlite3.connect(folder / "lib.sqlite") as connection:
        rows = connection.execute("SELECT path, valence, arousal, emotion FROM songs").fetchall()
    return {Path(path).relative_to(music.resolve()).as_posix(): {
        "valence": f"{round(v * 1000):04d}", "arousal": f"{round(a * 1000):04d}", "mood": emotion}
        for path, v, a, emotion in rows}


def stickers(client) -> dict[str, dict[str, str]]:
    """Every song's stickers, as MPD has them (songs without any left out)."""
    return {song: found for song in uris(client) if (found := client.sticker_list("song", song))}


def test_every_indexed_song_gets_its_valence_arousal_and_mood_and_sticker_find_returns_them(fresh, tagged, mpd,
                                                                                           client):
    done = integrate(cwd=fresh, host=mpd.host)
    assert "12 songs: set 12, 0 unchanged, 0 not in MPD's database" in done.stdout, done.stdout
    want = expected(fresh, tagged / "music")
    assert stickers(client) == want
    found = {hit["file"]: hit["sticker"] for hit in client.sticker_find("song", "", "valence")}
    assert found == {song: f"valence={values['valence']}" for song, values in want.items()}
    listed = mpd("sticker", next(iter(want)), "list")  # as a user checks one song
    assert listed.returncode == 0 and f"mood={want[next(iter(want))]['mood']}" in listed.stdout.split("\n")


def test_four_digit_values_order_right_in_mpds_sticker_comparisons(fresh, mpd, client):
    integrate(cwd=fresh, host=mpd.host)
    values = {song: int(found["valence"]) for song, found in stickers(client).items()}
    middle = sorted(values.values())[len(values) // 2]
    above = {hit["file"] for hit in client.sticker_find("song", "", "valence", ">", f"{middle:04d}")}
    assert above == {song for song, value in values.items() if value > middle} and above


def sticker_writes(mpd):
    """Start listening for MPD's sticker events (MPD tells of every sticker written, by any client);
    the function returned stops and says whether any came."""
    import socket

    connection = socket.socket(socket.AF_UNIX)
    connection.connect(str(mpd.socket))
    stream = connection.makefile("rwb")
    assert stream.readline().startswith(b"OK MPD")
    stream.write(f"password {PASSWORD}\nidle sticker\n".encode())
    stream.flush()
    assert stream.readline() == b"OK\n"

    def stop() -> bool:
        stream.write(b"noidle\n")
        stream.flush()
        lines = []
        while not (line := stream.readline()).startswith((b"OK", b"ACK")):
            lines.append(line)
        connection.close()
        return b"changed: sticker\n" in lines

    return stop


def test_a_rerun_rewrites_nothing_unchanged_and_only_what_changed(fresh, mpd, client):
    integrate(cwd=fresh, host=mpd.host)
    client.sticker_set("song", uris(client)[0], "mood", "edited by hand")
    written = sticker_writes(mpd)
    done = integrate(cwd=fresh, host=mpd.host)
    assert "set 1, 11 unchanged" in done.stdout, done.stdout
    assert written()  # the listener sees a write (it would see any)
    written = sticker_writes(mpd)
    done = integrate(cwd=fresh, host=mpd.host)
    assert "set 0, 12 unchanged" in done.stdout, done.stdout
    assert not written()  # nothing rewritten


def test_dry_run_counts_and_changes_nothing(fresh, mpd, client):
    done = integrate("--dry-run", cwd=fresh, host=mpd.host)
    assert "would set 12, 0 unchanged" in done.stdout and "dry run" in done.stdout, done.stdout
    assert stickers(client) == {}
    with sqlite3.connect(fresh / "lib.sqlite") as connection:
        assert not connection.execute("SELECT name FROM sqlite_master WHERE name = 'mpd_stickers'").fetchall()


def test_remove_deletes_only_moodmaps_stickers_and_puts_back_what_it_replaced(fresh, mpd, client):
    songs = uris(client)
    client.sticker_set("song", songs[0], "rating", "5")  # the user's own stickers, there before moodmap
    client.sticker_set("song", songs[1], "mood", "sunday morning")
    done = integrate(cwd=fresh, host=mpd.host)
    assert "1 sticker held a value moodmap had not set" in done.stdout, done.stdout
    client.sticker_set("song", songs[2], "valence", "0999")  # changed by hand after moodmap set it
    done = integrate("--remove", cwd=fresh, host=mpd.host)
    assert "34 stickers removed, 1 put back to their earlier value, 1 left alone" in done.stdout, done.stdout
    assert stickers(client) == {songs[0]: {"rating": "5"}, songs[1]: {"mood": "sunday morning"},
                                songs[2]: {"valence": "0999"}}
    done = integrate("--remove", cwd=fresh, host=mpd.host)
    assert "0 stickers removed, 0 put back" in done.stdout, done.stdout  # nothing left on record


def test_a_value_set_by_hand_after_moodmap_is_recorded_by_the_rerun_and_put_back_by_remove(fresh, mpd, client):
    songs = uris(client)
    integrate(cwd=fresh, host=mpd.host)
    client.sticker_set("song", songs[0], "mood", "mine")  # the user's, after moodmap's first run
    done = integrate(cwd=fresh, host=mpd.host)
    assert "1 sticker held a value moodmap had not set" in done.stdout, done.stdout
    integrate(cwd=fresh, host=mpd.host)  # a third run: moodmap's own value again, "mine" stays on record
    done = integrate("--remove", cwd=fresh, host=mpd.host)
    assert "1 put back to their earlier value" in done.stdout, done.stdout
    assert stickers(client) == {songs[0]: {"mood": "mine"}}


def test_songs_mpd_does_not_know_are_counted_not_errors(fresh, tagged, mpd, client):
    with sqlite3.connect(fresh / "lib.sqlite") as connection:  # a song indexed since MPD's last update
        row = connection.execute("SELECT * FROM songs LIMIT 1").fetchone()
        columns = [c[1] for c in connection.execute("PRAGMA table_info(songs)")]
        new = dict(zip(columns, row), id=None, file_id=None, path=str((tagged / "music" / "Artist 0" / "new song.flac").resolve()))
        connection.execute(f"INSERT INTO songs ({', '.join(new)}) VALUES ({', '.join('?' * len(new))})",
                           list(new.values()))
    done = integrate(cwd=fresh, host=mpd.host)
    assert "13 songs: set 12, 0 unchanged, 1 not in MPD's database" in done.stdout, done.stdout
    assert "new song.flac" in done.stderr and "mpc update" in done.stderr
    assert len(stickers(client)) == 12


@pytest.mark.parametrize("how", ["socket", "tcp", "music-dir"])
def test_songs_are_found_over_tcp_by_their_paths_or_with_music_dir(fresh, tagged, mpd, client, how):
    """Over the local socket MPD names its music_directory; over TCP it will not, and the songs are
    found by their paths; --music-dir says it outright."""
    args = {"socket": (), "tcp": ("--port", str(mpd.port)), "music-dir": ("--music-dir", str(tagged / "music"))}
    host = {"socket": mpd.host, "tcp": f"{PASSWORD}@127.0.0.1", "music-dir": mpd.host}[how]
    done = integrate(*args[how], cwd=fresh, host=host)
    source = {"socket": "MPD's config", "tcp": "found by matching the songs' paths", "music-dir": "--music-dir"}
    assert f"({source[how]})" in done.stdout and "set 12" in done.stdout, done.stdout
    assert stickers(client) == expected(fresh, tagged / "music")


def test_without_the_password_mpd_refuses_in_one_line(fresh, mpd):
    done = integrate(cwd=fresh, host=str(mpd.socket), code=2)
    assert done.stderr.count("\n") == 1 and "MPD_HOST=password@host" in done.stderr, done.stderr


def test_a_wrong_password_is_one_line(fresh, mpd):
    done = integrate(cwd=fresh, host=f"not-{PASSWORD}@{mpd.socket}", code=2)
    assert done.stderr.count("\n") == 1 and "MPD refused the password" in done.stderr, done.stderr


def test_no_mpd_there_is_one_line(fresh):
    done = integrate("--host", str(fresh / "no.socket"), cwd=fresh, code=2)
    assert done.stderr.count("\n") == 1 and "cannot reach MPD" in done.stderr, done.stderr


def test_an_mpd_without_a_sticker_database_says_what_to_add(fresh, tagged, tmp_path_factory):
    other = start_mpd(tmp_path_factory.mktemp("bare"), tagged / "music", stickers=False)
    try:
        done = integrate(cwd=fresh, host=other.host, code=2)
    finally:
        other.stop()
    assert "no sticker database" in done.stderr and "sticker_file" in done.stderr, done.stderr


@pytest.mark.parametrize("environ,host,port,password", [
    ({}, "localhost", 6600, None),
    ({"MPD_HOST": "secret@music.local", "MPD_PORT": "6601"}, "music.local", 6601, "secret"),
    ({"MPD_HOST": "/run/mpd/socket"}, "/run/mpd/socket", 6600, None),
    ({"MPD_HOST": "pw@@mpd"}, "@mpd", 6600, "pw"),  # an abstract socket, with a password
    ({"MPD_HOST": "@mpd"}, "@mpd", 6600, None),
])
def test_the_address_is_read_as_mpd_clients_read_it(environ, host, port, password):
    from moodmap.library.mpd_stickers import MpdAddress

    assert MpdAddress.resolve(environ=environ) == MpdAddress(host, port, password)


@pytest.mark.parametrize("port", [0, 65536, 99999, -1])
def test_a_port_outside_1_to_65535_is_refused_in_one_line(port):
    from moodmap.core.errors import MoodmapError
    from moodmap.library.mpd_stickers import MpdAddress

    with pytest.raises(MoodmapError, match=f"^port {port} is not a port number"):
        MpdAddress.resolve(port=port, environ={})
