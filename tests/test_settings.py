"""Settings (`--set key=value`, the `--config` TOML) are checked before any work starts: a bad one is
one line naming the key and what it may be, exit code 2, nothing made; and an error in moodmap's
own code while reading audio is never passed off as the file's ("not a decodable audio file")."""
from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from helpers import tone, write_audio

MOODMAP = str(Path(sys.executable).parent / "moodmap")


def moodmap(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([MOODMAP, *args], capture_output=True, text=True, timeout=120)


@pytest.fixture
def songs(tmp_path) -> Path:
    """A tiny categorical data set: a happy and a sad song of 16 s."""
    root = tmp_path / "songs"
    for mood, freq in (("happy", 440.0), ("sad", 220.0)):
        (root / mood).mkdir(parents=True)
        write_audio(root / mood / "song.wav", tone(16.0, freqs=(freq,)))
    return root


def refused(result: subprocess.CompletedProcess, *words: str) -> str:
    """The one line a refused command printed, checked to name ``words``."""
    assert result.returncode == 2, result.stdout + result.stderr
    assert result.stdout == "" and result.stderr.count("\n") == 1, result.stdout + result.stderr
    line = result.stderr.strip()
    assert line.startswith("moodmap: ") and all(word in line for word in words), line
    return line


def test_an_unknown_resample_quality_stops_prepare_before_any_work(songs, tmp_path):
    result = moodmap("prepare", str(songs), "--out", str(tmp_path / "cache"), "--set", "resample_quality=bogus",
                     "--jobs", "1")
    refused(result, "resample_quality", "'bogus'", "HQ", "VHQ")
    assert not (tmp_path / "cache").exists()


@pytest.mark.parametrize("setting,words", [
    ("sample_rate=0", ("sample_rate", "1000")),
    ("n_mels=-3", ("n_mels", "1")),
    ("n_mels=many", ("n_mels", "'many'", "integer")),
    ("n_fft=2047", ("n_fft", "even")),
    ("excerpts=0", ("excerpts", "1")),
    ("fmax=9000", ("fmax", "8000")),
    ("fmin=nan", ("fmin", "nan")),
    ("excerpt_hop_seconds=-1", ("excerpt_hop_seconds", "> 0")),
    ("top_db=0", ("top_db", "> 0")),
    ("bands=3", ("bands", "n_mels", "resample_quality")),  # an unknown key: the known ones are listed
])
def test_a_bad_feature_setting_stops_prepare_in_one_line(songs, tmp_path, setting, words):
    refused(moodmap("prepare", str(songs), "--out", str(tmp_path / "cache"), "--set", setting, "--jobs", "1"), *words)
    assert not (tmp_path / "cache").exists()


def test_a_bad_setting_in_a_config_file_names_the_file(songs, tmp_path):
    config = tmp_path / "features.toml"
    config.write_text('[features]\nresample_quality = "best"\n')
    refused(moodmap("prepare", str(songs), "--out", str(tmp_path / "cache"), "--config", str(config)),
            str(config), "resample_quality", "VHQ")
    assert not (tmp_path / "cache").exists()


@pytest.mark.parametrize("setting,words", [
    ("learning_rate=-0.1", ("learning_rate", "> 0")),
    ("learning_rate=inf", ("learning_rate", "inf")),
    ("excerpts=0", ("excerpts", "1")),
    ("seed=-1", ("seed", ">= 0")),
    ("architecture=resnet", ("architecture", "paper_cnn", "moodnet")),
    ("epochs=ten", ("epochs", "'ten'", "integer")),
    ("dropout=1.5", ("dropout", "[0, 1)")),
])
def test_a_bad_training_setting_stops_train_in_one_line(tmp_path, setting, words):
    """Checked before the cache is even opened (there is none here) and before any run starts."""
    refused(moodmap("train", str(tmp_path / "no cache"), "--out", str(tmp_path / "runs"), "--set", setting), *words)
    assert not (tmp_path / "runs").exists()


@pytest.mark.parametrize("error", [TypeError, ValueError, KeyError, RuntimeError])
def test_an_error_in_moodmap_while_decoding_is_not_called_an_undecodable_file(tmp_path, monkeypatch, error):
    """prepare's feature step: a bug in the code between the decoders and the features (here the
    resampler's set-up) is an internal error, not the song's "not a decodable audio file"."""
    import soxr

    from moodmap.research.cache import extract_song
    from moodmap.core.config import FeatureConfig

    def broken(*_args, **_kwargs):
        raise error("a bug, not the file")

    path = write_audio(tmp_path / "song.wav", tone(16.0))
    monkeypatch.setattr(soxr, "ResampleStream", broken)
    failure = extract_song((str(path), FeatureConfig(), "7"))
    assert (failure.error, failure.song_id) == ("UnexpectedError", "7")
    assert failure.reason.startswith(f"{error.__name__}: ") and "decodable" not in failure.reason


def _mp3(path: Path, channels: int) -> bytes:
    return write_audio(path, tone(6.0, channels=channels)).read_bytes()


def test_a_stream_whose_channel_count_changes_is_the_pyav_readers_refusal_not_a_crash(tmp_path):
    """Two mp3s back to back, mono then stereo, named .ogg so that FFmpeg reads it first: its
    frames change shape midway, which the PyAV reader refuses, and libsndfile reads the file
    (its first part: libsndfile stops where the format changes)."""
    from moodmap.core.audio import load_audio

    path = tmp_path / "joined.ogg"
    path.write_bytes(_mp3(tmp_path / "mono.mp3", 1) + _mp3(tmp_path / "stereo.mp3", 2))
    audio = load_audio(path)
    assert audio.ndim == 1 and len(audio) >= 6 * 16000


def test_a_wav_of_zero_bit_samples_is_not_decodable(tmp_path):
    """A damaged header FFmpeg finds no codec for: both decoders' refusal, not a crash of the reader."""
    import struct

    from moodmap.core.audio import load_audio
    from moodmap.core.errors import DecodeError

    data = (tone(1.0) * 32767).astype("<i2").tobytes()
    fmt = struct.pack("<HHIIHH", 1, 1, 22050, 44100, 2, 0)  # PCM, mono, 22.05 kHz, 0 bits per sample
    path = tmp_path / "zero bits.wav"
    path.write_bytes(b"RIFF" + struct.pack("<I", 28 + len(fmt) + len(data)) + b"WAVEfmt " + struct.pack("<I", len(fmt))
                     + fmt + b"data" + struct.pack("<I", len(data)) + data)
    with pytest.raises(DecodeError, match="not a decodable audio file"):
        load_audio(path)


def test_a_stream_that_gives_no_sample_rate_is_not_decodable(tmp_path):
    """One byte named .flac: FFmpeg's probe finds a stream at 0 Hz, which is the file's damage,
    not a resampler error."""
    from moodmap.core.audio import load_audio
    from moodmap.core.errors import DecodeError

    path = tmp_path / "one byte.flac"
    path.write_bytes(b"f")
    with pytest.raises(DecodeError, match="no sample rate"):
        load_audio(path)
