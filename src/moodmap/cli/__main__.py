"""``python -m moodmap.cli``: the same as the ``moodmap`` command."""
import sys

from moodmap.cli import app

sys.exit(app())
