"""What tags.py promises, each in a test that fails when the line holding it is changed (mutation
testing, ``make mutation MODULES=tags``): the common tags read from any format (a WAV's RIFF
LIST/INFO text as ffmpeg writes it, Latin-1 too), the mood values moodmap writes, several values
of one key kept as several, a value replaced in its own frame and encoding, owner and links kept,
and a write that would change the audio refused. Through the public functions, on small files
made here (each test well under a second)."""
from __future__ import annotations

import os
import struct
from pathlib import Path

import mutagen
import pytest
from mutagen.id3 import ID3, TIT2, TMOO, TXXX

from helpers import id3, tone, write_audio
from moodmap.core.errors import MoodmapError
from moodmap.library.tags import TrackInfo, mood_values, read_mood_tags, read_tags, riff_info, write_mood_tags


def song(folder: Path, name: str, seconds: float = 1.0) -> Path:
    rate = 22050 if name.endswith(".mp3") else 8000  # (an 8 kHz MPEG 2.5 mp3 is one mutagen does not find)
    return write_audio(folder / name, tone(seconds, rate), rate)


def riff(*chunks: bytes, form: bytes = b"WAVE") -> bytes:
    body = form + b"".join(chunks)
    return b"RIFF" + struct.pack("<I", len(body)) + body


def chunk(kind: bytes, data: bytes) -> bytes:
    """A RIFF chunk: its size says the data's length, an odd one is followed by a pad byte."""
    return kind + struct.pack("<I", len(data)) + data + b"\0" * (len(data) & 1)


def info(*pairs: tuple[bytes, bytes]) -> bytes:
    return chunk(b"LIST", b"INFO" + b"".join(chunk(kind, text) for kind, text in pairs))


def with_chunks(wav: Path, *chunks: bytes) -> Path:
    """The WAV with ``chunks`` appended and its RIFF size made right."""
    data = wav.read_bytes() + b"".join(chunks)
    wav.write_bytes(data[:4] + struct.pack("<I", len(data) - 8) + data[8:])
    return wav


# ------------------------------------------------------------------ reading the common tags
def test_a_file_that_is_not_audio_has_empty_tags(tmp_path):
    text = tmp_path / "notes.mp3"
    text.write_text("not a song at all\n" * 20)
    missing = tmp_path / "gone.flac"
    assert read_tags(text) == TrackInfo() and read_tags(missing) == TrackInfo()


def test_the_duration_is_read_in_seconds(tmp_path):
    found = read_tags(song(tmp_path, "a.flac", seconds=2.5))
    assert isinstance(found.duration, float) and found.duration == pytest.approx(2.5, abs=0.01)


def test_titles_are_stripped_and_a_blank_one_is_none(tmp_path):
    path = song(tmp_path, "a.flac")
    handle = mutagen.File(str(path), easy=True)
    handle["title"], handle["artist"], handle["album"], handle["genre"] = "  Nuit  ", "   ", "Mer", "Ambient"
    handle.save()
    assert read_tags(path) == TrackInfo("Nuit", None, "Mer", "Ambient", read_tags(path).duration)


def test_the_first_title_and_every_genre_are_read(tmp_path):
    path = song(tmp_path, "a.flac")
    handle = mutagen.File(str(path), easy=True)
    handle["title"], handle["genre"] = ["Nuit", "Night"], ["Jazz", " ", "Funk"]
    handle.save()
    found = read_tags(path)
    assert (found.title, found.genre) == ("Nuit", "Jazz; Funk")


def test_an_m4a_files_common_tags_are_read_by_name(tmp_path):
    m4a = make_m4a(tmp_path / "a.m4a")
    handle = mutagen.File(str(m4a), easy=True)
    handle["title"], handle["artist"], handle["genre"] = "Nuit", "Low Tide", ["Jazz", "Funk"]
    handle.save()
    found = read_tags(m4a)
    assert (found.title, found.artist, found.album, found.genre) == ("Nuit", "Low Tide", None, "Jazz; Funk")


