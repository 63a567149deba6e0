"""The index has a home, as beets' library does: without --db every command uses $MOODMAP_DB, else
`library = "…"` in $XDG_CONFIG_HOME/moodmap/config.toml, else $XDG_DATA_HOME/moodmap/library.sqlite
(~/.local/share/moodmap/library.sqlite), wherever it is run from; --db still wins. `library stats` says which
index and why; a reading command with no index yet says in one line how to make one. Run through the
installed program with a throwaway HOME."""
from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from helpers import write_library_db

MOODMAP = str(Path(sys.executable).parent / "moodmap")


@pytest.fixture
def home(tmp_path) -> Path:
    (tmp_path / "home").mkdir()
    return tmp_path / "home"


def moodmap(*args: str, home: Path, cwd: Path | None = None, **env: str) -> subprocess.CompletedProcess:
    """The installed program as this user runs it: their HOME, no XDG folders or MOODMAP_DB unless given."""
    clean = {k: v for k, v in os.environ.items() if k not in ("XDG_DATA_HOME", "XDG_CONFIG_HOME", "MOODMAP_DB")}
    return subprocess.run([MOODMAP, *args], cwd=cwd or home, capture_output=True, text=True, timeout=120,
                          env={**clean, "HOME": str(home), **env})


def index_with(songs: int, folder: Path) -> Path:
    """An index of ``songs`` songs at ``folder``/library.sqlite."""
    return write_library_db(folder, songs=songs, spread=False)


def files_under(folder: Path) -> list[str]:
    return sorted(str(p.relative_to(folder)) for p in folder.rglob("*"))


def test_without_db_a_scan_anywhere_keeps_one_index_in_the_users_data_folder(home, tmp_path):
    music, elsewhere = home / "Music", tmp_path / "cron"
    music.mkdir()
    elsewhere.mkdir()
    done = moodmap("scan", str(music), "--quiet", home=home, cwd=elsewhere)
    default = home / ".local/share/moodmap/library.sqlite"
    assert done.returncode == 0 and done.stdout.rstrip().endswith(f"→ {default}"), done
    assert default.is_file() and list(elsewhere.iterdir()) == []  # nothing new where cron ran it
    shutil.copy(index_with(12, tmp_path / "made"), default)  # the index a long scan would have made
    stats = moodmap("library", "stats", home=home, cwd=elsewhere)
    lines = stats.stdout.splitlines()
    assert stats.returncode == 0 and lines[0] == f"index: {default} (default)" and lines[1].startswith("12 songs, ")
    listing = moodmap("playlist", home=home, cwd=music)
    assert listing.returncode == 0 and f"12 songs in {default}" in listing.stdout
    assert "moodmap playlist --mood" in listing.stdout and "--db" not in listing.stdout  # what to type next


def test_the_index_is_db_then_moodmap_db_then_the_config_file_then_the_default(home, tmp_path):
    default = index_with(6, home / ".local/share/moodmap")
    said = lambda done: (done.returncode, done.stdout.splitlines()[:2])  # noqa: E731
    assert said(moodmap("library", "stats", home=home))[1][0] == f"index: {default} (default)"
    config = home / ".config/moodmap/config.toml"
    config.parent.mkdir(parents=True)
    configured = index_with(5, home / ".config/moodmap/indexes")
    config.write_text('# moodmap\nlibrary = "indexes/library.sqlite"  # beside this file\n')
    code, lines = said(moodmap("library", "stats", home=home))
    assert code == 0 and lines[0] == f"index: {configured} (from config {config})" and lines[1].startswith("5 songs")
    from_env = index_with(4, tmp_path / "env")
    code, lines = said(moodmap("library", "stats", home=home, MOODMAP_DB=str(from_env)))
    assert code == 0 and lines[0] == f"index: {from_env} (from $MOODMAP_DB)" and lines[1].startswith("4 songs")
    given = index_with(3, tmp_path / "given")
    code, lines = said(moodmap("library", "stats", "--db", str(given), home=home, MOODMAP_DB=str(from_env)))
    assert code == 0 and lines[0] == f"index: {given} (from --db)" and lines[1].startswith("3 songs")


def test_the_xdg_folders_and_a_home_relative_config_path_are_honoured(home, tmp_path):
    data, config = tmp_path / "data", tmp_path / "config"
    index = index_with(7, data / "moodmap")
    (home / "relative/moodmap").mkdir(parents=True)  # a relative XDG folder is invalid (the spec): ignored
    (home / "relative/moodmap/config.toml").write_text(f'library = "{index_with(1, tmp_path / "wrong")}"\n')
    done = moodmap("library", "stats", home=home, XDG_DATA_HOME=str(data), XDG_CONFIG_HOME="relative")
    assert done.stdout.startswith(f"index: {index} (default)\n7 songs"), done
    mine = index_with(2, home / "Music")
    (config / "moodmap").mkdir(parents=True)
    (config / "moodmap/config.toml").write_text('library = "~/Music/library.sqlite"\n')
    done = moodmap("library", "stats", home=home, XDG_DATA_HOME=str(data), XDG_CONFIG_HOME=str(config))
    assert done.stdout.startswith(f"index: {mine} (from config {config / 'moodmap/config.toml'})\n2 songs"), done


@pytest.mark.parametrize("command", [["playlist"], ["playlist", "--mood", "calm"], ["playlist-folder", "--all-moods",
                                     "--to", "lists"], ["map"], ["untag"], ["library", "stats"], ["library", "check"],
                                     ["library", "prune"], ["library", "export"], ["library", "failures"]],
                         ids=" ".join)
def test_a_reading_command_with_no_index_yet_says_how_to_make_one(home, command):
    done = moodmap(*command, home=home)
    default = home / ".local/share/moodmap/library.sqlite"
    assert done.returncode == 2 and done.stdout == "", done
    assert done.stderr.splitlines() == [f"moodmap: {default}: no library index here yet (default); "
                                        "`moodmap scan ~/Music` makes one"]
    assert files_under(home) == []  # no index, no folder, no playlist, no map made on the way


def test_a_config_file_moodmap_cannot_use_is_one_line(home):
    config = home / ".config/moodmap/config.toml"
    config.parent.mkdir(parents=True)
    for text, says in (("library = 3\n", "library must be the index's path, in quotes"),
                       ("library = ~/x\n", "not a valid TOML config file")):
        config.write_text(text)
        done = moodmap("library", "stats", home=home)
        assert done.returncode == 2 and len(done.stderr.splitlines()) == 1, done
        assert done.stderr.startswith(f"moodmap: {config}: {says}"), done.stderr


def test_an_empty_file_where_the_default_index_goes_is_a_fresh_index(home, tmp_path):
    default = home / ".local/share/moodmap/library.sqlite"  # an empty file: `touch`ed by a setup script
    default.parent.mkdir(parents=True)
    default.touch()
    stats = moodmap("library", "stats", home=home)
    assert stats.returncode == 2 and "no library index here yet (default)" in stats.stderr, stats
    (tmp_path / "Music").mkdir()
    assert moodmap("scan", str(tmp_path / "Music"), home=home).returncode == 0
    assert moodmap("library", "stats", home=home).stdout.splitlines()[:2] == [f"index: {default} (default)",
                                                                             "0 songs, 0 failures; mean valence "
                                                                             "0.000, mean arousal 0.000"]
    given = tmp_path / "given.sqlite"  # named with --db, an empty file stays refused (test_index_safety)
    given.touch()
    assert moodmap("scan", str(tmp_path / "Music"), "--db", str(given), home=home).returncode == 2
    assert given.stat().st_size == 0
