import shutil

import pytest

from helpers import tone, write_audio
from moodmap.core.audio_payload import audio_digest
from moodmap.library.tags import mood_values, read_mood_tags, read_tags, write_mood_tags

VALUES = mood_values(0.712, 0.334, "relaxed", "Q4", "paper")


def m4a(path):
    av = pytest.importorskip("av")
    with av.open(str(path), "w") as out:
        stream = out.add_stream("aac", rate=44100)
        frame = av.AudioFrame.from_ndarray(tone(2.0, 44100)[None, :], format="fltp", layout="mono")
        frame.sample_rate = 44100
        for packet in [*stream.encode(frame), *stream.encode(None)]:
            out.mux(packet)
    return path


@pytest.fixture(params=["mp3", "flac", "ogg", "wav", "m4a"])
def song(request, tmp_path):
    path = tmp_path / f"sång.{request.param}"
    return m4a(path) if request.param == "m4a" else write_audio(path, tone(3.0, 22050), 22050)


def test_tags_round_trip_and_audio_bytes_are_unchanged(song):
    before = audio_digest(song)
    changes = write_mood_tags(song, VALUES)
    assert set(changes) == set(VALUES) and all(old is None for old, _ in changes.values())
    assert read_mood_tags(song) == VALUES
    assert audio_digest(song) == before


def test_second_write_changes_nothing_and_dry_run_writes_nothing(song):
    write_mood_tags(song, VALUES)
    assert write_mood_tags(song, VALUES) == {}
    stamp = song.stat().st_mtime_ns
    planned = write_mood_tags(song, {**VALUES, "MOOD": "calm"}, dry_run=True)
    assert planned == {"MOOD": ("relaxed", "calm")} and song.stat().st_mtime_ns == stamp


def test_other_tags_survive(tmp_path):
    import mutagen

    path = write_audio(tmp_path / "t.flac", tone(2.0, 22050), 22050)
    handle = mutagen.File(str(path), easy=True)
    handle["title"] = "Keep me"
    handle.save()
    write_mood_tags(path, VALUES)
    assert read_tags(path).title == "Keep me"


def test_mp3_payload_digest_ignores_tags_but_not_audio(tmp_path):
    path = write_audio(tmp_path / "a.mp3", tone(2.0, 22050), 22050)
    other = write_audio(tmp_path / "b.mp3", tone(2.0, 22050, freqs=(500.0,)), 22050)
    copy = tmp_path / "c.mp3"
    shutil.copy(path, copy)
    write_mood_tags(copy, VALUES)
    assert audio_digest(copy) == audio_digest(path) != audio_digest(other)
    assert copy.read_bytes() != path.read_bytes()


def test_another_live_process_copy_is_left_alone_a_dead_ones_removed(tmp_path):
    import os
    import subprocess

    from moodmap.core.atomic import remove_stale_temps

    song = write_audio(tmp_path / "song.flac", tone(2.0, 22050), 22050)
    sleeper = subprocess.Popen(["sleep", "30"])
    try:
        live = tmp_path / f".song.flac.{sleeper.pid}.abc123.partial"
        dead = tmp_path / ".song.flac.999999999.def456.partial"
        old = tmp_path / ".song.flac.ghi789.partial"  # made before temps carried their owner
        for temp in (live, dead, old):
            temp.write_bytes(b"copy")
        assert remove_stale_temps(tmp_path, song.name) == 2
        assert live.exists() and not dead.exists() and not old.exists()
        write_mood_tags(song, VALUES)
        assert live.exists() and read_mood_tags(song) == VALUES and os.path.exists(song)
    finally:
        sleeper.kill()
