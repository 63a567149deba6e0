import types

import pytest

from helpers import tone, write_audio

beets = pytest.importorskip("beets")


def test_beet_moodmap_stores_flexible_attributes(tmp_path, monkeypatch):
    monkeypatch.setenv("BEETSDIR", str(tmp_path / "beetsdir"))
    from beets.library import Item, Library

    from beetsplug.moodmap import MoodmapPlugin
    from moodmap.models.registry import resolve
    from moodmap.predict import predict_file
    from moodmap.presets import DEFAULT_MODEL

    library = Library(str(tmp_path / "lib.db"))
    songs = {"one.flac": (220.0, 277.2, 329.6), "two.wav": (523.3, 659.3, 784.0)}  # two songs, two moods
    for name, freqs in songs.items():
        library.add(Item.from_path(str(write_audio(tmp_path / name, tone(16.0, 16000, freqs=freqs), 16000))))
    plugin = MoodmapPlugin()
    options = types.SimpleNamespace(model=None, force=None)  # the plugin's default: the shipped model
    assert plugin.analyse(library, options, []) == 2
    predictor = resolve(DEFAULT_MODEL).predictor
    for item in library.items():  # each item holds its own song's prediction, to the three decimals stored
        expected = predict_file(item.path.decode(), predictor, DEFAULT_MODEL)
        assert float(item["valence"]) == pytest.approx(expected.valence, abs=5e-4 + 1e-6)  # typed FLOAT: the plugin
        assert float(item["arousal"]) == pytest.approx(expected.arousal, abs=5e-4 + 1e-6)  # is loaded
        assert (item["mood"], item["mood_quadrant"]) == (expected.emotion, expected.quadrant or "neutral")
    item = library.items("title:one").get() or list(library.items())[0]
    assert len(list(library.items(f"mood:{item['mood']}"))) >= 1
    assert plugin.analyse(library, options, []) == 0  # already analysed
    assert plugin.analyse(library, types.SimpleNamespace(model=None, force=True), []) == 2
