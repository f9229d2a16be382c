"""Which knobs mattered, per objective: Optuna's parameter importances (PED-ANOVA) for a high validation score
and, in a score-and-cost study, for few fusor tokens — a knob can decide the cost and not the quality."""

from __future__ import annotations

import warnings
from collections.abc import Callable
from pathlib import Path

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt
import optuna
from pydantic import BaseModel

COMPLETE = (optuna.trial.TrialState.COMPLETE,)
MIN_TRIALS = 2

Target = Callable[[optuna.trial.FrozenTrial], float]
# PED-ANOVA with a target counts a low target as good: the score is negated, tokens are taken as they are.
TARGETS: dict[str, tuple[str, Target]] = {
    "score": ("a high validation score", lambda t: -t.values[0]),
    "tokens": ("few fusor tokens", lambda t: t.values[1]),
}


class Importances(BaseModel):
    """Importance of each parameter for each objective (`for_objective[objective][parameter]`), or why there are
    none, and Optuna's caveats about them (e.g. too few trials for some value)."""

    for_objective: dict[str, dict[str, float]] = {}
    missing: str | None = None
    caveats: list[str] = []


def importances(study: optuna.Study, objectives: list[str]) -> Importances:
    """PED-ANOVA importances of the study's parameters for each of `objectives` (score, tokens)."""
    trials = study.get_trials(deepcopy=False, states=COMPLETE)
    if len(trials) < MIN_TRIALS:
        return Importances(
            missing=f"Parameter importances need at least {MIN_TRIALS} completed trials; this study has {len(trials)}."
        )
    evaluator = optuna.importance.PedAnovaImportanceEvaluator()  # fANOVA would need scikit-learn
    found: dict[str, dict[str, float]] = {}
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        try:
            for objective in objectives:
                target = TARGETS[objective][1]
                found[objective] = optuna.importance.get_param_importances(study, evaluator=evaluator, target=target)
        except (RuntimeError, ValueError) as error:
            return Importances(
                missing=f"Parameter importances could not be computed ({error}): too few trials or too little "
                "variation."
            )
    caveats = sorted({str(w.message) for w in caught if "low `target`" not in str(w.message)})
    return Importances(for_objective=found, caveats=caveats)


def plot_importances(values: Importances, path: Path) -> None:
    """One horizontal bar per parameter and objective, parameters in the order of the first objective."""
    objectives = list(values.for_objective)
    names = list(values.for_objective[objectives[0]])[::-1]
    height = 0.8 / len(objectives)
    figure, axes = plt.subplots(figsize=(6, 0.5 + 0.4 * max(1, len(names)) * len(objectives) ** 0.5))
    for i, (objective, colour) in enumerate(zip(objectives, ["#30638e", "#d1495b"], strict=False)):
        scores = values.for_objective[objective]
        offsets = [y + (i - (len(objectives) - 1) / 2) * height for y in range(len(names))]
        axes.barh(offsets, [scores.get(n, 0.0) for n in names], height=height, color=colour,
                  label=f"for {TARGETS[objective][0]}")  # fmt: skip
    axes.set_yticks(range(len(names)), names)
    axes.set_xlabel("importance (PED-ANOVA)")
    axes.legend(fontsize=8)
    figure.tight_layout()
    figure.savefig(path, dpi=120)
    plt.close(figure)


def importance_lines(values: Importances, figure: str) -> list[str]:
    """The report's section body: the figure, a table with a column per objective, and Optuna's caveats."""
    if values.missing is not None:
        return [values.missing]
    objectives = list(values.for_objective)
    names = list(values.for_objective[objectives[0]])
    lines = [
        f"![parameter importances]({figure})",
        "",
        "| parameter | " + " | ".join(f"for {TARGETS[o][0]}" for o in objectives) + " |",
        "|---|" + "---|" * len(objectives),
    ]
    lines += [
        f"| {name} | " + " | ".join(f"{values.for_objective[o].get(name, 0.0):.3f}" for o in objectives) + " |"
        for name in names
    ]
    return lines + [f"\nOptuna's caveat: {caveat}" for caveat in values.caveats]
