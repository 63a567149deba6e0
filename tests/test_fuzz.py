"""Property tests (hypothesis): whatever bytes or tables arrive, moodmap answers with a result
or its typed error — never another exception, never a hang."""
import io
import os
import tempfile
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from moodmap.core.audio import load_audio
from moodmap.core.errors import AudioError, DatasetError
from test_hostile import time_limit

EXAMPLES = int(os.environ.get("MOODMAP_FUZZ_EXAMPLES", "60"))  # `make stress` raises it
FUZZ = settings(max_examples=EXAMPLES, deadline=None, derandomize=EXAMPLES <= 60,
                suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])


def _encoded(fmt: str, seconds: float = 3.0, rate: int = 22050) -> bytes:
    t = np.arange(int(seconds * rate)) / rate
    buffer = io.BytesIO()
    sf.write(buffer, (0.5 * np.sin(2 * np.pi * 330 * t)).astype(np.float32), rate, format=fmt)
    return buffer.getvalue()


SEEDS = {".wav": _encoded("WAV"), ".flac": _encoded("FLAC"), ".ogg": _encoded("OGG"), ".mp3": _encoded("MP3")}


@st.composite
def damaged_audio(draw) -> tuple[str, bytes]:
    """A real file of some format, then cut, overwritten in places, or spliced with noise."""
    ext = draw(st.sampled_from(sorted(SEEDS)))
    data = bytearray(SEEDS[draw(st.sampled_from(sorted(SEEDS)))] if draw(st.booleans()) else SEEDS[ext])
    for _ in range(draw(st.integers(0, 6))):
        if not data:
            break
        at = draw(st.integers(0, len(data) - 1))
        kind = draw(st.sampled_from(["flip", "cut", "splice", "zero"]))
        if kind == "flip":
            data[at] ^= draw(st.integers(1, 255))
        elif kind == "cut":
            del data[at:]
        elif kind == "splice":
            data[at:at] = draw(st.binary(min_size=1, max_size=64))
        else:
            data[at:at + draw(st.integers(1, 4096))] = b"\0" * 16
    return ext, bytes(data)


@given(damaged_audio())
@FUZZ
def test_damaged_audio_loads_or_raises_a_typed_error(sample):
    ext, data = sample
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / f"fuzz{ext}"
        path.write_bytes(data)
        with time_limit(20, f"loading {len(data)} damaged bytes as {ext}"):
            try:
                audio = load_audio(path)
            except AudioError as exc:
                assert "\n" not in str(exc) and str(path) in str(exc)
                return
    assert audio.dtype == np.float32 and audio.ndim == 1 and np.isfinite(audio).all()
    assert np.abs(audio).max() <= 1.0 + 1e-6


CELLS = st.one_of(st.sampled_from(["", "n/a", "nan", "inf", "-inf", "1e309", "5", "5.5", "0.5", "9", "12", "-3",
                                   "0,5", " 7 ", "seven"]),
                  st.floats(0, 9).map(str), st.floats(allow_nan=True, allow_infinity=True).map(str),
                  st.text(max_size=8))


SCALES = {"0-1": (0.0, 1.0), "1-9": (1.0, 9.0), "-1-1": (-1.0, 1.0), "0-100": (0.0, 100.0)}


