"""The examples in the modules' docstrings run and say what they show: every module under src/ with
a ``>>>`` line is found here by reading the source, so a new module's examples run without being
listed, and none can silently stop running (moved out of a docstring, the module renamed)."""
from __future__ import annotations

import doctest
import importlib
import re
from pathlib import Path

import pytest

import moodmap

# The packages as imported (the source tree, installed editable), and the beets plugin beside them.
PACKAGES = [Path(moodmap.__file__).resolve().parent, Path(__file__).resolve().parents[1] / "src" / "beetsplug"]
PROMPT = re.compile(r"^\s*>>> ", re.M)


def module_name(path: Path, package: Path) -> str:
    parts = path.relative_to(package.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


SOURCES = {module_name(p, package): p for package in PACKAGES for p in sorted(package.rglob("*.py"))
           if PROMPT.search(p.read_text(encoding="utf-8"))}


def test_the_modules_with_examples_are_found():
    assert {"moodmap.inference.predict", "moodmap.core.mood", "moodmap.research.datasets", "moodmap.inference.predictor"} <= set(SOURCES)


@pytest.mark.parametrize("name", sorted(SOURCES))
def test_docstring_examples(name):
    module = importlib.import_module(name)
    found = [example for test in doctest.DocTestFinder().find(module) for example in test.examples]
    written = len(PROMPT.findall(SOURCES[name].read_text(encoding="utf-8")))
    assert len(found) == written, f"{name}: {written} examples written, {len(found)} where doctest finds them"
    result = doctest.testmod(module)
    skipped = sum(bool(example.options.get(doctest.SKIP)) for example in found)
    assert result.failed == 0 and result.attempted == len(found) - skipped, result