def test_a_song_of_no_length_has_no_duration(tmp_path):
    import numpy as np
    import soundfile as sf

    empty = tmp_path / "empty.wav"
    sf.write(empty, np.zeros(0, "int16"), 8000)
    assert read_tags(empty).duration is None


def test_several_genres_in_a_wavs_id3_chunk_are_all_read(tmp_path):
    from mutagen.id3 import TCON

    wav = song(tmp_path, "a.wav")
    handle = mutagen.File(str(wav))
    handle.add_tags()
    handle.tags.add(TIT2(encoding=3, text=["One", "Two"]))
    handle.tags.add(TCON(encoding=3, text=["Jazz", "Funk"]))
    handle.save()
    found = read_tags(wav)
    assert (found.title, found.genre) == ("One", "Jazz; Funk")


def test_an_id3_tag_in_a_wav_is_read_and_riff_info_fills_in_what_it_lacks(tmp_path):
    wav = with_chunks(song(tmp_path, "a.wav"), info((b"INAM", b"Riff title\0"), (b"IART", b"Riff artist\0")))
    handle = mutagen.File(str(wav))
    handle.add_tags()
    handle.tags.add(TIT2(encoding=3, text=["ID3 title"]))
    handle.save()
    found = read_tags(wav)
    assert (found.title, found.artist, found.album) == ("ID3 title", "Riff artist", None)


def test_a_wav_with_every_field_in_id3_does_not_need_its_riff_info(tmp_path, monkeypatch):
    import moodmap.library.tags as tags
    from mutagen.id3 import TALB, TCON, TPE1

    wav = song(tmp_path, "a.wav")
    handle = mutagen.File(str(wav))
    handle.add_tags()
    for frame in (TIT2, TPE1, TALB, TCON):
        handle.tags.add(frame(encoding=3, text=[frame.__name__]))
    handle.save()
    monkeypatch.setattr(tags, "riff_info", lambda path: pytest.fail("RIFF INFO read although ID3 had it all"))
    found = read_tags(wav)
    assert (found.title, found.artist, found.album, found.genre) == ("TIT2", "TPE1", "TALB", "TCON")


# ------------------------------------------------------------------ a WAV's LIST/INFO
def test_riff_info_reads_latin1_text_and_skips_blank_or_unknown_fields(tmp_path):
    wav = tmp_path / "a.wav"
    wav.write_bytes(riff(chunk(b"fmt ", b"x" * 16),
                         info((b"INAM", "Été".encode("latin-1") + b"\0"), (b"IART", b"  \0"),
                              (b"ICMT", b"a comment\0"), (b"IGNR", b" Ambient \0garbage\0after the NUL\0"),
                              (b"IPRD", b"Mers"), (b"ISFT", b"Lavf\0"))))  # "Mers": no NUL, the next field at once
    assert riff_info(wav) == {"title": "Été", "genre": "Ambient", "album": "Mers"}


def test_riff_info_reads_utf8_text_as_utf8(tmp_path):
    wav = tmp_path / "a.wav"
    wav.write_bytes(riff(info((b"INAM", "Été – Nuit".encode() + b"\0"))))
    assert riff_info(wav) == {"title": "Été – Nuit"}


def test_riff_info_looks_past_other_chunks_and_other_lists(tmp_path):
    wav = tmp_path / "a.wav"
    wav.write_bytes(riff(chunk(b"fmt ", b"x" * 16), chunk(b"data", b"\1" * 7),  # odd: a pad byte follows
                         chunk(b"LIST", b"adtl" + chunk(b"labl", b"\0\0\0\0cue\0")),
                         chunk(b"junk", b"y" * 3), info((b"IART", b"Low Tide\0"))))
    assert riff_info(wav) == {"artist": "Low Tide"}


