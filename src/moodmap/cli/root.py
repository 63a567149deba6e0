"""The ``moodmap`` command (the typer app): each subcommand parses, calls one library function, renders.

Commands live in four modules, shown in two panels of ``--help``: the library owner's ``music``
(predict, scan, library, playlist, the map, serve) and ``players`` (integrate, playlist-folder), and
the researcher's ``research`` (data sets, training, the paper's sweep and report, model export) and
``compare`` (models on identical splits).

Errors moodmap raises on purpose print as one line (``moodmap: FILE: reason``) with
exit code 2; an unexpected exception prints one line asking for a report, exit code 1
(``--debug`` or ``MOODMAP_DEBUG=1`` shows its traceback); Ctrl-C exits 130 after saying
how to resume.
"""
from __future__ import annotations

import os
import sys
from collections import Counter
from typing import Annotated

import typer

from . import compare, music, players, research

app = typer.Typer(add_completion=False, no_args_is_help=True, pretty_exceptions_enable=False,
                  help="Valence and arousal of music: reproduce the 2019 TU Berlin mood CNN, tag and map a library.")
# --help lists the commands in two panels, the library owner's first.
PANELS = {"Your music library": (music, players), "Research (moodmap\\[train])": (research, compare)}
for panel, modules in PANELS.items():
    for module in modules:
        for info in (*module.commands.registered_commands, *module.commands.registered_groups):
            info.rich_help_panel = panel
        app.registered_commands += module.commands.registered_commands
        app.registered_groups += module.commands.registered_groups


@app.callback()
def _options(debug: Annotated[bool, typer.Option("--debug", help="Show the traceback of an internal error.")]
             = False) -> None:
    if debug:
        os.environ["MOODMAP_DEBUG"] = "1"


def run(args: list[str] | None = None) -> None:
    """The program: the app, after refusing an option given twice — click would keep the last one
    and drop the first without a word (``playlist --arousal rise --arousal 0.2:0.5`` was not rising)."""
    args = sys.argv[1:] if args is None else args
    repeated = _repeated_option(typer.main.get_command(app), args)
    if repeated:
        print(f"moodmap: {repeated} is given more than once; give it once", file=sys.stderr)
        sys.exit(2)
    app(args=args, prog_name="moodmap")


def _repeated_option(command, args: list[str]) -> str | None:
    """The first option of the subcommand ``args`` name that takes one value and is given twice
    (``command``: the app's click command; typer brings its own click, so by duck type)."""
    position = 0
    while hasattr(command, "commands") and position < len(args):
        if not args[position].startswith("-"):
            command = command.commands.get(args[position])
            if command is None:
                return None  # click says what is unknown
        position += 1
    single = {name: option for option in command.params if option.param_type_name == "option"
              and not (option.multiple or option.count or option.is_flag) for name in option.opts}
    seen: Counter = Counter()
    for arg in args[position:]:
        if arg == "--":
            break
        option = single.get(arg.split("=", 1)[0] if arg.startswith("--") else arg)
        if option is not None:
            seen[option.name] += 1
            if seen[option.name] == 2:
                return "/".join(sorted(option.opts, key=len, reverse=True))
    return None
