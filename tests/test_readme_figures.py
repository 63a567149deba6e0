"""The README's figures about real music are the report's (docs/research/real-music.md, written by
benchmarks/real_music.py): a number quoted in the README's model notice that the report does not
hold for `improved` is a figure that drifted or was never measured."""
import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def notice() -> str:
    """The README's blockquote about the shipped models."""
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    return " ".join(line[1:] for line in text.splitlines() if line.startswith(">"))


def improved_section() -> str:
    report = (ROOT / "docs/research/real-music.md").read_text(encoding="utf-8")
    tables = report.split("## `improved`", 1)[1].split("## `paper`", 1)[0]
    spread = next(line for line in report.splitlines() if line.startswith("| improved |"))
    return tables + spread


def test_the_readme_quotes_the_real_music_report_and_its_date():
    quoted, report = notice(), improved_section()
    date = re.search(r"\((\d{4}-\d\d-\d\d)\)", (ROOT / "docs/research/real-music.md").read_text().splitlines()[0])
    assert date and date.group(1) in quoted and "benchmarks/real_music.py" in quoted
    shares = re.findall(r"(\d+) %", quoted)
    assert len(shares) >= 4
    for share in shares:
        assert f"| {share}% [" in report, f"the README says {share} %; the report's improved table does not"
    for ratio in re.findall(r"(\d\.\d\d)×", quoted):
        assert f"| {ratio} /" in report, f"the README says {ratio}×; the report's spread row does not"
    counts = re.search(r"(\d+) game-music tracks and (\d+) MIDI pieces", quoted)
    assert counts and f"| {counts.group(1)} |" in report and f"| {counts.group(2)} |" in report
