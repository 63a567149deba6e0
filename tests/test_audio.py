import os

import numpy as np
import pytest
import soundfile as sf

from helpers import tone, write_audio
from moodmap.core.audio import check_file, load_audio, load_excerpts, plan_windows, probe
from moodmap.core.config import FeatureConfig
from moodmap.core.errors import (AudioError, DecodeError, EmptyFileError, InvalidSamplesError, MissingFileError,
                            SilentAudioError, TooShortError, TruncatedAudioError, UnreadableFileError)

CFG = FeatureConfig()


def starts(duration, cfg=CFG):
    return [w.start for w in plan_windows(duration, cfg)]


def test_paper_windows_for_a_45_s_clip():
    assert starts(45.0) == [0.0, 15.0, 30.0]


def test_slightly_short_clip_keeps_its_last_window():
    assert starts(44.4) == [0.0, 15.0, 30.0]


def test_shorter_clip_gets_fewer_windows():
    assert starts(31.0) == [0.0, 15.0]


def test_original_data_is_one_window():
    assert starts(45.0, FeatureConfig(excerpts=1)) == [0.0]


def test_centred_windows_on_a_long_track():
    assert starts(245.0, FeatureConfig(anchor="center")) == [100.0, 115.0, 130.0]


def test_overlapping_hop():
    assert starts(45.0, FeatureConfig(excerpts=5, excerpt_hop_seconds=7.5)) == [0.0, 7.5, 15.0, 22.5, 30.0]


def test_short_clip_is_padded_under_pad_policy():
    assert starts(8.0) == [0.0]


def test_short_clip_is_rejected_under_reject_policy():
    with pytest.raises(TooShortError, match="8.0 s"):
        plan_windows(8.0, FeatureConfig(short_policy="reject"), "x.mp3")


def test_too_short_even_for_padding():
    with pytest.raises(TooShortError):
        plan_windows(2.0, CFG)


@pytest.mark.parametrize("ext", ["wav", "flac", "ogg", "mp3"])
def test_formats_load_to_16k_mono_peak_one(make_audio, ext):
    path = make_audio(f"a.{ext}", seconds=2.0, rate=44100, channels=2)
    y = load_audio(path)
    assert y.dtype == np.float32 and y.ndim == 1
    assert abs(len(y) - 32000) < 1200  # mp3 adds encoder padding
    assert np.max(np.abs(y)) == pytest.approx(1.0)


def test_stereo_is_averaged(tmp_path):
    left = tone(1.0, 16000, freqs=(300.0,))
    right = tone(1.0, 16000, freqs=(500.0,))
    path = write_audio(tmp_path / "s.wav", np.stack([left, right], 1), 16000)
    y = load_audio(path, normalize=False)
    np.testing.assert_allclose(y, (left + right) / 2, atol=2e-4)


def test_resampling_keeps_the_pitch(tmp_path):
    path = write_audio(tmp_path / "t.wav", tone(2.0, 44100, freqs=(1000.0,)), 44100)
    y = load_audio(path, 16000)
    peak_hz = np.argmax(np.abs(np.fft.rfft(y))) * 16000 / len(y)
    assert abs(peak_hz - 1000.0) < 2.0


def test_span_decoding_matches_the_whole_file(tmp_path):
    path = write_audio(tmp_path / "long.flac", tone(70.0, 22050), 22050)
    excerpts, windows = load_excerpts(path, FeatureConfig(anchor="center"))
    assert [w.start for w in windows] == [12.5, 27.5, 42.5]
    whole = load_audio(path)
    first = int(12.5 * 16000)
    middle = slice(1000, 239000)  # away from resampler edges
    np.testing.assert_allclose(excerpts[0][middle], whole[first:first + 240000][middle], atol=2e-3)


def test_excerpts_shape_and_padding(make_audio):
    x, windows = load_excerpts(make_audio("short.wav", seconds=9.0))
    assert x.shape == (1, 240000) and len(windows) == 1
    assert np.all(x[0, 9 * 16000 + 100:] == 0.0)


