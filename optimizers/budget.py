"""What a study costs in metric calls, before it runs, from the optimisers' own budget rules.

One metric call = one fusor program call = one fusor LM call (the fusor alone on stored pools; the metric of
math and translation needs no LM). The numbers are upper bounds: bootstrapping stops early once its demos
pass, adaptive fusion skips the fusor where the candidates agree, and DSPy's cache answers a repeated prompt
for free. MIPROv2 and GEPA run at `auto="light"`, as `compile_fusor` sets them.
"""

from __future__ import annotations

import math

import dspy
from dspy.teleprompt.mipro_optimizer_v2 import AUTO_RUN_SETTINGS, MIN_MINIBATCH_SIZE
from pydantic import BaseModel

from fusion_dspy.prompts import load_prompt

LIGHT = "light"
MIPRO_MINIBATCH = 35
"""MIPROv2's default `minibatch_size`; its full evaluations come every `minibatch_full_eval_steps` = 5 trials."""
MIPRO_CANDIDATES = 3
"""Instruction and demo-set candidates of a MIPROv2 run with an explicit budget (light uses 6)."""


class TrialBudget(BaseModel):
    """Metric calls of one trial: compiling the fusor, then scoring it on the validation split."""

    optimizer: str
    compile: int
    validation: int

    @property
    def total(self) -> int:
        return self.compile + self.validation


def mipro_bootstrap_calls(train: int, demos: int, candidates: int) -> int:
    """MIPROv2's demo sets: seeds -1 … candidates-1 bootstrap, each at most one pass over train."""
    return 0 if demos == 0 else (candidates + 1) * train


def mipro_trials(budget: int, train: int, val: int, demos: int) -> int:
    """Trials (each a full pass over val, no minibatches) that fit `budget` metric calls after the demo sets and
    the default program's evaluation; at least 1."""
    return max(1, (budget - mipro_bootstrap_calls(train, demos, MIPRO_CANDIDATES) - val) // max(1, val))


def mipro_calls(train: int, val: int, demos: int, budget: int | None = None, predictors: int = 1) -> int:
    """MIPROv2 with `budget`: its demo sets, the default program and `mipro_trials` full passes over val.
    Light (no budget): 7 bootstrapped demo sets, the default program on the valset, then each trial on the
    valset (a minibatch of 35 above 50 examples)."""
    if budget is not None:
        return (
            mipro_bootstrap_calls(train, demos, MIPRO_CANDIDATES) + val + mipro_trials(budget, train, val, demos) * val
        )
    settings = AUTO_RUN_SETTINGS[LIGHT]
    valset = min(val, settings["val_size"])
    zeroshot = demos == 0
    variables = predictors * (1 if zeroshot else 2)
    trials = int(max(2 * variables * math.log2(settings["n"]), 1.5 * settings["n"]))
    bootstrap = mipro_bootstrap_calls(train, demos, settings["n"])
    if valset > MIN_MINIBATCH_SIZE:
        full = trials // 5 + 1 + (1 if trials % 5 else 0)
        return bootstrap + trials * MIPRO_MINIBATCH + full * valset
    return bootstrap + valset + trials * valset


def gepa_calls(val: int, budget: int | None = None, predictors: int = 1) -> int:
    """GEPA's `max_metric_calls`: `budget`, or at light dspy's own `GEPA.auto_budget` for the validation size."""
    if budget is not None:
        return budget
    return int(dspy.GEPA.auto_budget(None, num_preds=predictors, num_candidates=6, valset_size=val))


def trial_budget(optimizer: str, train: int, val: int, demos: int, budget: int | None = None) -> TrialBudget:
    """Upper bound on one trial's metric calls for `optimizer` with these split sizes and demo count (and the
    compile `budget` MIPROv2 and GEPA were given)."""
    if optimizer == "bootstrap":
        compile_calls = train if demos else 0
    elif optimizer == "mipro":
        compile_calls = mipro_calls(train, val, demos, budget)
    elif optimizer == "gepa":
        compile_calls = gepa_calls(val, budget)
    else:
        raise ValueError(f"unknown optimizer {optimizer!r}")
    return TrialBudget(optimizer=optimizer, compile=compile_calls, validation=val)


def study_budget(
    optimizers: list[str], trials: int, train: int, val: int, test: int, max_demos: int, budget: int | None = None
) -> int:
    """Upper bound on a whole study: the first trial (the first optimiser with the most demos, see
    `FusorStudy.first_params`), every other trial at its costliest optimiser and demo count, and the held-out test
    of the default and the tuned fusor."""
    first = trial_budget(optimizers[0], train, val, max_demos, budget).total
    worst = max(trial_budget(o, train, val, d, budget).total for o in optimizers for d in range(max_demos + 1))
    return first + (trials - 1) * worst + 2 * test


def instruction_language_calls(val: int, test: int) -> int:
    """The end of a non-English study (`optimizers.instruction_language`): one translation call per line of the
    fusor's instructions (the default ones plus the task header and task line; optimised ones may differ), both
    instruction languages on validation, the translated one on the held-out test (English's is already scored)."""
    lines = sum(1 for line in load_prompt("fuser")["instructions"].splitlines() if line.strip()) + 2
    return lines + 2 * val + test