@st.composite
def manifests(draw, scale: str = "1-9") -> str:
    """A manifest CSV the way people really write them: any separator, BOM, missing or extra
    columns, duplicate ids, ragged rows, odd numbers, odd scales."""
    columns = ["path", "valence", "arousal"] + draw(st.lists(st.sampled_from(
        ["song_id", "group", "valence_sd", "split", "Valence ", "extra", "valence"]), max_size=3))
    if draw(st.integers(0, 4)) == 0:  # now and then a required column is missing
        columns.remove(draw(st.sampled_from(["path", "valence", "arousal"])))
    columns = draw(st.permutations(columns))
    separator = draw(st.sampled_from([",", ";", "\t"]))
    lines = [separator.join(columns)]
    for i in range(draw(st.integers(0, 6))):
        clean = draw(st.integers(0, 3)) > 0  # most rows are fine; the odd one is not
        cells = []
        for column in columns:
            if column == "path":
                cells.append(draw(st.sampled_from([f"song{i % 3}.wav", "missing.wav", "", "../song0.wav"])))
            elif column == "song_id":
                cells.append(str(draw(st.integers(0, 2))))
            elif clean:
                cells.append(f"{draw(st.floats(*SCALES[scale])):.3g}")
            else:
                cells.append(draw(CELLS).replace(separator, " ").replace("\n", " ").replace("\r", " "))
        ragged = draw(st.integers(0, 5)) == 0
        lines.append(separator.join(cells[: draw(st.integers(0, len(cells)))] if ragged else cells))
    text = "\n".join(lines) + draw(st.sampled_from(["\n", "", "\r\n\n"]))
    return ("\ufeff" if draw(st.booleans()) else "") + text


@given(st.sampled_from(sorted(SCALES)).flatmap(lambda scale: st.tuples(manifests(scale), st.just(scale))))
@FUZZ
def test_any_manifest_loads_cleanly_or_raises_a_dataset_error(sample):
    text, scale = sample
    from moodmap.research.datasets.manifest import load_manifest

    with tempfile.TemporaryDirectory() as folder:
        root = Path(folder)
        for i in range(3):
            (root / f"song{i}.wav").write_bytes(b"RIFF")  # the loader only checks that audio exists
        (root / "manifest.csv").write_text(text, encoding="utf-8")
        try:
            dataset = load_manifest(root / "manifest.csv", scale)
        except DatasetError as exc:
            assert "\n" not in str(exc)
            return
    ids = [song.song_id for song in dataset.songs]
    assert len(ids) == len(set(ids)) and dataset.songs
    for song in dataset.songs:
        assert 0.0 <= song.valence <= 1.0 and 0.0 <= song.arousal <= 1.0


@given(st.text(max_size=400))
@FUZZ
def test_arbitrary_text_as_an_annotation_file_is_a_dataset_error_or_a_table(text):
    from moodmap.research.datasets.table import read_csv_rows

    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "annotations.csv"
        path.write_text(text, encoding="utf-8", errors="surrogatepass")
        try:
            rows = read_csv_rows(path)
        except DatasetError:
            return
    assert all(isinstance(row, dict) for row in rows)


@pytest.fixture(scope="module")
def api(tmp_path_factory, exported):
    pytest.importorskip("fastapi")
    from fastapi.testclient import TestClient

    from helpers import write_library_db
    from moodmap.web.app import ServerSettings, create_app

    db = write_library_db(tmp_path_factory.mktemp("fuzz-web"), songs=10)
    settings_ = ServerSettings(db=db, max_upload_bytes=2**20, default_model=str(exported[0]), inference_workers=1)
    with TestClient(create_app(settings_), raise_server_exceptions=False, base_url="http://127.0.0.1") as client:
        yield client


@given(damaged_audio(), st.text(max_size=40), st.sampled_from(["audio/mpeg", "application/octet-stream", "text/plain"]))
@settings(max_examples=EXAMPLES // 2, deadline=None, derandomize=EXAMPLES <= 60, suppress_health_check=list(HealthCheck))
def test_any_upload_is_answered_with_a_prediction_or_a_4xx(api, sample, name, content_type):
    ext, data = sample
    with time_limit(30, "an upload"):
        response = api.post("/api/predict", files={"file": (name + ext, data, content_type)})
    assert response.status_code == 200 or 400 <= response.status_code < 500, response.text
    assert response.headers["content-type"].startswith("application/json")
    if response.status_code == 200:
        body = response.json()
        assert 0.0 <= body["valence"] <= 1.0 and 0.0 <= body["arousal"] <= 1.0
    else:
        assert response.json()["detail"]
