import shutil
import signal
import sqlite3
import subprocess
import sys
import time

import mutagen
import pytest
from typer.testing import CliRunner

from helpers import tone, write_audio
from moodmap.cli import app
from moodmap.library.index import Library
from moodmap.library.scan import scan_library
from moodmap.inference.predict import predict_file
from moodmap.research.models.checkpoint import load_model


@pytest.fixture
def music(tmp_path):
    """A small library: four formats, a unicode name, an existing tag, a nested folder and a broken file."""
    root = tmp_path / "Music"
    (root / "Artist" / "Album").mkdir(parents=True)
    for i, name in enumerate(["a.wav", "b.flac", "Ünïcödé – ça.ogg", "Artist/Album/d.mp3"]):
        write_audio(root / name, tone(16.0 + i, 16000, freqs=(220.0 * (i + 1), 330.0)), 16000)
    tagged = mutagen.File(str(root / "b.flac"), easy=True)
    tagged["title"], tagged["artist"] = "Bee", "Flac Band"
    tagged.save()
    (root / "broken.mp3").write_bytes(b"ID3" + b"\x00" * 500)
    (root / "notes.txt").write_text("not music")
    return root


def scan(music, db, model, **kw):
    return scan_library(music, db, str(model), jobs=1, **kw)


def test_scan_indexes_every_readable_song_once(music, tmp_path, exported):
    summary = scan(music, tmp_path / "lib.sqlite", exported[0])
    assert (summary.files, summary.analysed, len(summary.failures)) == (5, 4, 1)
    assert summary.failures[0].path.endswith("broken.mp3")
    library = Library(tmp_path / "lib.sqlite")
    rows = {r["path"].split("/Music/")[1]: r for r in library.songs()}
    assert set(rows) == {"a.wav", "b.flac", "Ünïcödé – ça.ogg", "Artist/Album/d.mp3"}
    assert (rows["b.flac"]["title"], rows["b.flac"]["artist"]) == ("Bee", "Flac Band")
    assert rows["a.wav"]["duration"] == pytest.approx(16.0, abs=0.1)
    expected = predict_file(music / "a.wav", load_model(exported[0]))
    assert rows["a.wav"]["valence"] == pytest.approx(expected.valence, abs=1e-6)
    assert library.db.execute("PRAGMA integrity_check").fetchone()[0] == "ok"


def test_rescan_is_incremental(music, tmp_path, exported):
    db = tmp_path / "lib.sqlite"
    scan(music, db, exported[0])
    again = scan(music, db, exported[0])
    assert (again.analysed, again.unchanged, again.skipped_failed) == (0, 4, 1)
    write_audio(music / "new.wav", tone(17.0, 16000), 16000)
    grown = scan(music, db, exported[0])
    assert (grown.analysed, grown.unchanged) == (1, 4)
    retried = scan(music, db, exported[0], retry_failed=True)
    assert len(retried.failures) == 1 and retried.skipped_failed == 0


def test_a_reanalysed_song_keeps_its_id(music, tmp_path, exported):
    db = tmp_path / "lib.sqlite"
    scan(music, db, exported[0])
    ids = {r["path"]: r["id"] for r in Library(db).songs()}
    write_audio(music / "a.wav", tone(18.0, 16000), 16000)  # changed: analysed again
    assert scan(music, db, exported[0]).analysed == 1
    assert scan(music, db, exported[0], timeline=True).analysed == 4  # timelines added to every song
    after = {r["path"]: r["id"] for r in Library(db).songs()}
    assert after == ids


def test_moved_and_deleted_files(music, tmp_path, exported):
    db = tmp_path / "lib.sqlite"
    scan(music, db, exported[0])
    before = {r["fingerprint"]: r["valence"] for r in Library(db).songs()}
    shutil.move(music / "a.wav", music / "Artist" / "moved.wav")
    (music / "b.flac").unlink()
    summary = scan(music, db, exported[0])
    assert (summary.moved, summary.pruned, summary.analysed) == (1, 1, 0)
    rows = {r["path"].split("/Music/")[1]: r for r in Library(db).songs()}
    assert "Artist/moved.wav" in rows and "b.flac" not in rows and "a.wav" not in rows
    assert before[rows["Artist/moved.wav"]["fingerprint"]] == rows["Artist/moved.wav"]["valence"]