def test_an_info_field_whose_size_says_more_than_is_there_gives_what_is_there(tmp_path):
    """A size past the end of the list (a cut-short or lying field): its text is read to the list's end."""
    wav = tmp_path / "a.wav"
    wav.write_bytes(riff(chunk(b"LIST", b"INFO" + chunk(b"IART", b"Low Tide\0") + b"INAM" + struct.pack("<I", 0xFFFFFFF0)
                               + b"Cut short")))
    assert riff_info(wav) == {"artist": "Low Tide", "title": "Cut short"}


def test_text_inside_the_samples_is_not_read_as_a_tag(tmp_path):
    """A data chunk of unknown length (0xFFFFFFFF, as a WAV written to a pipe says) runs to the end of
    the file: whatever its samples hold is audio, never a LIST chunk."""
    fake = info((b"INAM", b"Not a tag\0"))
    wav = tmp_path / "a.wav"
    wav.write_bytes(riff(chunk(b"fmt ", b"x" * 16), info((b"IART", b"Low Tide\0")))
                    + b"data" + struct.pack("<I", 0xFFFFFFFF) + fake + b"\0" * 64)
    assert riff_info(wav) == {"artist": "Low Tide"}


def test_a_chunk_after_the_info_list_is_not_read_as_part_of_it(tmp_path):
    wav = tmp_path / "a.wav"
    wav.write_bytes(riff(info((b"IART", b"Low Tide\0")), chunk(b"INAM", b"Not in the list\0")))
    assert riff_info(wav) == {"artist": "Low Tide"}


def test_an_info_lists_fields_past_its_first_mebibyte_are_not_read(tmp_path):
    """A bound on what a LIST chunk (text, never audio) makes moodmap read, whatever size it states."""
    body = b"INFO" + chunk(b"ICMT", b"z" * (3 << 19)) + chunk(b"IART", b"Too far\0")  # 1.5 MiB, then a field
    wav = tmp_path / "a.wav"
    wav.write_bytes(riff(chunk(b"LIST", body)))
    assert riff_info(wav) == {}


def test_a_file_that_is_not_a_riff_wave_has_no_riff_info(tmp_path):
    avi = tmp_path / "a.wav"
    avi.write_bytes(riff(info((b"INAM", b"Movie\0")), form=b"AVI "))
    rifx = tmp_path / "b.wav"
    rifx.write_bytes(b"RIFX" + riff(info((b"INAM", b"Movie\0")))[4:])
    short = tmp_path / "c.wav"
    short.write_bytes(b"RIFF\0\0\0\0WAV")
    assert riff_info(avi) == riff_info(rifx) == riff_info(short) == {}


def test_an_info_list_longer_than_a_megabyte_is_read_up_to_its_bound(tmp_path):
    """A LIST whose size is over 1 MiB: its start is read (text, never audio), and the reading goes
    on after the whole of it."""
    body = b"INFO" + chunk(b"INAM", b"Big\0") + chunk(b"ICMT", b"z" * (2 << 20))
    wav = tmp_path / "a.wav"
    wav.write_bytes(riff(chunk(b"LIST", body), info((b"IART", b"After\0"))))
    assert riff_info(wav) == {"title": "Big", "artist": "After"}


# ------------------------------------------------------------------ the values moodmap writes
def test_mood_values_are_three_decimals_with_the_model_and_its_weights():
    assert mood_values(0.71249, 0.3336, "relaxed", "Q4", "improved", "9d3b34305165abcdef0123") == {
        "VALENCE": "0.712", "AROUSAL": "0.334", "MOOD": "relaxed", "MOODMAP_QUADRANT": "Q4",
        "MOODMAP_MODEL": "improved sha256:9d3b34305165"}
    plain = mood_values(0.5, 0.5, "neutral", None, "paper")
    assert plain["MOODMAP_QUADRANT"] == "neutral" and plain["MOODMAP_MODEL"] == "paper"


