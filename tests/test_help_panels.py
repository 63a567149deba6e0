"""`moodmap --help` as a newcomer reads it: the library owner's commands in one panel, the research side's
in another; `playlist` (one playlist) and `playlist-folder` (every mood's into a player's folder) are no
longer a letter apart (0.1's `playlists` still runs, hidden, and says its new name)."""
from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

MOODMAP = Path(sys.executable).parent / "moodmap"
ENV = {**os.environ, "TERMINAL_WIDTH": "100", "COLUMNS": "100", "NO_COLOR": "1"}


def run(*args: str, cwd: Path | None = None) -> subprocess.CompletedProcess:
    return subprocess.run([str(MOODMAP), *args], capture_output=True, text=True, env=ENV, cwd=cwd, timeout=120)


def panel(text: str, title: str) -> list[str]:
    """The command names listed in the --help panel called ``title``."""
    block = text.split(f"╭─ {title} ", 1)[1].split("╰", 1)[0]
    return re.findall(r"^│ (\S+)\s", block, flags=re.M)


def test_the_commands_are_listed_by_side():
    out = run("--help").stdout
    library = panel(out, "Your music library")
    research = panel(out, "Research (moodmap[train])")
    assert {"predict", "scan", "untag", "playlist", "playlist-folder", "map", "serve", "library",
            "integrate"} == set(library)
    assert {"synth", "prepare", "info", "train", "evaluate", "sweep", "report", "export", "download",
            "compare"} == set(research)
    assert out.index("Your music library") < out.index("Research (moodmap[train])")
    assert "playlists" not in library + research  # the old name is hidden


def test_the_old_name_of_playlist_folder_still_runs_and_says_the_new_one(tmp_path):
    done = run("playlists", "--to", str(tmp_path / "folder"), "--db", str(tmp_path / "none.sqlite"), cwd=tmp_path)
    assert done.returncode == 2  # no --all-moods: refused, as playlist-folder refuses it
    lines = done.stderr.splitlines()
    assert lines[0] == ("moodmap: note: `moodmap playlists` is now `moodmap playlist-folder` (one playlist: "
                        "`moodmap playlist`); the old name goes in moodmap 0.3"), done.stderr
    new = run("playlist-folder", "--to", str(tmp_path / "folder"), "--db", str(tmp_path / "none.sqlite"), cwd=tmp_path)
    assert new.returncode == 2 and "is now" not in new.stderr and new.stderr.splitlines()[0] == lines[1]


def test_square_brackets_in_help_are_printed_not_read_as_markup():
    """rich reads ``[word]`` as a style tag and drops it: "TOML file with a [features] table" printed as
    "TOML file with a  table", "moodmap[train]" as "moodmap". Every bracket a help text means must be escaped."""
    import typer

    from moodmap.cli.root import app

    markup = re.compile(r"(?<!\\)\[[a-z#/@][^\[\]]*\]")

    def texts(command, path):
        yield path, command.help or ""
        for param in command.params:
            yield f"{path} {param.name}", getattr(param, "help", None) or ""
        for name in getattr(command, "commands", {}):
            yield from texts(command.commands[name], f"{path} {name}")

    eaten = [(where, text) for where, text in texts(typer.main.get_command(app), "moodmap") if markup.search(text)]
    assert not eaten, eaten
