import pytest

from moodmap.core.errors import MoodmapError
from moodmap.research.report import write_report
from moodmap.research.sweep import run_sweep


@pytest.fixture(scope="module")
def partial_sweep(synth_cache, tmp_path_factory):
    folder = tmp_path_factory.mktemp("sweep")
    run_sweep(synth_cache, folder, runs=1, epochs=1, jobs=1, only=["dropout", "kernel-original"])
    return folder


def test_report_renders_partial_results(partial_sweep):
    out = write_report(partial_sweep)
    markdown = (out / "report.md").read_text()
    assert markdown.count("## Table") == 7
    assert "| paper MAE | 0.092 ± 0.013 | 0.087 ± 0.008 | 0.094 ± 0.007 | 0.102 ± 0.004 |" in markdown
    assert "split: **grouped**" in markdown and "baseline MAE" in markdown
    optimizer_table = markdown.split("## Table 3")[1].split("## Table 4")[0]
    assert "| runs | 1 | 0 | 0 | 0 | 0 | 0 | 0 |" in optimizer_table  # adam is the base model, run for Table 6


def test_one_run_says_n_1_and_the_report_says_what_shared_runs_cannot_show(partial_sweep):
    markdown = (write_report(partial_sweep) / "report.md").read_text()
    dropout = markdown.split("## Table 6")[1].split("## Table 7")[0]
    assert "(n = 1)" in dropout and "± 0.000" not in markdown
    notes = markdown.split("### Reading these tables")[1]
    assert "won in the paper by 5×5 (0.091)" in notes
    assert "The 6 cells equal to the final model" in notes and "0.087–0.095" in notes
    orderings = markdown.split("### Orderings, best first")[1]
    assert "| 6 (dropout) | 0.2 < 0.0 < 0.5 < 0.8 | " in orderings  # the paper's order, beside ours
    assert "(optimizer)" not in orderings  # a table with settings not run yet has no ordering


def test_figures_are_written_and_not_empty(partial_sweep):
    out = write_report(partial_sweep)
    names = {p.name for p in out.glob("*.png")}
    assert {"fig1.png", "fig3.png", "fig6.png", "fig10.png", "fig11.png", "shrinkage.png"} <= names
    assert all(p.stat().st_size > 5000 for p in out.glob("*.png"))
    page = (out / "report.html").read_text()
    assert page.count("data:image/png;base64,") == len(names) and "<table>" in page


def test_report_without_results_is_a_clear_error(tmp_path):
    with pytest.raises(MoodmapError, match="results.sqlite"):
        write_report(tmp_path)


def test_grouped_and_random_sweeps_are_reported_side_by_side(synth_cache, tmp_path):
    run_sweep(synth_cache, tmp_path, runs=1, epochs=1, jobs=1, only=["dropout"])
    run_sweep(synth_cache, tmp_path, runs=1, epochs=1, split="random", jobs=1, only=["dropout"])
    out = write_report(tmp_path)
    markdown = (out / "report.md").read_text()
    assert "split: **grouped**" in markdown and "split: **random**" in markdown
    assert (out / "fig10.png").exists() and (out / "fig10-random.png").exists()