def test_several_values_of_one_key_are_read_and_written_as_several(tmp_path):
    flac = song(tmp_path, "a.flac")
    write_mood_tags(flac, {"MOOD": "Happy\0Upbeat"})
    assert mutagen.File(str(flac)).tags.get("MOOD") == ["Happy", "Upbeat"]
    assert read_mood_tags(flac) == {"MOOD": "Happy\0Upbeat"}
    mp3 = song(tmp_path, "a.mp3")
    write_mood_tags(mp3, {"MOOD": "Happy\0Upbeat"})
    assert ID3(str(mp3)).getall("TMOO")[0].text == ["Happy", "Upbeat"]
    assert read_mood_tags(mp3) == {"MOOD": "Happy\0Upbeat"}


def test_a_latin1_frame_given_a_value_it_cannot_hold_becomes_unicode(tmp_path):
    for version, unicode in ((4, 3), (3, 1)):  # UTF-8 in v2.4; v2.3 has no UTF-8: UTF-16
        mp3 = id3(song(tmp_path, f"v2{version}.mp3"), version, TXXX(encoding=0, desc="VALENCE", text=["0.100"]),
                  TXXX(encoding=0, desc="MOOD", text=["Calme"]))
        write_mood_tags(mp3, {"VALENCE": "0.200", "MOOD": "Ruhig – Süß ♪"})
        frames = {f.desc: f for f in ID3(str(mp3)).getall("TXXX")}
        assert (frames["VALENCE"].encoding, frames["MOOD"].encoding) == (0, unicode), version
        assert read_mood_tags(mp3) == {"VALENCE": "0.200", "MOOD": "Ruhig – Süß ♪"}


def test_a_new_mood_in_a_v23_tag_is_a_utf16_txxx(tmp_path):
    mp3 = id3(song(tmp_path, "a.mp3"), 3, TIT2(encoding=1, text=["Old"]))
    write_mood_tags(mp3, {"MOOD": "calm", "VALENCE": "0.500"})
    after = ID3(str(mp3))
    assert after.version[:2] == (2, 3) and not after.getall("TMOO")
    assert {f.desc: (f.encoding, f.text) for f in after.getall("TXXX")} == {
        "MOOD": (1, ["calm"]), "VALENCE": (1, ["0.500"])}


def test_a_new_mood_in_a_v24_tag_is_a_utf8_tmoo(tmp_path):
    mp3 = song(tmp_path, "a.mp3")
    write_mood_tags(mp3, {"MOOD": "calm", "AROUSAL": "0.400"})
    after = ID3(str(mp3))
    assert [(f.encoding, f.text) for f in after.getall("TMOO")] == [(3, ["calm"])]
    assert [(f.desc, f.encoding, f.text) for f in after.getall("TXXX")] == [("AROUSAL", 3, ["0.400"])]


def test_a_mood_restored_into_the_users_frame_takes_away_the_second_one_beside_it(tmp_path):
    """An older moodmap wrote TMOO beside the user's TXXX:MOOD; giving back the user's value leaves one mood."""
    mp3 = id3(song(tmp_path, "a.mp3"), 4, TXXX(encoding=3, desc="MOOD", text=["Dark"]), TMOO(encoding=3, text=["calm"]))
    assert read_mood_tags(mp3) == {"MOOD": "calm"}  # v2.4: TMOO is read first
    assert write_mood_tags(mp3, {"MOOD": "Dark"}) == {"MOOD": ("calm", "Dark")}
    tags = ID3(str(mp3))
    assert not tags.getall("TMOO") and [f.text for f in tags.getall("TXXX")] == [["Dark"]]


def test_a_v23_mood_is_read_from_txxx_before_tmoo(tmp_path):
    mp3 = id3(song(tmp_path, "a.mp3"), 3, TMOO(encoding=1, text=["From TMOO"]),
              TXXX(encoding=1, desc="mood", text=["From TXXX"]))
    assert read_mood_tags(mp3) == {"MOOD": "From TXXX"}
    id3(mp3, 4)
    assert read_mood_tags(mp3) == {"MOOD": "From TMOO"}


V1 = b"TAG" + b"Old rip".ljust(30, b"\0") + b"Someone".ljust(30, b"\0") + b"\0" * 64 + b"\x11"  # genre 17: Rock


