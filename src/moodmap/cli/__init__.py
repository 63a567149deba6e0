"""The ``moodmap`` command line; the app itself is built in ``moodmap.cli.root``.

This package stays light on purpose: worker processes that a command spawns import the
program's main module again, and for the ``moodmap`` script that is this package — so
importing it must not load typer, rich or the commands.
"""
from __future__ import annotations


def main() -> None:
    """The ``moodmap`` console script."""
    from .root import run

    run()


def __getattr__(name: str):
    if name == "app":  # ``from moodmap.cli import app``: the typer app, built on first use
        from .root import app

        return app
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
