"""Parameter importances per objective: a knob that decides the cost need not decide the quality."""

import optuna
from optuna.distributions import CategoricalDistribution, IntDistribution

from fusion_dspy.optimizers.importances import importance_lines, importances, plot_importances


def study_where_n_costs_and_demos_score() -> optuna.Study:
    """Tokens grow with n only; the score grows with demos only (plus a little noise-free spread)."""
    study = optuna.create_study(directions=["maximize", "minimize"])
    space = {"n": IntDistribution(2, 5), "demos": IntDistribution(0, 2), "cot": CategoricalDistribution([False, True])}
    for i in range(24):
        n, demos, cot = 2 + i % 4, i % 3, bool(i % 2)
        study.add_trial(optuna.trial.create_trial(
            params={"n": n, "demos": demos, "cot": cot}, distributions=space,
            values=[0.3 + 0.1 * demos + 0.001 * (i % 5), 300.0 * n + (i % 7)],
        ))  # fmt: skip
    return study


def test_each_objective_gets_its_own_importances_and_the_report_shows_both(tmp_path):
    values = importances(study_where_n_costs_and_demos_score(), ["score", "tokens"])
    assert values.missing is None
    assert max(values.for_objective["score"], key=values.for_objective["score"].get) == "demos"
    assert max(values.for_objective["tokens"], key=values.for_objective["tokens"].get) == "n"
    lines = importance_lines(values, "importances.png")
    assert lines[2] == "| parameter | for a high validation score | for few fusor tokens |"
    assert any(line.startswith("| n | ") for line in lines)
    plot_importances(values, tmp_path / "importances.png")
    assert (tmp_path / "importances.png").stat().st_size > 1000


def test_too_few_trials_say_so_instead_of_a_figure():
    study = optuna.create_study(directions=["maximize", "minimize"])
    values = importances(study, ["score", "tokens"])
    assert values.missing == "Parameter importances need at least 2 completed trials; this study has 0."
    assert importance_lines(values, "importances.png") == [values.missing]