def without_id3v2(mp3: Path | bytes) -> bytes:
    data = mp3 if isinstance(mp3, bytes) else mp3.read_bytes()
    return data[10 + sum(b << (7 * (3 - i)) for i, b in enumerate(data[6:10])):] if data[:3] == b"ID3" else data


def test_an_mp3_with_only_an_id3v1_tag_gets_its_very_bytes_back(tmp_path):
    """An old rip's ID3v1 tag is read into the common tags, but its fields are not copied into the
    ID3v2 tag moodmap adds: removing moodmap's values gives back the file byte for byte."""
    mp3 = song(tmp_path, "a.mp3")
    mp3.write_bytes(without_id3v2(mp3) + V1)
    original = mp3.read_bytes()
    write_mood_tags(mp3, {"MOOD": "calm", "VALENCE": "0.500"})
    assert set(ID3(str(mp3), load_v1=False).keys()) == {"TMOO", "TXXX:VALENCE"} and mp3.read_bytes().endswith(V1)
    assert read_tags(mp3).title == "Old rip" and read_mood_tags(mp3) == {"MOOD": "calm", "VALENCE": "0.500"}
    write_mood_tags(mp3, {"MOOD": None, "VALENCE": None})
    assert mp3.read_bytes() == original


def test_an_id3v1_tag_beside_an_id3v2_one_is_left_as_it_was(tmp_path):
    mp3 = id3(song(tmp_path, "a.mp3"), 3, TIT2(encoding=1, text=["New title"]))
    mp3.write_bytes(mp3.read_bytes() + V1)
    frames = ID3(str(mp3), load_v1=False).pprint()
    write_mood_tags(mp3, {"MOOD": "calm"})
    assert set(ID3(str(mp3), load_v1=False).keys()) == {"TIT2", "TXXX:MOOD"} and mp3.read_bytes().endswith(V1)
    write_mood_tags(mp3, {"MOOD": None})
    assert ID3(str(mp3), load_v1=False).pprint() == frames and mp3.read_bytes().endswith(V1)
    assert read_tags(mp3).artist == "Someone"


def test_removing_the_last_id3_frame_removes_the_tag(tmp_path):
    mp3 = song(tmp_path, "a.mp3")
    original = mp3.read_bytes()
    write_mood_tags(mp3, {"MOOD": "calm"})
    assert mp3.read_bytes().startswith(b"ID3")
    write_mood_tags(mp3, {"MOOD": None})
    assert mp3.read_bytes() == without_id3v2(mp3) == without_id3v2(original) and read_mood_tags(mp3) == {}


def test_an_m4a_value_keeps_its_atom_type_and_a_second_spelling_goes(tmp_path):
    from mutagen.mp4 import AtomDataType, MP4FreeForm

    m4a = make_m4a(tmp_path / "a.m4a")
    handle = mutagen.File(str(m4a))
    handle.tags["----:com.apple.iTunes:MOOD"] = [MP4FreeForm(b"Dark", dataformat=AtomDataType.IMPLICIT)]
    handle.save()
    assert write_mood_tags(m4a, {"MOOD": "calm", "VALENCE": "0.300"}) == {"MOOD": ("Dark", "calm"),
                                                                         "VALENCE": (None, "0.300")}
    tags = mutagen.File(str(m4a)).tags
    assert tags["----:com.apple.iTunes:MOOD"][0].dataformat == AtomDataType.IMPLICIT
    assert tags["----:com.apple.iTunes:VALENCE"][0].dataformat == AtomDataType.UTF8
    handle = mutagen.File(str(m4a))
    handle.tags["----:com.apple.iTunes:mood"] = [MP4FreeForm(b"Other")]
    handle.save()
    write_mood_tags(m4a, {"MOOD": "sad"})
    assert [bytes(v) for k, vs in mutagen.File(str(m4a)).tags.items() if k.upper().endswith(":MOOD") for v in vs] \
        == [b"sad"]
    write_mood_tags(m4a, {"MOOD": None, "VALENCE": None})
    assert read_mood_tags(m4a) == {}


