"""One mood per file, where the user keeps it, and `moodmap untag` gives back the very frames
the file had: same frame ids, encodings, spellings and order, none added, none left behind
(a WAV that had no ID3 chunk gets its bytes back). An ID3v2.2 tag is not rewritten. WAVs'
RIFF LIST/INFO text (as ffmpeg writes it) is read into the index. All through the installed
program, on a library whose tags were set as a tagger would set them."""
from __future__ import annotations

import csv
import io
import shutil
import struct
import subprocess
import sys
from pathlib import Path

import mutagen
import pytest
from mutagen.id3 import ID3, TIT2, TMOO, TXXX
from mutagen.mp4 import MP4FreeForm, MP4Tags

from helpers import id3
from userlib import make_user_library

MOODMAP = str(Path(sys.executable).parent / "moodmap")
INFO = {b"INAM": "Été – Nuit", b"IART": "Low Tide", b"IPRD": "Mer", b"IGNR": "Ambient"}  # "Mer"+NUL: odd, padded


def moodmap(*args: str, cwd: Path, ok: bool = True) -> str:
    """The installed program's output; it must succeed (``ok``) or fail."""
    done = subprocess.run([MOODMAP, *args], cwd=cwd, capture_output=True, text=True, timeout=300)
    assert (done.returncode == 0) == ok, done.stdout + done.stderr
    return done.stdout + done.stderr


def info_chunk(fields: dict[bytes, str]) -> bytes:
    """A LIST/INFO chunk as ffmpeg writes it: NUL-terminated UTF-8 text, odd sizes padded."""
    body = b"INFO"
    for kind, text in fields.items():
        data = text.encode("utf-8") + b"\0"
        body += kind + struct.pack("<I", len(data)) + data + b"\0" * (len(data) & 1)
    return b"LIST" + struct.pack("<I", len(body)) + body


def append_chunk(wav: Path, chunk: bytes) -> None:
    data = wav.read_bytes() + chunk
    wav.write_bytes(data[:4] + struct.pack("<I", len(data) - 8) + data[8:])


def id3v22(mp3: Path, title: str) -> None:
    """Replace the mp3's tag by an ID3v2.2 one (three-letter frames, as old iTunes wrote): built by
    hand, since mutagen only writes v2.3/v2.4."""
    data = mp3.read_bytes()
    start = 10 + sum(b << (7 * (3 - i)) for i, b in enumerate(data[6:10])) if data[:3] == b"ID3" else 0  # synchsafe
    frames = b"".join(kind + len(text).to_bytes(3, "big") + text
                      for kind, text in ((b"TT2", b"\0" + title.encode()), (b"TP1", b"\0Old iTunes")))
    mp3.write_bytes(b"ID3\x02\x00\x00" + bytes((0, 0, len(frames) >> 7, len(frames) & 127)) + frames + data[start:])
    assert ID3(str(mp3)).version[:2] == (2, 2)




def vorbis(path: Path, *pairs: tuple[str, str]) -> None:
    handle = mutagen.File(str(path))
    handle.tags.extend(pairs)  # spelled as given, in this order
    handle.save()


# name → how the user's tagger left it (None: as userlib made it)
SETUP = {
    "v23_txxx.mp3": lambda p: id3(p, 3, TXXX(encoding=1, desc="MOOD", text=["Epic"])),  # Picard, v2.3
    "v24_txxx.mp3": lambda p: id3(p, 4, TXXX(encoding=3, desc="MOOD", text=["Dark"])),  # Picard, v2.4
    "v24_tmoo.mp3": lambda p: id3(p, 4, TMOO(encoding=0, text=["Calme"])),  # Latin-1, as some taggers do
    "v22.mp3": lambda p: id3v22(p, "Ancient"),
    "two_moods.flac": lambda p: vorbis(p, ("mood", "Happy"), ("mood", "Upbeat")),
    "one_mood.flac": lambda p: vorbis(p, ("MOOD", "Melancholy")),
    "bare.flac": None,
    "mood.ogg": lambda p: vorbis(p, ("MOOD", "Dreamy")),
    "bare.ogg": None,
    "mixed_case.opus": lambda p: vorbis(p, ("Mood", "Tender")),
    "bare.opus": None,
    "freeform.m4a": lambda p: m4a_mood(p, "Aggressive"),
    "bare.m4a": None,
    "bare.wav": None,
    "info.wav": lambda p: append_chunk(p, info_chunk(INFO)),
    "info_and_id3.wav": lambda p: (append_chunk(p, info_chunk(INFO)),
                                   id3(p, 4, TIT2(encoding=3, text=["From ID3"]), TXXX(encoding=3, desc="MOOD",
                                                                                           text=["Stormy"]))),
}


