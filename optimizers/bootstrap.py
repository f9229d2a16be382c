"""Few-shot demos for the fusor, bootstrapped from a training set with DSPy's BootstrapFewShot."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import dspy

from fusion_dspy.compose import NofN

Metric = Callable[[dspy.Example, dspy.Prediction, Any], float | bool]


def bootstrap_fusor(
    program: NofN, trainset: list[dspy.Example], metric: Metric, *, max_demos: int = 2, max_rounds: int = 1
) -> NofN:
    """A copy of `program` whose fusor (or judge) carries up to `max_demos` demos that passed `metric`.

    Only the aggregator's predictors are tuned: the candidate program keeps its own demos, so the pool the
    fusor learns from is the pool it will see.
    """
    optimizer = dspy.BootstrapFewShot(
        metric=metric, max_bootstrapped_demos=max_demos, max_labeled_demos=0, max_rounds=max_rounds
    )
    compiled = optimizer.compile(program, trainset=trainset)
    sampler_demos = {name: list(p.demos) for name, p in program.source.named_predictors()}
    for name, predictor in compiled.source.named_predictors():
        predictor.demos = sampler_demos.get(name, [])
    compiled._compiled = False  # keep its predictors visible to enclosing programs and their saved state
    return compiled
