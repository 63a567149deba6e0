"""Every link between the README and the pages under docs/ leads somewhere: the file is there, and an
anchor (``page.md#a-heading``) names a heading of that page, as GitHub slugs it."""
from __future__ import annotations

import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PAGES = [ROOT / "README.md", ROOT / "CHANGELOG.md", *sorted((ROOT / "docs").rglob("*.md"))]
LINK = re.compile(r"\]\(([^)\s]+)\)")
FENCE = re.compile(r"^(```|~~~)")


def slug(heading: str) -> str:
    """GitHub's anchor for a heading: lower case, punctuation dropped (but - and _), spaces to hyphens."""
    text = re.sub(r"[^\w\- ]", "", heading.strip().lower().replace("`", ""))
    return text.replace(" ", "-")


def prose(page: Path) -> list[str]:
    """The page's lines outside code blocks."""
    lines, inside = [], False
    for line in page.read_text(encoding="utf-8").splitlines():
        if FENCE.match(line.strip()):
            inside = not inside
        elif not inside:
            lines.append(line)
    return lines


def anchors(page: Path) -> set[str]:
    return {slug(line.lstrip("#")) for line in prose(page) if line.startswith("#")}


def links(page: Path) -> list[str]:
    return [m.group(1) for line in prose(page) for m in LINK.finditer(line)
            if not m.group(1).startswith(("http://", "https://", "mailto:"))]


@pytest.mark.parametrize("page", PAGES, ids=lambda p: str(p.relative_to(ROOT)))
def test_every_link_of_a_page_leads_somewhere(page):
    broken = []
    for link in links(page):
        target, _, anchor = link.partition("#")
        path = (page.parent / target).resolve() if target else page
        if not path.exists():
            broken.append(f"{link}: no {path.relative_to(ROOT) if path.is_relative_to(ROOT) else path}")
        elif anchor and path.suffix == ".md" and anchor not in anchors(path):
            broken.append(f"{link}: no heading #{anchor} in {path.relative_to(ROOT)}")
    assert not broken, "\n".join(broken)


def test_the_slug_is_githubs():
    assert slug("## `moodmap scan` — index a music library".lstrip("#")) == "moodmap-scan--index-a-music-library"
    assert slug("What moodmap changes in your files and index") == "what-moodmap-changes-in-your-files-and-index"


PLACEHOLDER = re.compile(r"(^|/)[A-Z]{3,}(\.|/)")
SOURCE_PATH = re.compile(r"\b((?:src|benchmarks|tools|tests)/[\w/.-]+\.(?:py|md|json|onnx|pt))\b")


@pytest.mark.parametrize("page", PAGES, ids=lambda p: str(p.relative_to(ROOT)))
def test_every_source_file_a_page_names_is_there(page):
    """A page that names a file of the project (``src/moodmap/library/scan.py``, ``benchmarks/scan.py``)
    sends a reader to it: after a move, the old path is a dead end. A placeholder in capitals
    (``tests/FILE.py``, ``weights/NAME.md``) stands for any file and is not checked."""
    named = set(SOURCE_PATH.findall(page.read_text(encoding="utf-8")))
    missing = sorted(path for path in named if not (ROOT / path).exists() and not PLACEHOLDER.search(path))
    assert not missing, f"{page.relative_to(ROOT)} names files that are not there: {missing}"