def m4a_mood(path: Path, mood: str) -> None:
    handle = mutagen.File(str(path))
    handle.tags["----:com.apple.iTunes:MOOD"] = [MP4FreeForm(mood.encode())]
    handle.save()


@pytest.fixture(scope="module")
def pristine(tmp_path_factory) -> Path:
    """The library as the user's taggers left it (one song per SETUP entry, its own music)."""
    music = tmp_path_factory.mktemp("frames") / "Music"
    made = make_user_library(music, seconds=6.0, names=[(f"Artist {i}", "Album", f"Song {i}") for i in range(24)])
    by_format = {suffix: [p for p in made if p.suffix == suffix] for suffix in {p.suffix for p in made}}
    for name, setup in SETUP.items():
        path = music / name
        by_format["." + name.rsplit(".", 1)[1]].pop().rename(path)
        if setup:
            setup(path)
    for path in made:
        if path.exists():
            path.unlink()
    for folder in sorted(music.glob("*/*"), reverse=True) + sorted(music.glob("*")):
        if folder.is_dir():
            folder.rmdir()
    return music


@pytest.fixture
def library(pristine, tmp_path) -> Path:
    shutil.copytree(pristine, tmp_path / "Music")
    return tmp_path


def frames(path: Path):
    """Every tag frame or key of a file exactly: ID3 version, frame ids with their encoding and text in
    order; Vorbis (name, value) pairs in order and spelling; MP4 atoms with their data types."""
    handle = mutagen.File(str(path))
    tags = handle.tags
    if tags is None:
        return None
    if isinstance(tags, ID3):
        return tags.version, [repr(frame) for frame in tags.values()]
    if isinstance(tags, MP4Tags):
        return sorted((key, [(repr(v), getattr(v, "dataformat", None)) for v in values])
                      for key, values in tags.items())
    return list(list.__iter__(tags))


def moods(path: Path) -> dict[str, list[str]]:
    """Where a file holds a mood: frame id or key spelling → values."""
    tags = mutagen.File(str(path)).tags
    if tags is None:
        return {}
    if isinstance(tags, ID3):
        return {f.HashKey: [str(t) for t in f.text] for f in tags.values()
                if f.FrameID == "TMOO" or (f.FrameID == "TXXX" and f.desc.upper() == "MOOD")}
    if isinstance(tags, MP4Tags):
        return {k: [bytes(v).decode() for v in vs] for k, vs in tags.items() if k.upper().endswith(":MOOD")}
    found: dict[str, list[str]] = {}
    for key, value in list.__iter__(tags):
        if key.upper() == "MOOD":
            found.setdefault(key, []).append(value)
    return found


def chunks(wav: Path) -> list[bytes]:
    data, position, found = wav.read_bytes(), 12, []
    while position + 8 <= len(data):
        size = struct.unpack("<I", data[position + 4:position + 8])[0]
        found.append(data[position:position + 4])
        position += 8 + size + (size & 1)
    return found


DEFAULT_SPELLING = {"mp3": "TMOO", "flac": "MOOD", "ogg": "MOOD", "opus": "MOOD", "m4a": "----:com.apple.iTunes:MOOD",
                    "wav": "TMOO"}
EMOTIONS = {"happy", "excited", "tense", "angry", "sad", "depressed", "calm", "relaxed", "neutral"}


