"""Navidrome: mood playlists as smart playlists (``.nsp``), and the ``navidrome.toml`` lines they need.

Navidrome reads the MOOD tag moodmap writes (ID3 ``TMOO``, Vorbis ``MOOD``, iTunes
``----:com.apple.iTunes:MOOD``) into its own ``mood`` field with no configuration.
VALENCE, AROUSAL and MOODMAP_QUADRANT become fields a smart playlist can filter on once
``navidrome.toml`` declares them as tags (``toml_tags``). A smart playlist is rules that
Navidrome evaluates itself, so it keeps up with the library; moodmap writes one only when
rules on those fields select what the playlist means: a named mood (``mood is calm``), a
quadrant (``moodmap_quadrant is Q4``), ranges of valence and arousal (``gt``/``lt`` or ``is``
on the float tags, which hold the three decimals moodmap's ranges compare), parts of genre,
artist and album (``contains``), sorted by valence or arousal. A playlist built around
particular songs (near one, a path between two), an energy curve (an order, not a set),
spacing and artist rules, a text that searches several fields, or a part of a tag that
Navidrome would read otherwise (a wildcard, a separator it splits values at) is refused
with ``NotExpressible``, which says why in one line and to write M3U8 instead.

Field, operator and sort names follow Navidrome's ``model/criteria`` (fields.go, json.go,
sort.go) and what its ``persistence/criteria_sql.go`` makes of them (no ``inTheRange`` on a tag).
"""
from __future__ import annotations

import json
import shutil
from pathlib import Path

from ..core.errors import MoodmapError, parameter
from ..core.mood import QUADRANT_CENTERS, resolve_emotion
from .playlist_query import MODES, query_filters, query_sort
from .playlists import Constraints
from .song_table import Range

# The tags moodmap writes, as Navidrome reads them: field name → (type, aliases: ID3 TXXX,
# Vorbis comment, iTunes freeform atom — lower case, as in Navidrome's mappings.yaml).
CUSTOM_TAGS = {
    "valence": ("float", ("txxx:valence", "valence", "----:com.apple.itunes:valence")),
    "arousal": ("float", ("txxx:arousal", "arousal", "----:com.apple.itunes:arousal")),
    "moodmap_quadrant": ("string", ("txxx:moodmap_quadrant", "moodmap_quadrant",
                                    "----:com.apple.itunes:moodmap_quadrant")),
}


class NotExpressible(MoodmapError):
    """A playlist that rules on tags cannot reproduce (it depends on particular songs or an order)."""


def toml_tags(names=tuple(CUSTOM_TAGS), table: str = "Tags") -> str:
    """The ``navidrome.toml`` section that makes moodmap's tags (those of ``names``) smart-playlist fields."""
    lines = ["# moodmap's tags as Navidrome fields (smart playlists can filter and sort on them).",
             "# Add to navidrome.toml, restart Navidrome and run a full scan once.", ""]
    for name in names:
        kind, aliases = CUSTOM_TAGS[name]
        lines += [f"[{table}.{name}]", "Aliases = [" + ", ".join(f'"{a}"' for a in aliases) + "]"]
        if kind != "string":
            lines.append(f'Type = "{kind}"')
        lines.append("")
    return "\n".join(lines)


def append_toml(path: Path) -> list[str]:
    """Add the declarations of moodmap's tags that ``path`` (a navidrome.toml) lacks, keeping the
    original as ``.bak``; the names added. What the file declares is read with tomllib, in whatever
    form (``[Tags.valence]``, a ``[Tags]`` table, dotted keys); refused in one line when it already
    declares all three, is not TOML, or cannot take the new tables and stay valid TOML."""
    import tomllib

    from ..core.atomic import atomic_write_text

    old = path.read_text(encoding="utf-8") if path.exists() else ""
    try:
        declared = tomllib.loads(old)
    except tomllib.TOMLDecodeError as exc:
        raise MoodmapError(path, f"is not valid TOML ({exc}); nothing was changed") from None
    table = next((key for key in declared if key.lower() == "tags"), "Tags")  # Navidrome's keys ignore case
    tags = declared.get(table, {})
    if not isinstance(tags, dict):
        raise MoodmapError(path, f"its {table} is not a table; nothing was changed")
    have = {name.lower() for name in tags}
    missing = [name for name in CUSTOM_TAGS if name not in have]
    if not missing:
        raise MoodmapError(path, "already declares moodmap's tags; nothing was changed")
    new = old + ("\n" if old and not old.endswith("\n") else "") + "\n" + toml_tags(missing, table)
    try:
        result = tomllib.loads(new)
    except tomllib.TOMLDecodeError:
        result = {}
    if not all(name in result.get(table, {}) for name in CUSTOM_TAGS):
        raise MoodmapError(path, f"declares {table} in a form moodmap cannot safely add to (an inline table?); "
                                 f"add {', '.join(missing)} yourself (`moodmap integrate navidrome` prints them); "
                                 "nothing was changed")
    if path.exists():
        shutil.copy2(path, path.with_name(path.name + ".bak"))
    atomic_write_text(path, new)
    return missing


