"""A real player reads what moodmap writes: Debian's Music Player Daemon, started on a private
config over a tagged test library, loads every mood playlist with every song resolved, and
reads the mood tags. Needs `mpd` and `mpc` (the Makefile installs them, like chromium)."""
from __future__ import annotations

import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest

from userlib import make_user_library

MOODMAP = str(Path(sys.executable).parent / "moodmap")
pytestmark = pytest.mark.skipif(not (shutil.which("mpd") and shutil.which("mpc")),
                                reason="needs Debian's mpd and mpc (make test installs them)")


def moodmap(*args: str, cwd: Path) -> str:
    done = subprocess.run([MOODMAP, *args], cwd=cwd, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stdout + done.stderr
    return done.stdout


@pytest.fixture(scope="module")
def tagged(tmp_path_factory) -> Path:
    """Twelve songs in six formats, scanned with --write-tags, and every mood's playlists written
    three ways: M3U8 inside the music folder, M3U in MPD's playlist_directory, .nsp beside them."""
    root = tmp_path_factory.mktemp("mpd")
    names = [(f"Artist {i % 3}", f"Album {i % 2}", f"Song {i}") for i in range(12)]
    make_user_library(root / "music", seconds=16.0, seed=11, names=names)
    moodmap("scan", "music", "--db", "lib.sqlite", "--write-tags", cwd=root)
    moodmap("playlists", "--all-moods", "--db", "lib.sqlite", "--to", "music/Playlists", cwd=root)
    moodmap("playlists", "--all-moods", "--db", "lib.sqlite", "--to", "playlists", "--format", "m3u",
            "--music-dir", "music", cwd=root)
    return root


@pytest.fixture(scope="module")
def mpd(tagged):
    """MPD on a unix socket in the test folder, null audio output; stopped (and checked gone) after."""
    conf = tagged / "mpd.conf"
    conf.write_text("\n".join([f'music_directory "{tagged / "music"}"', f'playlist_directory "{tagged / "playlists"}"',
                               f'db_file "{tagged / "mpd.db"}"', f'state_file "{tagged / "mpd.state"}"',
                               f'bind_to_address "{tagged / "mpd.socket"}"',
                               'audio_output {\n  type "null"\n  name "silence"\n}', ""]))
    server = subprocess.Popen(["mpd", "--no-daemon", "--stderr", str(conf)], stdout=subprocess.DEVNULL,
                              stderr=subprocess.PIPE, text=True)
    env = {**os.environ, "MPD_HOST": str(tagged / "mpd.socket")}
    for _ in range(100):
        if (tagged / "mpd.socket").exists():
            break
        time.sleep(0.1)
    mpc = lambda *args: subprocess.run(["mpc", *args], env=env, capture_output=True, text=True, timeout=120)  # noqa: E731
    assert mpc("update", "--wait").returncode == 0
    yield mpc
    server.terminate()
    server.wait(timeout=20)


def entries(playlist: Path) -> list[str]:
    return [line for line in playlist.read_text().splitlines() if line and not line.startswith("#")]


def loaded(mpc, name: str) -> list[str]:
    assert mpc("clear").returncode == 0
    done = mpc("load", name)
    assert done.returncode == 0, done.stderr
    return mpc("-f", "%file%", "playlist").stdout.split("\n")[:-1]


def test_mpd_loads_every_playlist_in_the_music_folder_with_every_song(tagged, mpd):
    playlists = sorted((tagged / "music" / "Playlists").glob("*.m3u8"))
    assert len(playlists) >= 2  # the synthetic songs fall into several moods
    for playlist in playlists:
        songs = loaded(mpd, f"Playlists/{playlist.name}")
        assert len(songs) == len(entries(playlist)) > 0, playlist.name
        assert songs == [os.path.normpath(f"Playlists/{e}") for e in entries(playlist)]


def test_mpd_loads_every_playlist_from_its_playlist_directory(tagged, mpd):
    stored = {line for line in mpd("lsplaylists").stdout.splitlines()}
    playlists = sorted((tagged / "playlists").glob("*.m3u"))
    assert {p.stem for p in playlists} <= stored and playlists
    for playlist in playlists:
        assert loaded(mpd, playlist.stem) == entries(playlist), playlist.name


def test_every_song_lands_in_exactly_one_quadrant_playlist(tagged):
    quadrants = [e for q in ("Q1", "Q2", "Q3", "Q4") if (tagged / "playlists" / f"moodmap - {q}.m3u").exists()
                 for e in entries(tagged / "playlists" / f"moodmap - {q}.m3u")]
    assert len(quadrants) == len(set(quadrants)) <= 12


def ask(tagged: Path, command: str) -> list[tuple[str, str]]:
    """One MPD protocol command over the socket: its (key, value) answer lines."""
    import socket

    with socket.socket(socket.AF_UNIX) as connection:
        connection.connect(str(tagged / "mpd.socket"))
        stream = connection.makefile("rwb")
        assert stream.readline().startswith(b"OK MPD")
        stream.write(command.encode() + b"\n")
        stream.flush()
        answer = []
        while not (line := stream.readline().decode()).startswith(("OK", "ACK")):
            key, _, value = line.rstrip("\n").partition(": ")
            answer.append((key, value))
        assert line.startswith("OK"), line
        return answer


def test_mpd_reads_the_tags_of_every_file_moodmap_tagged_and_the_mood_where_it_can(tagged, mpd):
    songs, current = {}, None
    for key, value in ask(tagged, "listallinfo"):
        if key == "file":
            current = songs.setdefault(value, {})
        elif current is not None:
            current[key] = value
    assert len(songs) == 12  # tags intact after moodmap's writes (MPD 0.23 reads none from a WAV's ID3 chunk)
    assert all(tags.get("Title", "").startswith("Song ") for song, tags in songs.items() if not song.endswith(".wav"))
    by_playlist = {}
    for playlist in (tagged / "playlists").glob("moodmap - *.m3u"):
        mood = playlist.stem.removeprefix("moodmap - ")
        if not mood.startswith("Q"):
            by_playlist.update({song: mood for song in entries(playlist)})
    assert len(by_playlist) == 12  # every song is in its named mood's playlist
    if "Mood" in {value for _, value in ask(tagged, "tagtypes")}:  # MPD 0.24 and later
        assert all(songs[song]["Mood"] == mood for song, mood in by_playlist.items())
    else:  # Debian 12's MPD 0.23 has no mood tag: the playlists are how MPD users get moods (docs/mpd.md)
        assert not any("Mood" in tags for tags in songs.values())


def test_a_rerun_replaces_only_its_own_files(tagged, tmp_path):
    folder = tagged / "music" / "Playlists"
    mine = folder / "my own.m3u8"
    mine.write_text("#EXTM3U\n")
    edited = sorted(folder.glob("moodmap - *.m3u8"))[0]
    edited.write_text(edited.read_text() + "# my note\n")
    out = moodmap("playlists", "--all-moods", "--db", "lib.sqlite", "--to", "music/Playlists", cwd=tagged)
    assert "1 left alone" in out and mine.read_text() == "#EXTM3U\n" and edited.read_text().endswith("# my note\n")
