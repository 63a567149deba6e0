from pathlib import Path

import pytest

from helpers import tone, write_audio
from moodmap.research.datasets import detect_format, load_dataset, load_deam, load_emomusic, load_folders, load_manifest, load_pmemo
from moodmap.research.datasets.table import Scale
from moodmap.core.errors import DatasetError


def audio(path: Path) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    return write_audio(path, tone(0.5, 8000), 8000)


def emomusic_tree(root: Path) -> Path:
    (root / "annotations").mkdir(parents=True)
    (root / "annotations" / "static_annotations.csv").write_text(
        "song_id, mean_arousal, std_arousal, mean_valence, std_valence\n"
        "2,3.1,0.94,3,0.63\n3,3.5,1.75,3.3,1.34\n4,5.7,1.42,5.5,1.57\n5,4.4,2.01,3.7,1.49\n")
    (root / "annotations" / "songs_info.csv").write_text(
        "song_id,file_name,Artist,Song title,start of the segment (min.sec),end of the segment (min.sec),"
        "Genre,Mediaeval 2013 set\n"
        "2,2.mp3,\tTom Waits,\tSong A,0.40,1.25,\tBlues,development\n"
        "3,3.mp3,\tSomeone,\tSong B,0.00,0.45,\tRock,evaluation\n"
        "4,4.mp3,\tOther,\tSong C,0.00,0.45,\tPop,development\n")
    for sid in (2, 3, 4):  # 5 is annotated but has no audio
        audio(root / "clips_45seconds" / f"{sid}.wav" if sid == 4 else root / "clips_45seconds" / f"{sid}.mp3")
    return root


def test_emomusic_scale_split_and_missing_audio(tmp_path):
    data = load_emomusic(emomusic_tree(tmp_path / "emo"))
    by_id = {s.song_id: s for s in data.songs}
    assert sorted(by_id) == ["2", "3", "4"]
    assert by_id["2"].arousal == pytest.approx(0.31) and by_id["2"].valence == pytest.approx(0.30)
    assert by_id["3"].valence_sd == pytest.approx(0.134)
    assert (by_id["2"].split, by_id["3"].split) == ("train", "test")
    assert by_id["4"].path.suffix == ".wav"  # any audio extension is found
    assert [p.item for p in data.problems] == ["5"] and "no audio" in data.problems[0].reason


def test_emomusic_reports_out_of_scale_ratings(tmp_path):
    root = emomusic_tree(tmp_path / "emo")
    path = root / "annotations" / "static_annotations.csv"
    path.write_text(path.read_text() + "6,12,1,5,1\n")
    assert any(p.item == "6" and "1–9" in p.reason for p in load_emomusic(root).problems)


def test_emomusic_missing_column_names_it(tmp_path):
    root = tmp_path / "emo"
    (root / "annotations").mkdir(parents=True)
    (root / "annotations" / "static_annotations.csv").write_text("song_id, mean_arousal\n2,3\n")
    with pytest.raises(DatasetError, match="mean_valence"):
        load_emomusic(root)


def test_deam_reads_both_files_and_the_2015_split(tmp_path):
    root = tmp_path / "DEAM"
    level = root / "annotations" / "annotations averaged per song" / "song_level"
    level.mkdir(parents=True)
    header = "song_id, valence_mean, valence_std, arousal_mean, arousal_std\n"
    (level / "static_annotations_averaged_songs_1_2000.csv").write_text(header + "2, 3.1, 0.94, 3, 0.63\n")
    (level / "static_annotations_averaged_songs_2000_2058.csv").write_text(header + "2001, 6, 1, 7.5, 1.2\n")
    for sid in (2, 2001):
        audio(root / "MEMD_audio" / f"{sid}.mp3")
    data = load_deam(root)
    by_id = {s.song_id: s for s in data.songs}
    assert by_id["2"].valence == pytest.approx(0.31) and by_id["2001"].arousal == pytest.approx(0.75)
    assert (by_id["2"].split, by_id["2001"].split) == ("train", "test")
    assert detect_format(root) == "deam"