@pytest.mark.parametrize("policy", ["keep", "replace", "skip"])
def test_one_mood_where_the_user_keeps_it_and_untag_gives_back_every_frame(library, policy):
    music = library / "Music"
    files = sorted(music.iterdir())
    before = {p.name: frames(p) for p in files}
    user = {p.name: moods(p) for p in files}
    raw = {p.name: p.read_bytes() for p in files}

    out = moodmap("scan", "Music", "--db", "lib.sqlite", "--write-tags", "--mood-tag", policy, "--jobs", "1",
                  cwd=library, ok=False)  # the ID3v2.2 file is not tagged: an exit code saying so
    failed = [line for line in out.splitlines() if line.startswith("moodmap: failed")]
    assert len(failed) == 1 and "v22.mp3: ID3v2.2 tag: not rewritten" in failed[0] and "mid3v2 --convert" in failed[0]
    assert (music / "v22.mp3").read_bytes() == raw["v22.mp3"]
    assert f"{len(files) - 1} files tagged" in out

    for path in files:
        if path.name == "v22.mp3":
            continue
        now, had = moods(path), user[path.name]
        if policy == "skip" or (policy == "keep" and had):
            assert now == had, path.name  # the user's mood, untouched; none added
        elif had:  # replace: in the user's own frame or spelling, every value of it
            assert set(now) == set(had), (path.name, now)
            assert all(len(v) == 1 and v[0] in EMOTIONS for v in now.values()), (path.name, now)
        else:  # a mood where there was none: one, where players look
            expected = "TXXX:MOOD" if path.name.startswith("v23") else DEFAULT_SPELLING[path.suffix[1:]]
            assert list(now) == [expected] and now[expected][0] in EMOTIONS, (path.name, now)
    assert not moods(music / "v24_txxx.mp3").get("TMOO")  # the bug: a second mood in TMOO beside TXXX:MOOD

    out = moodmap("untag", "--db", "lib.sqlite", cwd=library)
    assert f"{len(files) - 1} files restored" in out
    assert {p.name: frames(p) for p in files} == before
    for wav in ("bare.wav", "info.wav"):  # no ID3 chunk before: none after, byte for byte
        assert (music / wav).read_bytes() == raw[wav], chunks(music / wav)
    assert chunks(music / "info_and_id3.wav") == [b"fmt ", b"data", b"LIST", b"id3 "]


def test_riff_info_text_is_indexed_and_id3_wins_where_both_are(library):
    moodmap("scan", "Music", "--db", "lib.sqlite", "--jobs", "1", cwd=library)
    rows = {Path(r["path"]).name: r for r in csv.DictReader(io.StringIO(
        moodmap("library", "export", "--db", "lib.sqlite", cwd=library)))}
    assert {k: rows["info.wav"][k] for k in ("title", "artist", "album", "genre")} == \
        {"title": "Été – Nuit", "artist": "Low Tide", "album": "Mer", "genre": "Ambient"}
    assert (rows["info_and_id3.wav"]["title"], rows["info_and_id3.wav"]["artist"]) == ("From ID3", "Low Tide")
    assert rows["v22.mp3"]["title"] == "Ancient"  # an ID3v2.2 tag is read, only not rewritten
    moodmap("playlist", "--db", "lib.sqlite", "--arousal", "rise", "--n", "100", "-o", "all.m3u8", cwd=library)
    assert "Low Tide – Été – Nuit" in (library / "all.m3u8").read_text(encoding="utf-8")


@pytest.mark.parametrize("cut", [13, 30, 60])
def test_a_truncated_or_odd_info_chunk_is_read_safely(tmp_path, cut):
    import numpy as np
    import soundfile as sf

    from moodmap.library.tags import read_tags, riff_info

    wav = tmp_path / "s.wav"
    sf.write(wav, np.zeros(801, "int16"), 8000, subtype="PCM_U8")  # 801 bytes of samples: a padded data chunk
    append_chunk(wav, info_chunk({b"IART": "Low Tide", b"INAM": "Mer"}))
    assert riff_info(wav) == {"artist": "Low Tide", "title": "Mer"}
    data = wav.read_bytes()
    lost = wav.with_name("cut.wav")
    lost.write_bytes(data[:len(data) - cut])  # the end of the INFO chunk lost: what is whole is read
    assert riff_info(lost).get("title") is None and read_tags(lost).title is None


def test_untag_takes_away_the_second_mood_an_older_moodmap_left(library):
    """Before this fix, `--mood-tag replace` on a v2.4 file with the user's TXXX:MOOD wrote TMOO beside it."""
    import sqlite3

    music = library / "Music"
    song = music / "v24_txxx.mp3"
    before = frames(song)
    moodmap("scan", "Music", "--db", "lib.sqlite", "--write-tags", "--mood-tag", "skip", "--jobs", "1", cwd=library,
            ok=False)  # (the ID3v2.2 file)
    id3(song, 4, TMOO(encoding=3, text=["calm"]))  # what that moodmap wrote, and journaled:
    with sqlite3.connect(library / "lib.sqlite") as db:
        db.execute("INSERT INTO tag_journal VALUES (?, 'MOOD', 'Dark', 'calm', '2026-11-01T00:00:00')", (str(song),))
    assert moods(song) == {"TXXX:MOOD": ["Dark"], "TMOO": ["calm"]}
    moodmap("untag", "--db", "lib.sqlite", cwd=library)
    assert frames(song) == before
