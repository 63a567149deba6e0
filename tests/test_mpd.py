"""A real player reads what moodmap writes: Debian's Music Player Daemon, started on a private
config over a tagged test library, loads every mood playlist with every song resolved, and
reads the mood tags. Those tests need `mpd` and `mpc` (the Makefile installs them, like chromium);
what moodmap writes for it (relative playlist entries, each song in its moods' playlists, the
tags) is checked everywhere."""
from __future__ import annotations

import os
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest

MOODMAP = str(Path(sys.executable).parent / "moodmap")
# The library (`tagged`) and the MPD over it (`mpd`) are conftest.py's, shared with test_mpd_stickers.py:
# both modules run on one xdist worker, so they are made once.
pytestmark = pytest.mark.xdist_group("mpd")


def moodmap(*args: str, cwd: Path) -> str:
    done = subprocess.run([MOODMAP, *args], cwd=cwd, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stdout + done.stderr
    return done.stdout


def entries(playlist: Path) -> list[str]:
    return [line for line in playlist.read_text().splitlines() if line and not line.startswith("#")]


def indexed(tagged: Path) -> dict[str, tuple[float, float, str, str | None]]:
    """The index's songs: path relative to the music folder → (valence, arousal, emotion, quadrant)."""
    with sqlite3.connect(tagged / "lib.sqlite") as connection:
        rows = connection.execute("SELECT path, valence, arousal, emotion, quadrant FROM songs").fetchall()
    music = (tagged / "music").resolve()
    return {str(Path(path).relative_to(music)): (v, a, emotion, quadrant) for path, v, a, emotion, quadrant in rows}


def moods(tagged: Path, folder: str, suffix: str) -> dict[str, list[str]]:
    """Each ``moodmap - MOOD`` playlist of ``folder``: mood → its entries."""
    return {p.stem.removeprefix("moodmap - "): entries(p) for p in sorted((tagged / folder).glob(f"moodmap - *{suffix}"))}


def test_playlists_name_every_song_by_a_relative_path_that_resolves(tagged):
    songs = indexed(tagged)
    assert len(songs) == 12
    beside = moods(tagged, "music/Playlists", ".m3u8")  # relative to the playlist's own folder
    in_mpd = moods(tagged, "playlists", ".m3u")  # relative to the music folder (--music-dir)
    assert set(beside) == set(in_mpd) and len(beside) >= 2  # the synthetic songs fall into several moods
    for mood, listed in beside.items():
        assert listed and not any(Path(e).is_absolute() for e in listed + in_mpd[mood]), mood
        resolved = [str((tagged / "music" / "Playlists" / e).resolve().relative_to((tagged / "music").resolve()))
                    for e in listed]
        assert set(resolved) <= set(songs), mood
        assert in_mpd[mood] == resolved, mood  # the same songs in the same order, each written for its reader


def test_each_song_is_in_its_moods_playlist_and_its_quadrants_and_no_other(tagged):
    songs = indexed(tagged)
    playlists = moods(tagged, "playlists", ".m3u")
    named = {mood: set(listed) for mood, listed in playlists.items() if not mood.startswith("Q")}
    quadrants = {mood: set(listed) for mood, listed in playlists.items() if mood.startswith("Q")}
    for song, (_, _, emotion, quadrant) in songs.items():
        assert [m for m, listed in named.items() if song in listed] == [emotion], song
        assert [q for q, listed in quadrants.items() if song in listed] == ([quadrant] if quadrant else []), song


def test_every_file_carries_its_index_values_as_tags(tagged):
    from moodmap.library.tags import read_mood_tags

    for song, (valence, arousal, emotion, quadrant) in indexed(tagged).items():
        tags = read_mood_tags(tagged / "music" / song)
        assert (tags["VALENCE"], tags["AROUSAL"]) == (f"{valence:.3f}", f"{arousal:.3f}"), song
        assert (tags["MOOD"], tags["MOODMAP_QUADRANT"]) == (emotion, quadrant or "neutral"), song


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
    by_index = {song: emotion for song, (_, _, emotion, _) in indexed(tagged).items()}
    assert set(by_index) == set(songs)
    if "Mood" in {value for _, value in ask(tagged, "tagtypes")}:  # MPD 0.24 and later
        assert all(songs[song]["Mood"] == mood for song, mood in by_index.items())
    else:  # Debian 12's MPD 0.23 has no mood tag: the playlists are how MPD users get moods (docs/library/servers/mpd.md)
        assert not any("Mood" in tags for tags in songs.values())


def test_a_rerun_replaces_only_its_own_files(tagged, tmp_path):
    folder = tagged / "music" / "Playlists"
    mine = folder / "my own.m3u8"
    mine.write_text("#EXTM3U\n")
    edited = sorted(folder.glob("moodmap - *.m3u8"))[0]
    edited.write_text(edited.read_text() + "# my note\n")
    out = moodmap("playlist-folder", "--all-moods", "--db", "lib.sqlite", "--to", "music/Playlists", cwd=tagged)
    assert "1 left alone" in out and mine.read_text() == "#EXTM3U\n" and edited.read_text().endswith("# my note\n")
