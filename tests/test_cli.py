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
