"""``python -m moodmap.cli``: the same as the ``moodmap`` command."""
from moodmap.cli import main

if __name__ == "__main__":
    main()
