"""The dependency rule, as a contract: the library side never imports the research side.

`pip install moodmap` (predict, scan, tags, playlists, the map, the web app) installs without
PyTorch, SciPy, matplotlib or librosa, and starts fast. That holds only while no module of the
library side imports the research side or those packages — not at the top, and not inside a
function either, where it would fail (or load torch) the first time that function runs. The
import graph is read from the source (every ``import`` and ``from … import`` anywhere in a
module; only ``if TYPE_CHECKING:`` blocks are exempt), so a rule broken by a rarely run line is
caught here, not by a user.
"""
from __future__ import annotations

import ast
from collections import deque
from functools import lru_cache
from pathlib import Path

import pytest

SRC = Path(__file__).resolve().parents[1] / "src"

LIBRARY, RESEARCH, CLI = "library", "research", "cli"

# Which side each module is on: a name is that module alone, ``NAME.*`` that package and everything
# below it (the most specific entry decides). The layout says it: core, inference, library and web
# are the library side (what `pip install moodmap` runs), research the research side (`moodmap[train]`).
# A module not covered fails `test_every_module_is_on_a_side`.
SIDES: dict[str, str] = {
    "moodmap": LIBRARY, "moodmap._moved": LIBRARY,
    "moodmap.core.*": LIBRARY, "moodmap.inference.*": LIBRARY, "moodmap.library.*": LIBRARY,
    "moodmap.web.*": LIBRARY, "beetsplug.*": LIBRARY,
    "moodmap.research.*": RESEARCH,
    # the command line imports both sides, the research side only inside research commands
    "moodmap.cli.*": CLI,
}
# What only the research side (`moodmap[train]`) installs: top-level package names.
RESEARCH_PACKAGES = {"torch", "scipy", "matplotlib", "librosa", "sklearn", "onnx"}


def side(module: str) -> str | None:
    """The side ``module`` is on: its own entry in SIDES, else the closest ``PACKAGE.*`` above it."""
    if module in SIDES:
        return SIDES[module]
    parts = module.split(".")
    for n in range(len(parts), 0, -1):
        if ".".join(parts[:n]) + ".*" in SIDES:
            return SIDES[".".join(parts[:n]) + ".*"]
    return None


@lru_cache(maxsize=1)
def modules() -> dict[str, Path]:
    """Every module under src/ that the contract covers: dotted name → file."""
    found = {}
    for package in ("moodmap", "beetsplug"):
        for path in sorted((SRC / package).rglob("*.py")):
            parts = path.relative_to(SRC).with_suffix("").parts
            found[".".join(parts[:-1] if parts[-1] == "__init__" else parts)] = path
    return found


def _is_type_checking(node: ast.If) -> bool:
    test = node.test
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or \
        (isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING")


def _import_nodes(tree: ast.AST, module_level: bool = False):
    """The import statements of a module and how deep: (node, inside a function). ``if
    TYPE_CHECKING:`` bodies are skipped (never run); with ``module_level``, so are function bodies."""
    stack = [(child, False) for child in ast.iter_child_nodes(tree)]
    while stack:
        node, in_function = stack.pop()
        if isinstance(node, (ast.Import, ast.ImportFrom)):
            yield node, in_function
            continue
        if isinstance(node, ast.If) and _is_type_checking(node):
            stack += [(child, in_function) for child in node.orelse]
            continue
        function = isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda))
        if function and module_level:
            continue
        stack += [(child, in_function or function) for child in ast.iter_child_nodes(node)]


def _targets(module: str, node: ast.Import | ast.ImportFrom) -> list[str]:
    """What one import statement imports: moodmap modules (dotted) and other top-level packages."""
    known = modules()
    if isinstance(node, ast.Import):
        return [alias.name if alias.name in known else alias.name.split(".")[0] for alias in node.names]
    if node.level:
        package = module if known[module].name == "__init__.py" else module.rpartition(".")[0]
        base = ".".join(package.split(".")[:len(package.split(".")) - node.level + 1])
        source = f"{base}.{node.module}" if node.module else base
    else:
        source = node.module or ""
    if source not in known and source.split(".")[0] in ("moodmap", "beetsplug"):
        raise AssertionError(f"{module}: line {node.lineno} imports {source}, which is not a module under src/")
    if source not in known:
        return [source.split(".")[0]]
    # `from . import provenance` imports the submodule; `from .errors import X` the module
    return [f"{source}.{a.name}" if f"{source}.{a.name}" in known else source for a in node.names]


@lru_cache(maxsize=2)
def import_graph(module_level: bool = False) -> dict[str, dict[str, int]]:
    """module → {what it imports: the line}, as written (no implied parent packages)."""
    graph: dict[str, dict[str, int]] = {}
    for module, path in modules().items():
        edges = graph.setdefault(module, {})
        for node, _ in _import_nodes(ast.parse(path.read_text(encoding="utf-8")), module_level):
            for target in _targets(module, node):
                if target != module:
                    edges.setdefault(target, node.lineno)
    return graph


def loads(module: str, module_level: bool = False) -> list[str]:
    """What importing ``module`` (or, for a CLI module, loading it) can bring in: what it imports,
    and the packages around each moodmap module (importing a.b.c runs a/__init__ and a/b/__init__)."""
    known = modules()
    targets = list(import_graph(module_level)[module])
    for name in (module, *(t for t in targets if t in known)):
        parts = name.split(".")
        targets += [p for p in (".".join(parts[:n]) for n in range(1, len(parts))) if p in known and p != module]
    return list(dict.fromkeys(targets))