def make_m4a(path: Path) -> Path:
    av = pytest.importorskip("av")
    with av.open(str(path), "w") as out:
        stream = out.add_stream("aac", rate=8000)
        frame = av.AudioFrame.from_ndarray(tone(0.5, 8000)[None, :], format="fltp", layout="mono")
        frame.sample_rate = 8000
        for packet in [*stream.encode(frame), *stream.encode(None)]:
            out.mux(packet)
    return path


def test_vorbis_values_are_replaced_in_place_and_extra_ones_go(tmp_path):
    flac = song(tmp_path, "a.flac")
    handle = mutagen.File(str(flac))
    handle.tags.extend([("Mood", "A"), ("TITLE", "t"), ("mood", "B"), ("mood", "C")])
    handle.save()
    write_mood_tags(flac, {"MOOD": "X\0Y"})
    assert list(list.__iter__(mutagen.File(str(flac)).tags)) == [("Mood", "X"), ("TITLE", "t"), ("Mood", "Y")]
    write_mood_tags(flac, {"MOOD": "X\0Y\0Z"})  # more values than places: after the last, its spelling
    assert list(list.__iter__(mutagen.File(str(flac)).tags)) == [("Mood", "X"), ("TITLE", "t"), ("Mood", "Y"),
                                                                 ("Mood", "Z")]
    write_mood_tags(flac, {"MOOD": None})
    assert list(list.__iter__(mutagen.File(str(flac)).tags)) == [("TITLE", "t")]


def test_an_untagged_wav_gets_its_bytes_back_when_its_moods_are_removed(tmp_path):
    wav = song(tmp_path, "a.wav")
    original = wav.read_bytes()
    write_mood_tags(wav, {"MOOD": "calm", "VALENCE": "0.500"})
    assert read_mood_tags(wav) == {"MOOD": "calm", "VALENCE": "0.500"} and wav.read_bytes() != original
    write_mood_tags(wav, {"MOOD": None, "VALENCE": None})
    assert wav.read_bytes() == original


def id3v22(mp3: Path) -> Path:
    """The mp3 with an ID3v2.2 tag (three-letter frames, as old iTunes wrote), built by hand."""
    frames = b"TT2" + (6).to_bytes(3, "big") + b"\0Title"
    mp3.write_bytes(b"ID3\x02\x00\x00" + bytes((0, 0, 0, len(frames))) + frames + without_id3v2(mp3))
    assert ID3(str(mp3)).version[:2] == (2, 2)
    return mp3


def test_an_id3v22_tag_is_not_rewritten_and_the_error_says_how_to_convert_it(tmp_path):
    mp3 = id3v22(song(tmp_path, "old.mp3"))
    before = mp3.read_bytes()
    for dry_run in (True, False):  # a dry run says so too
        with pytest.raises(MoodmapError) as refused:
            write_mood_tags(mp3, {"MOOD": "calm"}, dry_run=dry_run)
    assert refused.value.path == str(mp3.resolve()) and str(refused.value).startswith(f"{mp3.resolve()}: ")
    assert refused.value.reason.startswith("ID3v2.2 tag: not rewritten") and \
        f"mid3v2 --convert '{mp3.resolve()}'" in refused.value.reason
    assert write_mood_tags(mp3, {}) == {} and mp3.read_bytes() == before and read_tags(mp3).title == "Title"


def test_a_dry_run_leaves_an_interrupted_in_place_write_for_the_real_one(tmp_path):
    from moodmap.core.atomic import staged_path

    flac = song(tmp_path, "a.flac")
    staged = staged_path(flac)
    staged.write_bytes(flac.read_bytes())  # what a crash left: the complete new content, staged
    write_mood_tags(flac, {"MOOD": "calm"}, dry_run=True)
    assert staged.exists()
    write_mood_tags(flac, {"MOOD": "calm"})
    assert not staged.exists() and read_mood_tags(flac) == {"MOOD": "calm"}


