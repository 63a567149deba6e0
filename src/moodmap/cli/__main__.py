"""``python -m moodmap.cli``: the same as the ``moodmap`` command."""
import sys

from moodmap.cli import app

if __name__ == "__main__":
    sys.exit(app())