def indexed_songs(db) -> int:
    """Songs in the index right now (0 before it exists or while it cannot be read)."""
    try:
        with sqlite3.connect(f"file:{db}?mode=ro", uri=True, timeout=0.1) as connection:  # creates no empty file
            return connection.execute("SELECT COUNT(*) FROM songs").fetchone()[0]
    except sqlite3.Error:
        return 0


def test_kill_9_mid_scan_then_rerun_gives_every_file_once(tmp_path, exported):
    root = tmp_path / "Many"
    root.mkdir()
    for i in range(12):
        write_audio(root / f"{i:02d}.flac", tone(16.0, 16000, freqs=(200.0 + 20 * i,)), 16000)
    db = tmp_path / "lib.sqlite"
    command = [sys.executable, "-m", "moodmap.cli", "scan", str(root), "--db", str(db), "--model", str(exported[0]),
               "--jobs", "1"]
    victim = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 60
    while victim.poll() is None and indexed_songs(db) < 3:
        assert time.monotonic() < deadline, "the scan indexed fewer than 3 songs in 60 s"
        time.sleep(0.01)
    victim.send_signal(signal.SIGKILL)
    victim.wait()
    # the kill landed mid-scan: the process was still running, with some songs indexed and some not
    at_kill = indexed_songs(db)
    assert victim.returncode == -signal.SIGKILL and 3 <= at_kill < 12, (victim.returncode, at_kill)
    done = subprocess.run(command, capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    assert f"12 files: {12 - at_kill} analysed, {at_kill} unchanged" in done.stdout, done.stdout
    connection = sqlite3.connect(db)
    paths = [r[0] for r in connection.execute("SELECT path FROM songs")]
    assert len(paths) == len(set(paths)) == 12
    assert connection.execute("PRAGMA integrity_check").fetchone()[0] == "ok"


def test_cli_scan_stats_and_export(music, tmp_path, exported):
    runner = CliRunner()
    db = tmp_path / "lib.sqlite"
    result = runner.invoke(app, ["scan", str(music), "--db", str(db), "--model", str(exported[0]), "--jobs", "1"])
    assert result.exit_code == 0, result.output
    assert "4 analysed" in result.output and "1 failed" in result.output
    stats = runner.invoke(app, ["library", "stats", "--db", str(db)])
    assert stats.exit_code == 0 and "4 songs, 1 failure;" in stats.output
    export = runner.invoke(app, ["library", "export", "--db", str(db)])
    lines = export.output.strip().splitlines()
    assert lines[0].startswith("path,title,artist") and len(lines) == 5


def test_write_tags_then_rescan_sees_nothing_changed(music, tmp_path, exported):
    from moodmap.core.audio_payload import audio_digest
    from moodmap.library.tags import read_mood_tags

    db = tmp_path / "lib.sqlite"
    digests = {p: audio_digest(p) for p in music.rglob("*") if p.suffix in (".wav", ".flac", ".ogg", ".mp3")
               and p.name != "broken.mp3"}
    dry = scan(music, db, exported[0], write_tags=True, dry_run=True)
    assert len(dry.tag_changes) == 4 and dry.tags_written == 0 and not read_mood_tags(music / "b.flac")
    assert dry.analysed == 4 and not db.exists()  # analysed to show the tags, but nothing stored
    wet = scan(music, db, exported[0], write_tags=True)
    assert wet.tags_written == 4 and wet.analysed == 4
    row = next(r for r in Library(db).songs() if r["path"].endswith("b.flac"))
    assert read_mood_tags(music / "b.flac")["VALENCE"] == f"{row['valence']:.3f}"
    assert all(audio_digest(p) == d for p, d in digests.items())
    again = scan(music, db, exported[0])
    assert (again.analysed, again.unchanged, again.moved) == (0, 4, 0)