def test_more_vorbis_values_than_places_go_right_after_the_last_one(tmp_path):
    flac = song(tmp_path, "a.flac")
    handle = mutagen.File(str(flac))
    handle.tags.extend([("mood", "A"), ("TITLE", "t"), ("ARTIST", "a")])
    handle.save()
    write_mood_tags(flac, {"MOOD": "X\0Y"})
    assert list(list.__iter__(mutagen.File(str(flac)).tags)) == [("mood", "X"), ("mood", "Y"), ("TITLE", "t"),
                                                                 ("ARTIST", "a")]


# ------------------------------------------------------------------ the file itself
def test_a_write_to_a_format_mutagen_cannot_tag_is_refused_and_the_file_left(tmp_path):
    import soundfile as sf

    au = tmp_path / "a.au"  # Sun audio: decodable, but mutagen knows no tags for it
    sf.write(au, tone(0.5, 8000), 8000, format="AU", subtype="PCM_16")
    before = au.read_bytes()
    with pytest.raises(MoodmapError) as refused:
        write_mood_tags(au, {"MOOD": "calm"})
    assert (refused.value.path, refused.value.reason) == (str(au), "mutagen cannot write tags to this format")
    assert au.read_bytes() == before and sorted(p.name for p in tmp_path.iterdir()) == ["a.au"]


def test_a_format_with_ape_tags_gets_its_moods_written_read_and_taken_back(tmp_path):
    av = pytest.importorskip("av")
    wv = tmp_path / "a.wv"  # WavPack: APEv2 tags
    with av.open(str(wv), "w", format="wv") as out:
        stream = out.add_stream("wavpack", rate=8000)
        frame = av.AudioFrame.from_ndarray((tone(0.5, 8000)[None, :] * 32767).astype("int16"), format="s16p",
                                           layout="mono")
        frame.sample_rate = 8000
        for packet in [*stream.encode(frame), *stream.encode(None)]:
            out.mux(packet)
    original = wv.read_bytes()
    assert write_mood_tags(wv, {"MOOD": "Happy\0Upbeat", "VALENCE": "0.500"}) == {
        "MOOD": (None, "Happy\0Upbeat"), "VALENCE": (None, "0.500")}
    assert read_mood_tags(wv) == {"MOOD": "Happy\0Upbeat", "VALENCE": "0.500"}
    assert list(mutagen.File(str(wv)).tags["MOOD"]) == ["Happy", "Upbeat"]
    assert write_mood_tags(wv, {"MOOD": "calm", "AROUSAL": None}) == {"MOOD": ("Happy\0Upbeat", "calm")}
    write_mood_tags(wv, {"MOOD": None, "VALENCE": None})
    assert read_mood_tags(wv) == {} and wv.read_bytes() == original


def test_an_m4a_mood_that_is_not_utf8_is_read_with_replacement_characters(tmp_path):
    from mutagen.mp4 import MP4FreeForm

    m4a = make_m4a(tmp_path / "a.m4a")
    handle = mutagen.File(str(m4a))
    handle.tags["----:com.apple.iTunes:MOOD"] = [MP4FreeForm(b"Ruhig \xff")]
    handle.save()
    assert read_mood_tags(m4a) == {"MOOD": "Ruhig \ufffd"}


def test_a_tag_write_removes_its_files_dead_copies_and_nothing_else_of_the_folder(tmp_path):
    flac = song(tmp_path, "a.flac")
    dead = tmp_path / ".a.flac.999999999.def456.partial"  # a killed earlier write's copy of this file
    other = tmp_path / ".b.flac.999999999.abc123.partial"  # another file's: its own write clears it
    users = tmp_path / ".mix.partial"  # the user's own file
    for path in (dead, other, users):
        path.write_bytes(b"copy")
    write_mood_tags(flac, {"MOOD": "calm"})
    assert not dead.exists() and other.exists() and users.exists()


