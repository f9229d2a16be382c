import pytest
from typer.testing import CliRunner

from fusion_dspy.cli.main import app
from tests.benchmark_files import COUNTS

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


def test_eval_items_unreported_plans_only_unreported_items(scripted_math, tmp_path, monkeypatch):
    from fusion_dspy.programs import reported, task_by_name

    monkeypatch.setitem(reported.REPORTED_SUBSETS, "math", (("en", 3), ("de", 4)))
    monkeypatch.setitem(reported.REPORTED_KEYS, "math", frozenset())  # only the subsets above
    args = ["eval", "--task", "math", "--langs", "en,de", "--items", "unreported", "--dry-run", "--out", str(tmp_path)]
    result = runner.invoke(app, [*args, "--limit", "2"])
    assert result.exit_code == 0, result.output
    assert "en: 2 examples" in result.output and "de: 2 examples" in result.output and scripted_math.calls == []
    left = COUNTS["mgsm"] - len(reported.reported_items(task_by_name("math")()))
    everything = runner.invoke(app, [*args, "--limit", "50"])
    assert f"en: {left} examples" in everything.output and f"de: {left} examples" in everything.output
    bad = runner.invoke(app, [*args, "--items", "some"])
    assert bad.exit_code == 2 and "unreported" in bad.output
