"""A study's metric-call budget, computed from the optimisers' own rules before anything runs (issue 13)."""

import dspy
from typer.testing import CliRunner

from fusion_dspy.cli.main import app
from fusion_dspy.optimizers.budget import study_budget, trial_budget


def test_each_optimisers_trial_budget():
    assert trial_budget("bootstrap", 40, 30, 2).total == 70  # at most one pass over train, then validation
    assert trial_budget("bootstrap", 40, 30, 0).total == 30  # no demos: nothing to compile
    assert trial_budget("mipro", 40, 30, 0).compile == 30 + 9 * 30  # default program, then 9 zero-shot trials
    assert trial_budget("mipro", 40, 30, 2).compile == 7 * 40 + 30 + 10 * 30  # 7 bootstrapped demo sets first
    assert trial_budget("mipro", 40, 60, 2).compile == 7 * 40 + 10 * 35 + 3 * 60  # minibatches above 50
    gepa = dspy.GEPA.auto_budget(None, num_preds=1, num_candidates=6, valset_size=30)
    assert trial_budget("gepa", 40, 30, 2).compile == gepa == 500
    assert study_budget(["bootstrap", "gepa"], 4, 40, 30, 30, 2) == 70 + 3 * 530 + 60  # the first trial is known


def test_an_explicit_budget_caps_mipro_and_gepa():
    assert trial_budget("gepa", 40, 30, 2, budget=150).compile == 150  # GEPA's max_metric_calls
    # MIPROv2 with 3 candidates: 4 demo sets over train (160), the default program (30), then whole trials
    assert trial_budget("mipro", 40, 30, 2, budget=300).compile == 160 + 30 + 3 * 30
    assert trial_budget("mipro", 40, 30, 0, budget=150).compile == 30 + 4 * 30  # zero-shot: no demo sets
    assert trial_budget("mipro", 40, 30, 2, budget=10).compile == 160 + 30 + 30  # at least one trial


def test_optimize_budget_prints_without_running_anything():
    result = CliRunner().invoke(
        app, ["optimize", "--task", "math", "--lang", "en", "--limit", "100", "--trials", "12", "--budget"],
        env={"COLUMNS": "200"},
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    assert "bootstrap: at most 70 metric calls per trial" in result.output
    assert "at most 900 metric calls for 12 trials" in result.output


def test_a_non_english_budget_counts_the_translated_instructions_unless_english_only():
    command = ["optimize", "--task", "math", "--lang", "de", "--limit", "100", "--trials", "12", "--budget"]
    translated = CliRunner().invoke(app, command, env={"COLUMNS": "200"})
    assert translated.exit_code == 0, translated.output
    assert "at most 1001 metric calls" in translated.output  # 900 + 11 lines to translate + 2 × 30 val + 30 test
    assert "incl. 101 for the de instructions" in translated.output
    english = CliRunner().invoke(app, [*command, "--english-only"], env={"COLUMNS": "200"})
    assert "at most 900 metric calls" in english.output and "de instructions" not in english.output
