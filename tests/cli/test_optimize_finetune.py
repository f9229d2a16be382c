"""`fusion-dspy optimize --optimizer finetune` tells its CPU budget and runs alone (issue 29)."""

from typer.testing import CliRunner

from fusion_dspy.cli.main import app
from fusion_dspy.optimizers.finetune import cpu_hours

runner = CliRunner()


def test_the_budget_is_the_measured_step_time_times_the_steps(tmp_path):
    args = ["optimize", "--task", "math", "--lang", "en", "--optimizer", "finetune", "--budget", "--out",
            str(tmp_path), "--train-steps", "200", "--train-tokens", "1024"]  # fmt: skip
    result = runner.invoke(app, args)
    assert result.exit_code == 0, result.output
    low, high = cpu_hours(200, 1024)
    assert (round(low, 1), round(high, 1)) == (3.0, 5.9)  # 200 steps × 27-53 s × 2 (1,024 tokens)
    assert f"{low:.1f}-{high:.1f} CPU-hours" in " ".join(result.output.split())


def test_the_help_names_the_cpu_budget_and_the_install():
    result = runner.invoke(app, ["optimize", "--help"], terminal_width=200)
    text = " ".join(result.output.split())
    assert "27-53 s per LoRA step" in text and "0.75-1.5 CPU-hours per 100 steps" in text
    assert "pip install -e '.[train]'" in text


def test_finetune_does_not_join_a_study_of_prompt_optimisers(tmp_path):
    args = ["optimize", "--task", "math", "--lang", "en", "--optimizer", "finetune,bootstrap", "--out", str(tmp_path)]
    result = runner.invoke(app, args)
    assert result.exit_code == 2
    assert "finetune runs alone" in result.output
