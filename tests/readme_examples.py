"""The console examples of the project's Markdown, as data a test can run and check.

A ```` ```console ```` block holds commands (``$ …``) each followed by the output it shows.
What a shown output must match in the real one:

- the same lines in the same order; runs of spaces and of box-drawing rules count as one
  (column widths follow the numbers), trailing spaces are ignored;
- a line that is only ``…`` stands for any number of lines, and ``…`` inside a line for
  any text;
- numbers within two units of their last shown digit (``0.601`` matches 0.599–0.603;
  integers exactly; ``mean±sd`` both), unless the block is marked ``<!-- example: numbers=any -->`` just
  above it (training results, which change from run to run) or the test runs the command
  at a reduced size; durations (``0:00:05``, ``1.9 s``, ``23 ms``) always match any duration;
- lines that start with ``moodmap:`` (notes and errors) are looked for on standard error,
  everything else on standard output. A command shown without output may print anything.

A ```` ```python ```` block is code a reader runs: a page's blocks run in order in one namespace
(``python_blocks``). One that cannot run on a test machine is marked
``<!-- example: not-run: REASON -->`` just above it, and the reason is required.
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path

BLOCK = re.compile(r"(?:<!--\s*example:\s*(?P<directive>[^>]*?)\s*-->\s*\n)?```console\n(?P<body>.*?)```", re.S)
PYTHON = re.compile(r"(?:<!--\s*example:\s*(?P<directive>[^>]*?)\s*-->\s*\n)?```python\n(?P<body>.*?)```", re.S)
NOT_RUN = re.compile(r"not-run\s*:\s*(?P<reason>\S.*)", re.S)
DURATION = re.compile(r"\b\d+:\d\d:\d\d\b|\b\d+(?:\.\d+)?\s?(?:ms|s|min)\b")
NUMBER = re.compile(r"(?<![\w.])[-+−]?\d+(?:\.\d+)?(?![\w])")
RULES = re.compile(r"[━─═]+")
STAT = re.compile(r"(?<![\w.])[-+−]?\d+(?:\.\d+)?±[-+−]?\d+(?:\.\d+)?(?![\w])")


@dataclass
class Example:
    """One command of a console block, the output it shows, and where it stands."""

    source: str  # file:line
    command: str
    shown: list[str] = field(default_factory=list)
    any_numbers: bool = False

    @property
    def id(self) -> str:
        return f"{self.source} {self.command[:60]}"


def examples(markdown: Path, root: Path) -> list[Example]:
    """Every ``$`` command of every console block in ``markdown``, in order."""
    text = markdown.read_text(encoding="utf-8")
    found: list[Example] = []
    for block in BLOCK.finditer(text):
        any_numbers = "numbers=any" in (block.group("directive") or "")
        first_line = text[:block.start("body")].count("\n") + 1
        current = None  # lines before a block's first command are not output
        for offset, line in enumerate(block.group("body").splitlines()):
            if line.startswith("$ "):
                source = f"{markdown.relative_to(root)}:{first_line + offset}"
                current = Example(source, _without_comment(line[2:]), any_numbers=any_numbers)
                found.append(current)
            elif current is not None:
                current.shown.append(line)
    return found


@dataclass
class PythonBlock:
    """One ```python block: its code, where it starts, and why it does not run (None: it runs)."""

    source: str  # file:line of its first line of code
    line: int
    code: str
    not_run: str | None = None

    @property
    def id(self) -> str:
        return self.source


def python_blocks(markdown: Path, root: Path) -> list[PythonBlock]:
    """Every ```python block of ``markdown``, in order. A directive above one other than
    ``not-run: REASON`` (with a reason) is an error: a typo must not quietly run or skip a block."""
    text = markdown.read_text(encoding="utf-8")
    found = []
    for block in PYTHON.finditer(text):
        line = text[:block.start("body")].count("\n") + 1
        source = f"{markdown.relative_to(root)}:{line}"
        directive = (block.group("directive") or "").strip()
        reason = NOT_RUN.fullmatch(directive) if directive else None
        if directive and not reason:
            raise ValueError(f"{source}: unknown directive {directive!r} above a python block "
                             "(only `<!-- example: not-run: REASON -->`)")
        found.append(PythonBlock(source, line, block.group("body"), reason.group("reason").strip() if reason else None))
    return found


def _without_comment(command: str) -> str:
    """The command without a trailing ``  # explanation``."""
    return re.split(r"\s{2,}#\s", command, maxsplit=1)[0].strip()


def normalise(line: str) -> str:
    return " ".join(RULES.sub("━", line).split())


NUM = r"[-+−]?\d+(?:\.\d+)?"


def _pattern(line: str, any_numbers: bool) -> tuple[re.Pattern, list[tuple[float, float]]]:
    """A regex for one shown line, and the (value, tolerance) of each number it checks.

    With ``any_numbers`` a number (or ``mean±sd``) also matches ``–``, how a metric that
    does not exist (r of constant predictions) is printed."""
    line = normalise(line)
    durations = [(m.start(), m.end()) for m in DURATION.finditer(line)]
    numbers = [(m.start(), m.end()) for m in STAT.finditer(line)]
    numbers += [(m.start(), m.end()) for m in NUMBER.finditer(line)
                if not any(a <= m.start() < b for a, b in durations + numbers)]
    pieces, checks, at = [], [], 0
    for start, end in sorted(durations + numbers):
        pieces.append(_literal(line[at:start]))
        shown, at = line[start:end], end
        if (start, end) in durations:
            pieces.append(r"(?:\d+:\d\d:\d\d|\d+(?:\.\d+)?\s?(?:ms|s|min))")
        elif any_numbers:
            pieces.append(rf"(?:{NUM}(?:±{NUM})?|–)")
        else:
            for value in shown.split("±"):
                value = value.replace("−", "-")
                decimals = len(value.split(".")[1]) if "." in value else 0
                checks.append((float(value), 0.0 if decimals == 0 else 2 * 10 ** -decimals + 1e-12))
            pieces.append("±".join([f"({NUM})"] * len(shown.split("±"))))
    pieces.append(_literal(line[at:]))
    return re.compile("".join(pieces)), checks


def _literal(text: str) -> str:
    return ".*?".join(re.escape(part) for part in text.split("…"))


def line_matches(shown: str, actual: str, any_numbers: bool) -> bool:
    pattern, checks = _pattern(shown, any_numbers)
    match = pattern.fullmatch(normalise(actual))
    if not match:
        return False
    values = [float(v.replace("−", "-")) for v in match.groups()]
    return all(abs(v - expected) <= tolerance for v, (expected, tolerance) in zip(values, checks))


def mismatch(shown: list[str], actual: list[str], any_numbers: bool) -> str | None:
    """Why ``actual`` lines are not what ``shown`` shows (None when they are)."""
    shown = [s for s in shown if s.strip()]
    actual = [a for a in actual if a.strip()]
    if _match(shown, actual, any_numbers):
        return None
    return "shown:\n  " + "\n  ".join(shown) + "\nactual:\n  " + "\n  ".join(actual)


def _match(shown: list[str], actual: list[str], any_numbers: bool) -> bool:
    if not shown:
        return not actual
    if shown[0].strip() == "…":
        return any(_match(shown[1:], actual[i:], any_numbers) for i in range(len(actual) + 1))
    return bool(actual) and line_matches(shown[0], actual[0], any_numbers) and _match(shown[1:], actual[1:], any_numbers)
