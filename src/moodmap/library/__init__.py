"""A music library's side: the index (``index``: one SQLite row per song), the table read from it
(``song_table``), ``scan`` and ``watch``, mood tags in the files (``tags``) and in the index's
journal (``tagging``), playlists (``playlist_query``, ``playlists``, ``playlist_folder``,
``navidrome``), MPD stickers (``mpd_stickers``) and the mood map (``mood_map``, ``plane_png``).

Imports only ``core`` and ``inference`` (tests/test_import_contract.py). Until 0.3,
``from moodmap.library import Library`` (the index, when this was one module) keeps working.
"""
from __future__ import annotations


def __getattr__(name: str):
    """The index module's names, as ``moodmap.library`` offered them before it was a package."""
    if name.startswith("__"):
        raise AttributeError(name)
    import importlib

    index = importlib.import_module(".index", __name__)  # not `from . import`: that asks this hook again
    try:
        return getattr(index, name)
    except AttributeError:
        raise AttributeError(f"module 'moodmap.library' has no attribute {name!r}") from None