def test_a_hard_linked_file_is_written_in_place_and_keeps_its_link(tmp_path):
    flac = song(tmp_path, "a.flac")
    twin = tmp_path / "twin.flac"
    os.link(flac, twin)
    inode = flac.stat().st_ino
    write_mood_tags(flac, {"MOOD": "calm"})
    assert flac.stat().st_ino == inode and twin.samefile(flac) and read_mood_tags(twin) == {"MOOD": "calm"}


def test_a_write_that_would_change_the_audio_is_refused_and_the_file_left(tmp_path, monkeypatch):
    import moodmap.core.audio_payload as payload

    flac = song(tmp_path, "a.flac")
    before = flac.read_bytes()
    digests = iter(["before", "after"])
    monkeypatch.setattr(payload, "audio_digest", lambda *args: next(digests))
    with pytest.raises(MoodmapError) as refused:
        write_mood_tags(flac, {"MOOD": "calm"})
    assert (refused.value.path, refused.value.reason) == (
        str(flac), "tag write changed the audio payload; original left untouched")
    assert flac.read_bytes() == before and sorted(p.name for p in tmp_path.iterdir()) == ["a.flac"]


@pytest.mark.skipif(os.geteuid() != 0, reason="giving a file to another user needs root")
def test_root_writing_another_users_file_gives_it_back_to_them(tmp_path):
    flac = song(tmp_path, "a.flac")
    os.chown(flac, 1000, 1001)
    flac.chmod(0o640)
    write_mood_tags(flac, {"MOOD": "calm"})
    st = flac.stat()
    assert (st.st_uid, st.st_gid, st.st_mode & 0o777) == (1000, 1001, 0o640) and read_mood_tags(flac)["MOOD"] == "calm"


def test_a_file_this_user_cannot_give_back_is_written_in_place(tmp_path, monkeypatch):
    """Not root and not the owner (a group-writable file of another user): a new file would be this
    user's, so the tags are written into the file itself, keeping its inode and so its owner."""
    import moodmap.library.tags as tags

    flac = song(tmp_path, "a.flac")
    st = flac.stat()
    monkeypatch.setattr(tags.os, "geteuid", lambda: st.st_uid + 1)

    def chown(*args):  # what the system says to a user giving a file away
        raise PermissionError(1, "Operation not permitted")

    monkeypatch.setattr(tags.os, "chown", chown)
    inode = st.st_ino
    write_mood_tags(flac, {"MOOD": "calm"})
    assert flac.stat().st_ino == inode and read_mood_tags(flac)["MOOD"] == "calm"


def test_a_file_this_user_owns_is_replaced_by_its_tagged_copy(tmp_path):
    flac = song(tmp_path, "a.flac")
    inode = flac.stat().st_ino
    write_mood_tags(flac, {"MOOD": "calm"})
    assert flac.stat().st_ino != inode and flac.stat().st_nlink == 1


@pytest.mark.skipif(os.geteuid() != 0, reason="giving a file to another user needs root")
@pytest.mark.parametrize("groups, replaced", [([1001], True), ([], False)])
def test_an_owner_in_the_files_group_gets_a_copy_one_outside_it_an_in_place_write(tmp_path, monkeypatch, groups,
                                                                                    replaced):
    """As user 1000 whose own group is 1002: a file of 1000:1001 can be given back (a new file's group
    can be set to 1001) only while 1000 is in group 1001."""
    import moodmap.library.tags as tags

    flac = song(tmp_path, "a.flac")
    os.chown(flac, 1000, 1001)
    inode = flac.stat().st_ino
    monkeypatch.setattr(tags.os, "geteuid", lambda: 1000)
    monkeypatch.setattr(tags.os, "getegid", lambda: 1002)
    monkeypatch.setattr(tags.os, "getgroups", lambda: groups)
    write_mood_tags(flac, {"MOOD": "calm"})
    st = flac.stat()
    assert (st.st_ino != inode, st.st_uid, st.st_gid) == (replaced, 1000, 1001)
