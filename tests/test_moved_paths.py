"""moodmap 0.1's flat module paths keep working until 0.3 (CHANGELOG.md): the same module, a warning."""
from __future__ import annotations

import importlib
import importlib.util
import subprocess
import sys

import pytest

from moodmap._moved import MOVED, PACKAGES

OLD_PATHS = """
import warnings
warnings.simplefilter("error", DeprecationWarning)
from moodmap.library import Library, open_library  # the package hands out the old module's names, no warning
import moodmap.library.index
assert Library is moodmap.library.index.Library and open_library is moodmap.library.index.open_library
warnings.simplefilter("always", DeprecationWarning)
with warnings.catch_warnings(record=True) as caught:
    import moodmap.scan
    import moodmap.library.scan
    from moodmap.models.registry import DEFAULT_MODEL
    from moodmap.datasets.score import SongParams
    import moodmap.research.datasets.score
assert moodmap.scan is moodmap.library.scan, "the old path is another module object"
assert DEFAULT_MODEL == __import__("moodmap.inference.registry", fromlist=["x"]).DEFAULT_MODEL
assert SongParams is moodmap.research.datasets.score.SongParams
said = [str(w.message) for w in caught if w.category is DeprecationWarning]
assert "moodmap.scan is now moodmap.library.scan; the old path goes in moodmap 0.3" in said, said
assert any(s.startswith("moodmap.models.registry is now moodmap.inference.registry") for s in said), said
print("ok")
"""


def test_an_old_path_imports_the_module_at_its_new_place_with_a_warning():
    done = subprocess.run([sys.executable, "-c", OLD_PATHS], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0 and done.stdout.strip() == "ok", done.stderr


@pytest.mark.parametrize("old", sorted(MOVED))
def test_every_moved_path_leads_to_a_module_that_is_there(old):
    spec = importlib.util.find_spec(f"moodmap.{MOVED[old]}")
    assert spec is not None
    assert (spec.submodule_search_locations is not None) == (old in PACKAGES)


def test_a_path_that_never_was_is_still_not_found():
    with pytest.raises(ModuleNotFoundError):
        importlib.import_module("moodmap.no_such_module")


def test_a_module_below_a_moved_package_moved_with_it():
    from moodmap._moved import new_path

    assert new_path("datasets.a_module_added_later") == "research.datasets.a_module_added_later"
    assert new_path("models.predictor") == "inference.predictor"  # listed on its own: it went elsewhere
    assert new_path("cli.root") is None and new_path("web.app") is None
