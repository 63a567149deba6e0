"""The user's own tags win: a hand-set mood is kept by default, every change moodmap makes is
journaled and `moodmap untag` puts the tags back; ID3v2.3 stays v2.3; WAV tags are read; a file
mutagen cannot tag is that file's failure, not the end of the scan."""
from __future__ import annotations

import os
import shutil
import sqlite3
from pathlib import Path

import mutagen
import pytest
from mutagen.id3 import ID3, TMOO, TXXX
from mutagen.mp4 import MP4FreeForm
from typer.testing import CliRunner

from moodmap.core.audio_payload import audio_digest
from moodmap.cli import app
from userlib import make_user_library

HAND_SET = {".mp3": "Epic", ".flac": "Melancholy", ".m4a": "Aggressive", ".ogg": "Dreamy"}


@pytest.fixture(scope="module")
def pristine(tmp_path_factory) -> Path:
    music = tmp_path_factory.mktemp("tags") / "Music"
    for path in make_user_library(music):
        if path.suffix in HAND_SET:
            set_mood(path, HAND_SET[path.suffix])
    return music


@pytest.fixture
def music(pristine, tmp_path) -> Path:
    shutil.copytree(pristine, tmp_path / "Music")
    return tmp_path / "Music"


def set_mood(path: Path, mood: str) -> None:
    handle = mutagen.File(str(path))
    if path.suffix == ".mp3":
        handle.tags.setall("TMOO", [TMOO(encoding=3, text=[mood])])
    elif path.suffix == ".m4a":
        handle.tags["----:com.apple.iTunes:MOOD"] = [MP4FreeForm(mood.encode())]
    else:
        handle.tags["MOOD"] = [mood]
    handle.save()


def tags_of(path: Path) -> str:
    return mutagen.File(str(path)).tags.pprint()


def run(*args: str, code: int = 0) -> str:
    result = CliRunner().invoke(app, list(args))
    assert result.exit_code == code, result.output
    return result.output


def mood_tag(path: Path) -> str | None:
    from moodmap.library.tags import read_mood_tags

    return read_mood_tags(path).get("MOOD")


def test_hand_set_moods_are_kept_and_untag_restores_every_tag(music, tmp_path):
    files = sorted(p for p in music.rglob("*.*"))
    before = {p: tags_of(p) for p in files if p.suffix != ".wav"}
    audio = {p: audio_digest(p) for p in files}
    db = str(tmp_path / "lib.sqlite")
    run("scan", str(music), "--db", db, "--write-tags", "--jobs", "1")
    for path in files:
        if path.suffix in HAND_SET:
            assert mood_tag(path) == HAND_SET[path.suffix]  # the user's mood stays …
        from moodmap.library.tags import read_mood_tags
        assert "VALENCE" in read_mood_tags(path)  # … and moodmap's numbers are written beside it
        from moodmap.inference.registry import resolve  # … naming the model and exactly which weights
        assert read_mood_tags(path)["MOODMAP_MODEL"] == f"improved sha256:{resolve('improved').sha256[:12]}"
    out = run("untag", "--db", db)
    assert f"{len(files)} files restored" in out
    for path in before:
        assert tags_of(path) == before[path], path
    assert {p: audio_digest(p) for p in files} == audio
    from moodmap.library.tags import read_mood_tags
    assert not read_mood_tags(next(music.rglob("*.wav")))


def test_replace_overwrites_a_hand_set_mood_and_untag_brings_it_back(music, tmp_path):
    song = next(music.rglob("*.flac"))
    before = tags_of(song)
    db = str(tmp_path / "lib.sqlite")
    out = run("scan", str(music), "--db", db, "--write-tags", "--mood-tag", "replace", "--jobs", "1")
    assert "(was 'Melancholy')" in out and mood_tag(song) != "Melancholy"
    with sqlite3.connect(db) as connection:
        original = connection.execute("SELECT original FROM tag_journal WHERE path = ? AND key = 'MOOD'",
                                      (str(song),)).fetchone()
    assert original == ("Melancholy",)
    run("untag", "--db", db)
    assert tags_of(song) == before


def test_skip_writes_no_mood_and_a_mood_the_user_changes_later_is_theirs(music, tmp_path):
    db = str(tmp_path / "lib.sqlite")
    wav = next(music.rglob("*.wav"))
    run("scan", str(music), "--db", db, "--write-tags", "--mood-tag", "skip", "--jobs", "1")
    assert mood_tag(wav) is None
    run("scan", str(music), "--db", db, "--write-tags", "--jobs", "1")  # keep: moodmap may write a MOOD where none is
    written = mood_tag(wav)
    assert written
    set_id3_mood(wav, "Nostalgic")  # the user edits it after moodmap wrote it
    run("scan", str(music), "--db", db, "--write-tags", "--jobs", "1")
    assert mood_tag(wav) == "Nostalgic"
    out = run("untag", "--db", db)
    assert "MOOD was changed since moodmap wrote it" in out and mood_tag(wav) == "Nostalgic"


def set_id3_mood(path: Path, mood: str) -> None:
    handle = mutagen.File(str(path))
    handle.tags.setall("TMOO", [TMOO(encoding=3, text=[mood])])
    handle.save()


