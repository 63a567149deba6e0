"""The ``moodmap`` command (the typer app): each subcommand parses, calls one library function, renders.

Commands live in three modules: ``research`` (data sets, training, the paper's sweep and
report, model export), ``compare`` (models on identical splits) and ``music`` (predict,
scan, library, playlists, the map).

Errors moodmap raises on purpose print as one line (``moodmap: FILE: reason``) with
exit code 2; an unexpected exception prints one line asking for a report, exit code 1
(``--debug`` or ``MOODMAP_DEBUG=1`` shows its traceback); Ctrl-C exits 130 after saying
how to resume.
"""
from __future__ import annotations

import os
from typing import Annotated

import typer

from . import compare, music, players, research

app = typer.Typer(add_completion=False, no_args_is_help=True, pretty_exceptions_enable=False,
                  help="Valence and arousal of music: reproduce the 2019 TU Berlin mood CNN, tag and map a library.")
for module in (research, compare, music, players):  # research first: the order of --help
    app.registered_commands += module.commands.registered_commands
    app.registered_groups += module.commands.registered_groups


@app.callback()
def _options(debug: Annotated[bool, typer.Option("--debug", help="Show the traceback of an internal error.")]
             = False) -> None:
    if debug:
        os.environ["MOODMAP_DEBUG"] = "1"