def test_pmemo_means_and_sds_on_unit_scale(tmp_path):
    root = tmp_path / "PMEmo2019"
    (root / "annotations").mkdir(parents=True)
    (root / "annotations" / "static_annotations.csv").write_text(
        "musicId,Arousal(mean),Valence(mean)\n1,0.4,0.575\n4,0.2625,0.2875\n")
    (root / "annotations" / "static_annotations_std.csv").write_text(
        "musicId,Arousal(std),Valence(std)\n1,0.16,0.14\n4,0.2,0.1\n")
    for sid in (1, 4):
        audio(root / "chorus" / f"{sid}.mp3")
    data = load_pmemo(root)
    first = data.songs[0]
    assert (first.song_id, first.valence, first.arousal, first.valence_sd) == ("1", 0.575, 0.4, 0.14)
    assert detect_format(root) == "pmemo"


@pytest.mark.parametrize("scale,raw,expected", [("1-9", "7", 0.7), ("-1-1", "0.5", 0.75), ("0-100", "25", 0.25)])
def test_manifest_scales(tmp_path, scale, raw, expected):
    audio(tmp_path / "music" / "a.flac")
    csv = tmp_path / "m.csv"
    csv.write_text(f"path,valence,arousal,group\nmusic/a.flac,{raw},{raw},album1\n")
    song = load_manifest(csv, scale).songs[0]
    assert song.valence == pytest.approx(expected) and song.group_key == "album1"
    assert song.path == tmp_path / "music" / "a.flac"


def test_manifest_with_bom_semicolons_and_a_bad_row(tmp_path):
    audio(tmp_path / "a.wav")
    audio(tmp_path / "b.wav")
    csv = tmp_path / "m.csv"
    csv.write_bytes("\ufeffpath;valence;arousal\na.wav;0.2;0.9\nb.wav;1.7;0.5\n".encode())
    data = load_manifest(csv, "0-1")
    assert [s.song_id for s in data.songs] == ["a.wav"]
    assert data.problems[0].item == "b.wav"


def test_manifest_non_number_names_row_and_column(tmp_path):
    csv = tmp_path / "m.csv"
    csv.write_text("path,valence,arousal\na.wav,high,0.5\n")
    with pytest.raises(DatasetError, match="a.wav.*valence"):
        load_manifest(csv)


def test_manifest_duplicate_ids_keep_the_first(tmp_path):
    audio(tmp_path / "a.wav")
    csv = tmp_path / "m.csv"
    csv.write_text("path,valence,arousal\na.wav,0.2,0.2\na.wav,0.8,0.8\n")
    data = load_manifest(csv)
    assert len(data.songs) == 1 and data.songs[0].valence == 0.2 and "duplicate" in data.problems[0].reason


def test_folders_map_categories_to_anchor_points(tmp_path):
    for rel in ("happy/a.wav", "Sad/b.wav", "Q4/c.wav", "polka/d.wav"):
        audio(tmp_path / "set" / rel)
    data = load_folders(tmp_path / "set")
    by_id = {s.song_id: s for s in data.songs}
    assert set(by_id) == {"happy/a.wav", "Sad/b.wav", "Q4/c.wav"}
    assert by_id["happy/a.wav"].valence > 0.5 and by_id["Sad/b.wav"].valence < 0.5
    assert by_id["Q4/c.wav"].arousal < 0.5 < by_id["Q4/c.wav"].valence
    assert data.problems[0].item == "polka"


def test_folders_without_known_categories_fail(tmp_path):
    audio(tmp_path / "set" / "misc" / "a.wav")
    with pytest.raises(DatasetError, match="happy"):
        load_folders(tmp_path / "set")


def test_auto_detection(tmp_path):
    assert detect_format(emomusic_tree(tmp_path / "emo")) == "emomusic"
    assert load_dataset(tmp_path / "emo").name == "emomusic"


def test_scale_parsing():
    assert Scale.parse("1-9").is_paper_ratings
    assert (Scale.parse("-1-1").low, Scale.parse("-1-1").high) == (-1.0, 1.0)
    assert Scale.parse("-10..10").value(0) == 0.5
    with pytest.raises(DatasetError):
        Scale.parse("9-1")
