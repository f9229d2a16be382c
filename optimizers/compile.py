"""DSPy optimisers for the fusor, behind one function: bootstrap (BootstrapFewShot), mipro (MIPROv2), gepa (GEPA)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import dspy

from fusion_dspy.errors import ConfigurationError
from fusion_dspy.optimizers.fusor_only import FusorOnly

Metric = Callable[..., float | bool]
OPTIMIZERS = ("bootstrap", "mipro", "gepa")


def evaluate(program: FusorOnly, devset: list[dspy.Example], metric: Metric, threads: int = 4) -> float:
    """Mean metric in [0, 1] (failures score 0)."""
    if not devset:
        return 0.0
    result = dspy.Evaluate(devset=devset, metric=metric, num_threads=threads, display_progress=False)(program)
    return float(result.score) / 100.0


def compile_fusor(
    program: FusorOnly,
    optimizer: str,
    metric: Metric,
    trainset: list[dspy.Example],
    valset: list[dspy.Example],
    *,
    max_demos: int = 2,
    reflection_lm: dspy.BaseLM | None = None,
    seed: int = 0,
    threads: int = 4,
) -> FusorOnly:
    """A tuned copy of `program`; the original is left as it was."""
    student = program.deepcopy()
    if optimizer == "bootstrap":
        if max_demos == 0:
            return student
        teleprompter: Any = dspy.BootstrapFewShot(
            metric=metric, max_bootstrapped_demos=max_demos, max_labeled_demos=max_demos, max_rounds=1
        )
        compiled = teleprompter.compile(student, trainset=trainset)
    elif optimizer == "mipro":
        teleprompter = dspy.MIPROv2(
            metric=metric, auto="light", max_bootstrapped_demos=max_demos, max_labeled_demos=max_demos,
            num_threads=threads, seed=seed, verbose=False,
        )  # fmt: skip
        compiled = teleprompter.compile(student, trainset=trainset, valset=valset or None)
    elif optimizer == "gepa":
        lm = reflection_lm or dspy.settings.lm
        if lm is None:
            raise ConfigurationError("GEPA needs a reflection LM: configure one or pass reflection_lm=.")

        def feedback_metric(gold: Any, pred: Any, trace: Any = None, pred_name: Any = None, pred_trace: Any = None):
            return float(metric(gold, pred))

        teleprompter = dspy.GEPA(
            metric=feedback_metric, auto="light", reflection_lm=lm, num_threads=threads, seed=seed,
            track_stats=False,
        )  # fmt: skip
        compiled = teleprompter.compile(student, trainset=trainset, valset=valset or None)
    else:
        raise ConfigurationError(f"unknown optimizer {optimizer!r}; choose one of {', '.join(OPTIMIZERS)}.")
    compiled._compiled = False
    return compiled