# How Navidrome (model/criteria, persistence/criteria_sql.go) splits the values a ``contains`` rule looks
# into: genre (a tag, split by mappings.yaml at ; / ,) and artist (the "artist" role: a single ARTIST tag
# split at these). A part of a tag that holds one of them could match across two values here but never there.
SPLITS = {"genre": (";", "/", ","), "artist": (" / ", " feat. ", " feat ", " ft. ", " ft ", "; ")}
LIKE_WILDCARDS = ("%", "_")  # Navidrome puts a contains rule's value into SQL LIKE unescaped


def smart_playlist(query: dict, constraints: Constraints, title: str) -> dict:
    """The Navidrome smart playlist for a moodmap playlist query; ``NotExpressible`` (one line saying why)
    when Navidrome's rules cannot select exactly the songs the query does.

    A mood is ``mood is NAME`` (the MOOD tag), a quadrant ``moodmap_quadrant is Qn``; a range of
    valence or arousal is a ``gt``-or-``is`` rule for its low end and ``lt``-or-``is`` for its high end
    on the float tag (Navidrome refuses ``inTheRange`` on a tag); a part of a genre, artist or album a
    ``contains`` rule; the sort Navidrome's ``sort`` with ``order: desc`` for highest first (else
    random, as a mood playlist's). Without a mood or a range, a rule that every song moodmap tagged
    passes (``valence > -1``) keeps the songs moodmap never analysed out, as they are out of its playlist.
    """
    modes = {key: query[key] for key in MODES if query.get(key)}
    if set(modes) - {"mood"}:
        mode = next(iter(set(modes) - {"mood"}))
        article = "an" if mode[0] in "aeiou" else "a"
        raise NotExpressible(None, f"{article} {mode!r} playlist depends on particular songs or an order, which "
                                   "Navidrome's rules cannot express; write it as .m3u8 instead")
    if not modes and not query.get("filters") and not query.get("sort"):
        raise NotExpressible(None, "a 'none' playlist depends on particular songs or an order, which Navidrome's "
                                   "rules cannot express; write it as .m3u8 instead")
    if constraints.min_distance or constraints.exclude_artist_repeats or constraints.seed is not None:
        raise NotExpressible(None, "spacing, one-song-per-artist and seeded draws are not rules Navidrome has; "
                                   "drop them or write .m3u8 instead")
    filters, sort = query_filters(query), query_sort(query)
    if filters.text:
        raise NotExpressible(None, f"{parameter('text')} looks in titles and file names too, which no one Navidrome "
                                   f"rule does; use {parameter('genre')}, {parameter('artist')} or "
                                   f"{parameter('album')}, or write .m3u8 instead")
    rules, said = _mood_rules(modes.get("mood"))
    for axis, bounds in filters.ranges.items():
        rules += _range_rules(axis, bounds)
        said.append(f"with {bounds.describe(axis)} (the {axis.upper()} tag)")
    if not rules:
        rules.append({"gt": {"valence": -1}})
        said.append("that moodmap tagged (valence > -1)")
    for name, part in filters.tags.items():
        rules.append({"contains": {name: _like_value(name, part)}})
        said.append(f"whose {name} contains {part!r}")
    nsp = {"name": title, "comment": "moodmap: songs " + ", ".join(said), "all": rules,
           "sort": sort.field if sort else "random"}
    if sort and sort.descending:
        nsp["order"] = "desc"
    return {**nsp, "limit": constraints.n}


def _mood_rules(mood: str | None) -> tuple[list[dict], list[str]]:
    """The rule for a mood or quadrant, and what it says (none without one)."""
    if not mood:
        return [], []
    mood = mood.strip()
    if mood.upper() in QUADRANT_CENTERS:
        return [{"is": {"moodmap_quadrant": mood.upper()}}], [f"in quadrant {mood.upper()} (the MOODMAP_QUADRANT tag)"]
    name = resolve_emotion(mood).name
    return [{"is": {"mood": name}}], [f"whose nearest named emotion is {name} (the MOOD tag)"]


def _range_rules(axis: str, bounds: Range) -> list[dict]:
    """Both ends included: ``value > low or value = low`` and ``value < high or value = high``."""
    rules = []
    for end, below in ((bounds.low, "gt"), (bounds.high, "lt")):
        if end is not None:
            value = int(end) if end.is_integer() else end  # 1, not 1.0: as the user wrote it (the same number)
            rules.append({"any": [{below: {axis: value}}, {"is": {axis: value}}]})
    return rules


def _like_value(name: str, part: str) -> str:
    """``part`` as a contains rule's value, or ``NotExpressible`` when Navidrome would read it otherwise."""
    if any(c in part for c in LIKE_WILDCARDS):
        raise NotExpressible(None, f"--{name} {part!r}: Navidrome reads % and _ in a rule as wildcards; "
                                   "leave them out or write .m3u8 instead")
    split = next((s for s in SPLITS.get(name, ()) if s in part.lower()), None)
    if split is not None:
        raise NotExpressible(None, f"--{name} {part!r}: Navidrome splits {name} values at {split.strip()!r} and "
                                   f"matches each alone; look for one {name} or write .m3u8 instead")
    return part


def to_nsp(query: dict, constraints: Constraints, title: str) -> str:
    """The smart playlist as ``.nsp`` text (JSON)."""
    return json.dumps(smart_playlist(query, constraints, title), ensure_ascii=False, indent=2) + "\n"