def test_pyav_fallback_reads_m4a(tmp_path):
    av = pytest.importorskip("av")
    path = tmp_path / "a.m4a"
    with av.open(str(path), "w") as out:
        stream = out.add_stream("aac", rate=44100)
        stream.layout = "stereo"
        data = tone(3.0, 44100, channels=2).T.copy()
        frame = av.AudioFrame.from_ndarray(data, format="fltp", layout="stereo")
        frame.sample_rate = 44100
        for packet in stream.encode(frame):
            out.mux(packet)
        for packet in stream.encode(None):
            out.mux(packet)
    assert probe(path).decoder == "pyav"
    y = load_audio(path)
    assert abs(len(y) - 48000) < 3000 and np.max(np.abs(y)) == pytest.approx(1.0)


def test_missing_file(tmp_path):
    with pytest.raises(MissingFileError, match="nope.mp3"):
        load_audio(tmp_path / "nope.mp3")


def test_empty_file(tmp_path):
    (tmp_path / "e.mp3").write_bytes(b"")
    with pytest.raises(EmptyFileError, match="0 bytes"):
        load_audio(tmp_path / "e.mp3")


def test_directory_is_unreadable(tmp_path):
    (tmp_path / "d.mp3").mkdir()
    with pytest.raises(UnreadableFileError):
        check_file(tmp_path / "d.mp3")


@pytest.mark.skipif(os.geteuid() == 0, reason="root reads every file")
def test_permission_denied(make_audio):
    path = make_audio("p.wav")
    path.chmod(0)
    with pytest.raises(UnreadableFileError, match="permission"):
        load_audio(path)


@pytest.mark.parametrize("content", [b"this is not audio at all\n" * 40, b"\x89PNG\r\n\x1a\n" + bytes(500)])
def test_non_audio_is_a_decode_error(tmp_path, content):
    path = tmp_path / "fake.mp3"
    path.write_bytes(content)
    with pytest.raises(DecodeError, match="fake.mp3"):
        load_excerpts(path)


def test_truncated_wav_is_reported(tmp_path, make_audio):
    good = make_audio("full.wav", seconds=45.0)
    cut = tmp_path / "cut.wav"
    cut.write_bytes(good.read_bytes()[: len(good.read_bytes()) // 3])  # header still says 45 s
    with pytest.raises((TruncatedAudioError, DecodeError), match="cut.wav"):
        load_excerpts(cut)


def test_silence_is_rejected(tmp_path):
    path = write_audio(tmp_path / "quiet.wav", np.zeros(22050 * 20, np.float32))
    with pytest.raises(SilentAudioError, match="silent"):
        load_excerpts(path)


def test_nan_samples_are_rejected(tmp_path):
    data = tone(20.0, 16000)
    data[1000] = np.nan
    path = tmp_path / "nan.wav"
    sf.write(path, data, 16000, subtype="FLOAT")
    with pytest.raises(InvalidSamplesError, match="NaN"):
        load_audio(path)


def test_errors_are_one_line_and_name_the_file(tmp_path):
    path = tmp_path / "bad file.ogg"
    path.write_bytes(b"OggS" + bytes(100))
    with pytest.raises(AudioError) as info:
        load_audio(path)
    assert "\n" not in str(info.value) and str(info.value).startswith(str(path))


@pytest.mark.parametrize("ext", ["ogg", "flac", "wav", "mp3"])
def test_both_decoders_give_the_same_samples(make_audio, ext):
    from moodmap.core.audio import BLOCK_READERS, _collect

    path = make_audio(f"same.{ext}", seconds=4.0, rate=44100, channels=2)
    ours = {name: _collect(reader(path, 0.5, 2.0), 16000, "HQ").samples for name, reader in BLOCK_READERS.items()}
    a, b = ours["soundfile"], ours["pyav"]
    assert abs(len(a) - len(b)) <= 1
    n = min(len(a), len(b))
    if ext != "mp3":  # mp3 decoders may differ by the encoder's delay handling
        np.testing.assert_allclose(a[:n], b[:n], atol=1e-4)
