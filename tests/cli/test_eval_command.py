import pytest
from typer.testing import CliRunner

from fusion_dspy.cli.main import app

runner = CliRunner()


def test_eval_writes_the_report_and_prints_the_table(scripted_math, tmp_path):
    args = ["eval", "--task", "math", "--langs", "en", "-n", "2", "--limit", "2", "--out", str(tmp_path)]
    result = runner.invoke(app, [*args, "--scorers", "majority,mbr"])
    assert result.exit_code == 0, result.output
    assert "fusion" in result.stdout and "oracle" in result.stdout
    assert {p.name for p in tmp_path.iterdir()} >= {"report.md", "report.json", "figure.png", "pools", "predictions"}


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        (["--task", "poetry", "--langs", "en"], "unknown task"),
        (["--task", "math", "--langs", "xx"], "no language"),
        (["--task", "math", "--langs", "en", "--scorers", "best"], "unknown scorer"),
    ],
)
def test_bad_eval_input_exits_2_with_the_fix(scripted_math, tmp_path, extra, message):
    result = runner.invoke(app, ["eval", *extra, "--out", str(tmp_path)])
    assert result.exit_code == 2
    assert message in " ".join(result.output.split())


def test_eval_help_teaches():
    result = runner.invoke(app, ["eval", "--help"])
    assert result.exit_code == 0
    assert "identical candidates" in result.output and "resumes" in " ".join(result.output.split())