def offence(target: str) -> bool:
    """Whether the library side may not reach ``target``: a research module, or a research package."""
    return target in RESEARCH_PACKAGES if target not in modules() else side(target) == RESEARCH


def shortest_chain(start: str, stop, follow=loads) -> list[str] | None:
    """The shortest import chain from ``start`` to a target ``stop`` accepts, breadth first over
    moodmap modules and what ``follow`` says each one imports."""
    came_from: dict[str, str | None] = {start: None}
    queue = deque([start])
    while queue:
        current = queue.popleft()
        for target in follow(current):
            if stop(target):  # checked first: a chain back to ``start`` is a cycle
                chain = [current]
                while came_from[chain[-1]] is not None:
                    chain.append(came_from[chain[-1]])
                return chain[::-1] + [target]
            if target in came_from:
                continue
            came_from[target] = current
            if target in modules():
                queue.append(target)
    return None


def described(chain: list[str]) -> str:
    """``a → b → research.module → torch``: a chain into the research side goes on to the
    research package it brings in, when there is one, so the cost is plain."""
    tail = shortest_chain(chain[-1], lambda t: t in RESEARCH_PACKAGES) if chain[-1] in modules() else None
    return " → ".join(chain + (tail[1:] if tail else []))


def violations(starts: list[str], module_level_only: frozenset[str] = frozenset()) -> list[str]:
    """One chain for each of ``starts`` that reaches the research side (modules in
    ``module_level_only`` followed only through what they import when loaded)."""
    def follow(module: str) -> list[str]:
        return loads(module, module in module_level_only)

    found = [shortest_chain(start, offence, follow) for start in starts]
    return sorted(described(chain) for chain in found if chain)


def test_every_module_is_on_a_side():
    unplaced = [m for m in modules() if side(m) is None]
    assert not unplaced, f"put these modules on a side in SIDES: {unplaced}"
    stale = [key for key in SIDES if not any(m == key or m.startswith(key.removesuffix("*")) for m in modules())]
    assert not stale, f"SIDES names modules that are gone: {stale}"


def test_the_library_side_imports_nothing_of_the_research_side():
    library = [m for m in modules() if side(m) == LIBRARY]
    assert len(library) > 25
    found = violations(library)
    assert not found, "the library side reaches the research side (moodmap[train]):\n  " + "\n  ".join(found)


def test_the_command_line_loads_the_research_side_only_inside_research_commands():
    cli = frozenset(m for m in modules() if side(m) == CLI)
    found = violations(sorted(cli), module_level_only=cli)
    assert not found, "loading the command line reaches the research side:\n  " + "\n  ".join(found)


# What each part of the layout may import of moodmap (function-level imports included): the core
# stands alone, inference on the core, the library on both, the web app on all three; research may
# use everything but the command line. (``moodmap`` itself loads its public API lazily, by name.)
# The package's own files ("": moodmap/__init__.py, its __version__, and _moved.py) load with any of them.
MAY_IMPORT = {
    "core": {"core", ""},
    "inference": {"core", "inference", ""},
    "library": {"core", "inference", "library", ""},
    "web": {"core", "inference", "library", "web", ""},
    "research": {"core", "inference", "library", "research", ""},
    "": {"core", ""},
}


def part(module: str) -> str | None:
    """``core``, ``inference``, ``library``, ``web``, ``research``, ``cli`` or "" (the package's own files)."""
    parts = module.split(".")
    if parts[0] != "moodmap":
        return None
    return parts[1] if len(parts) > 1 and parts[1] in {*MAY_IMPORT, "cli"} - {""} else ""


def test_each_part_of_the_layout_imports_only_what_it_may():
    crossings = []
    for module in modules():
        own = part(module)
        if own is None or own == "cli":
            continue
        for target, line in import_graph()[module].items():
            other = part(target) if target in modules() else None
            if other is not None and other not in MAY_IMPORT[own]:
                crossings.append(f"{module} (line {line}) imports {target}: {own or 'moodmap'} may import only "
                                 f"{', '.join(sorted(p or 'moodmap' for p in MAY_IMPORT[own]))}")
    assert not crossings, "imports across the layout:\n  " + "\n  ".join(crossings)


def test_no_module_imports_itself_through_others():
    def follow(module: str) -> list[str]:  # the imports as written: a package's own submodules are no cycle
        return [t for t in import_graph()[module] if t in modules()]

    cycles = set()
    for module in modules():
        chain = shortest_chain(module, lambda t, m=module: t == m, follow)
        if chain:  # each cycle once, told from its first module in sorted order
            first = chain.index(min(chain[:-1]))
            cycles.add(" → ".join(chain[first:-1] + chain[:first + 1]))
    assert not cycles, "import cycles (function-level imports included):\n  " + "\n  ".join(sorted(cycles))


@pytest.mark.parametrize("source, expected", [
    ("import torch\n", ["torch"]),
    ("def f():\n    from ..research.models import onnx_form\n", ["moodmap.research.models.onnx_form"]),
    ("from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n    import torch\nelse:\n    import scipy.signal\n",
     ["typing", "scipy"]),
    ("from ..core import provenance\nfrom ..inference.registry import resolve\n", ["moodmap.core.provenance",
                                                                                  "moodmap.inference.registry"]),
])
def test_the_reader_sees_every_import(source, expected):
    """The graph reader itself: function-level and relative imports count, TYPE_CHECKING does not."""
    module = "moodmap.library.scan" if "core" not in source else "moodmap.web.app"
    tree = ast.parse(source)
    assert {t for node, _ in _import_nodes(tree) for t in _targets(module, node)} == set(expected)
