import types

import pytest

from helpers import tone, write_audio

beets = pytest.importorskip("beets")


def test_beet_moodmap_stores_flexible_attributes(tmp_path, monkeypatch, exported):
    monkeypatch.setenv("BEETSDIR", str(tmp_path / "beetsdir"))
    from beets.library import Item, Library

    from beetsplug.moodmap import MoodmapPlugin

    library = Library(str(tmp_path / "lib.db"))
    for name in ("one.flac", "two.wav"):
        item = Item.from_path(str(write_audio(tmp_path / name, tone(16.0, 16000), 16000)))
        library.add(item)
    plugin = MoodmapPlugin()
    options = types.SimpleNamespace(model=str(exported[0]), force=None)
    assert plugin.analyse(library, options, []) == 2
    item = library.items("title:one").get() or list(library.items())[0]
    assert 0 <= float(item["valence"]) <= 1 and item["mood"]  # typed FLOAT once beets loads the plugin
    assert len(list(library.items(f"mood:{item['mood']}"))) >= 1
    assert plugin.analyse(library, options, []) == 0  # already analysed
    assert plugin.analyse(library, types.SimpleNamespace(model=str(exported[0]), force=True), []) == 2