def test_an_id3v23_file_stays_v23(music, tmp_path):
    song = next(music.rglob("*.mp3"))
    tags = ID3(str(song))
    tags.delall("TMOO")
    tags.add(TXXX(encoding=1, desc="MOOD", text=["Epic"]))  # how Picard writes a mood into v2.3
    tags.save(v2_version=3)
    assert ID3(str(song)).version[:2] == (2, 3) and mood_tag(song) == "Epic"
    run("scan", str(music), "--db", str(tmp_path / "lib.sqlite"), "--write-tags", "--mood-tag", "replace",
        "--jobs", "1")
    after = ID3(str(song))
    assert after.version[:2] == (2, 3) and not after.getall("TMOO")
    assert [f.text[0] for f in after.getall("TXXX") if f.desc == "MOOD"] and mood_tag(song) != "Epic"


def test_wav_and_aiff_titles_are_read(tmp_path):
    import numpy as np
    import soundfile as sf
    from mutagen.id3 import TALB, TIT2, TPE1

    from moodmap.library.tags import read_tags

    for suffix, fmt in ((".wav", "WAV"), (".aiff", "AIFF")):
        path = tmp_path / f"song{suffix}"
        sf.write(path, np.zeros(8000, "float32"), 8000, format=fmt)
        handle = mutagen.File(str(path))
        handle.add_tags()
        handle.tags.add(TIT2(encoding=3, text=["Clair de Lune"]))
        handle.tags.add(TPE1(encoding=3, text=["Debussy"]))
        handle.tags.add(TALB(encoding=3, text=["Suite"]))
        handle.save()
        info = read_tags(path)
        assert (info.title, info.artist, info.album) == ("Clair de Lune", "Debussy", "Suite")


def test_a_file_mutagen_cannot_tag_is_one_failure_and_the_scan_goes_on(music, tmp_path):
    song = next(music.rglob("*.mp3"))
    audio = song.read_bytes()
    start = 10 + int.from_bytes(audio[6:10], "big") if audio[:3] == b"ID3" else 0  # drop the real tag
    song.write_bytes(b"ID3\x04\x00\x00\xff\xff\xff\xff" + audio[start:])  # a size that is not synchsafe
    db = str(tmp_path / "lib.sqlite")
    out = run("scan", str(music), "--db", db, "--write-tags", "--jobs", "1", code=1)  # it ran; one file failed
    failed = [line for line in out.splitlines() if line.startswith("moodmap: failed")]
    assert len(failed) == 1 and song.name in failed[0]
    assert "5 files tagged" in out


def test_a_symlinked_song_is_tagged_through_its_link(music, tmp_path):
    real = next(music.rglob("*.flac"))
    outside = tmp_path / "elsewhere"
    outside.mkdir()
    moved = outside / real.name
    real.rename(moved)
    real.symlink_to(moved)
    run("scan", str(music), "--db", str(tmp_path / "lib.sqlite"), "--write-tags", "--jobs", "1")
    assert real.is_symlink() and real.resolve() == moved
    from moodmap.library.tags import read_mood_tags
    assert "VALENCE" in read_mood_tags(moved)


def test_a_hard_linked_song_keeps_its_links(music, tmp_path):
    song = next(music.rglob("*.ogg"))
    twin = tmp_path / "twin.ogg"
    os.link(song, twin)
    inode = song.stat().st_ino
    run("scan", str(music), "--db", str(tmp_path / "lib.sqlite"), "--write-tags", "--jobs", "1")
    assert song.stat().st_ino == inode and song.stat().st_nlink == 2 and twin.samefile(song)
    from moodmap.library.tags import read_mood_tags
    assert "VALENCE" in read_mood_tags(twin)


def test_an_in_place_write_cut_short_is_finished_next_time(music, tmp_path):
    from moodmap.core.atomic import staged_path
    from moodmap.library.tags import read_mood_tags, write_mood_tags

    song = next(music.rglob("*.flac"))
    twin = tmp_path / "twin.flac"
    os.link(song, twin)
    values = {"VALENCE": "0.500", "AROUSAL": "0.500"}
    staged = tmp_path / "staged.flac"
    shutil.copy(song, staged)
    write_mood_tags(staged, values)  # the complete new content a crash left staged …
    full = staged.read_bytes()
    staged.rename(staged_path(song))
    with open(song, "r+b") as torn:  # … after the in-place copy had written half of it
        torn.write(full[: len(full) // 2])
    assert write_mood_tags(song, values) == {}  # finished first: the tags are already there
    assert song.read_bytes() == full and twin.samefile(song) and not staged_path(song).exists()
    assert read_mood_tags(song)["VALENCE"] == "0.500"


def test_an_unknown_mood_policy_is_one_error_before_any_work(music, tmp_path):
    db = tmp_path / "lib.sqlite"
    out = run("scan", str(music), "--db", str(db), "--write-tags", "--mood-tag", "overwrite", code=2)
    said = [line for line in out.splitlines() if not line.startswith("moodmap: note:")]
    assert len(said) == 1 and "--mood-tag must be one of keep, replace, skip" in said[0] and not db.exists()
