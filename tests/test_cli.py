from typer.testing import CliRunner

from moodmap.cli import app

runner = CliRunner()


def test_help_lists_the_commands():
    result = runner.invoke(app, ["--help"])
    assert result.exit_code == 0
    for command in ("synth", "prepare", "info"):
        assert command in result.output


def test_synth_prepare_info_end_to_end(tmp_path):
    assert runner.invoke(app, ["synth", str(tmp_path / "s"), "--songs", "3", "--seconds", "16", "--jobs", "1"]).exit_code == 0
    result = runner.invoke(app, ["prepare", str(tmp_path / "s"), "--out", str(tmp_path / "c"), "--jobs", "1"])
    assert result.exit_code == 0, result.output
    assert "3 songs, 3 excerpts" in result.output
    info = runner.invoke(app, ["info", str(tmp_path / "c")])
    assert info.exit_code == 0 and "80 × 469" in info.output


def test_errors_are_one_line_with_exit_code_2(tmp_path):
    result = runner.invoke(app, ["prepare", str(tmp_path / "missing"), "--out", str(tmp_path / "c")])
    assert result.exit_code == 2
    assert result.output.strip().count("\n") == 0 and "missing" in result.output


def test_bad_setting_is_reported(tmp_path):
    result = runner.invoke(app, ["prepare", str(tmp_path), "--out", str(tmp_path / "c"), "--set", "bands=3"])
    assert result.exit_code == 2 and "bands" in result.output


def test_train_then_evaluate(synth_cache, tmp_path):
    result = runner.invoke(app, ["train", str(synth_cache), "--out", str(tmp_path / "run"), "--runs", "1",
                                 "--epochs", "1", "--set", "filters=4", "--set", "batch_size=8",
                                 "--json", str(tmp_path / "s.json")])
    assert result.exit_code == 0, result.output
    assert "baseline" in result.output and "grouped split" in result.output
    assert (tmp_path / "s.json").exists() and (tmp_path / "run" / "run-0" / "best.pt").exists()
    report = runner.invoke(app, ["evaluate", str(tmp_path / "run" / "run-0" / "best.pt"), str(synth_cache),
                                 "--rows", "all"])
    assert report.exit_code == 0, report.output
    assert "song level" in report.output and "excerpts averaged" in report.output


def test_train_rejects_an_unknown_setting(synth_cache, tmp_path):
    result = runner.invoke(app, ["train", str(synth_cache), "--out", str(tmp_path / "r"), "--set", "layers=3"])
    assert result.exit_code == 2 and "layers" in result.output


def test_evaluate_a_missing_model(synth_cache, tmp_path):
    result = runner.invoke(app, ["evaluate", str(tmp_path / "none.pt"), str(synth_cache)])
    assert result.exit_code == 2 and "none.pt" in result.output
