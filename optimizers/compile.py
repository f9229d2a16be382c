"""DSPy optimisers for the fusor, behind one function: bootstrap (BootstrapFewShot), mipro (MIPROv2), gepa (GEPA)."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import dspy

from fusion_dspy._async import run_sync
from fusion_dspy.errors import ConfigurationError
from fusion_dspy.lm.resolve import resolve_lm
from fusion_dspy.optimizers.budget import MIPRO_CANDIDATES, mipro_trials
from fusion_dspy.optimizers.fusor_only import FusorOnly
from fusion_dspy.optimizers.scoring import ascore_each
from fusion_dspy.usage import TokenUsage

Metric = Callable[..., float | bool]
OPTIMIZERS = ("bootstrap", "mipro", "gepa")


def evaluate(
    program: FusorOnly, devset: list[dspy.Example], metric: Metric, threads: int = 4
) -> tuple[float, TokenUsage]:
    """Mean metric in [0, 1] (a failed call scores 0) and the tokens spent (cache hits cost nothing).

    An answer whose metric judgements all failed is left out of the mean rather than scored.
    """
    if not devset:
        return 0.0, TokenUsage()
    scored = run_sync(ascore_each(program, devset, metric, threads))
    return scored.mean, scored.usage


def has_gold_outputs(program: FusorOnly, examples: list[dspy.Example]) -> bool:
    """True when every example holds a value for each output field the fusor's predictor writes, so it can be a
    labeled demo. A chain-of-thought fusor also writes `reasoning`, which gold data lacks: DSPy would show such a
    demo with "Not supplied for this particular example." as its reasoning, and a small fusor copies that line
    instead of reasoning (the embedded model did so in 55 of the 143 math answers a real study logged)."""
    outputs = {name for _, predictor in program.named_predictors() for name in predictor.signature.output_fields}
    return bool(examples) and all(example.get(name) is not None for example in examples for name in outputs)


def _proposer(program: FusorOnly, reflection_lm: dspy.BaseLM | None) -> Any:
    """The LM that proposes instructions (MIPROv2's prompt model, GEPA's reflection LM): `reflection_lm`, else
    the fusor's own LM, else the configured one."""
    own = program.fuser.lm
    lm = reflection_lm or (resolve_lm(own) if isinstance(own, str) else own) or dspy.settings.lm
    if lm is None:
        raise ConfigurationError("MIPROv2 and GEPA need an LM to propose instructions: pass reflection_lm=.")
    return lm


def compile_fusor(
    program: FusorOnly,
    optimizer: str,
    metric: Metric,
    trainset: list[dspy.Example],
    valset: list[dspy.Example],
    *,
    max_demos: int = 2,
    reflection_lm: dspy.BaseLM | None = None,
    feedback: Callable[..., dspy.Prediction] | None = None,
    budget: int | None = None,
    seed: int = 0,
    threads: int = 4,
    checkpoint_dir: Path | None = None,
) -> FusorOnly:
    """A tuned copy of `program`; the original is left as it was.

    Labeled demos (training examples shown as they are) are used only when every training example carries the
    output fields the fusor writes (see `has_gold_outputs`): DSPy silently drops a demo without the task's
    outputs, and shows one without a chain of thought's reasoning as "not supplied". GEPA reflects on
    `feedback` (a metric returning `dspy.Prediction(score=..., feedback=...)`, see `optimizers.feedback`), else
    on `metric`'s score. MIPROv2 proposes without its dataset summary: that summary reads ten training
    examples in one prompt, and a fusor's examples each hold a pool of N candidates (~14,000 tokens for ten
    translation pools: on one model thread such a call timed out after 10 minutes in one run and took 18 in
    another, so the proposals depended on the machine's speed); it still sees the bootstrapped demos, the
    program and a prompting tip.
    `budget` caps the metric calls MIPROv2 and GEPA spend compiling (see `optimizers.budget`); None runs them
    at dspy's `auto="light"`. GEPA keeps its state in `checkpoint_dir` after every iteration and, given the same
    folder again, continues from it (a killed compile loses at most one iteration).
    """
    student = program.deepcopy()
    labeled = max_demos if has_gold_outputs(program, trainset) else 0
    if optimizer == "bootstrap":
        if max_demos == 0:
            return student
        teleprompter: Any = dspy.BootstrapFewShot(
            metric=metric, max_bootstrapped_demos=max_demos, max_labeled_demos=labeled, max_rounds=1
        )
        compiled = teleprompter.compile(student, trainset=trainset)
    elif optimizer == "mipro":
        lm = _proposer(program, reflection_lm)
        size: dict[str, Any] = (
            {"auto": "light"} if budget is None else {"auto": None, "num_candidates": MIPRO_CANDIDATES}
        )
        teleprompter = dspy.MIPROv2(
            metric=metric, prompt_model=lm, task_model=lm, max_bootstrapped_demos=max_demos,
            max_labeled_demos=labeled, num_threads=threads, seed=seed, verbose=False, **size,
        )  # fmt: skip
        trials = {} if budget is None else {"num_trials": mipro_trials(budget, len(trainset), len(valset), max_demos)}
        compiled = teleprompter.compile(
            student,
            trainset=trainset,
            valset=valset or None,
            minibatch=budget is None,
            data_aware_proposer=False,
            **trials,
        )
    elif optimizer == "gepa":
        lm = _proposer(program, reflection_lm)

        def score_only(gold: Any, pred: Any, trace: Any = None, pred_name: Any = None, pred_trace: Any = None):
            return float(metric(gold, pred))

        calls: dict[str, Any] = {"auto": "light"} if budget is None else {"max_metric_calls": budget}
        teleprompter = dspy.GEPA(
            metric=feedback or score_only, reflection_lm=lm, num_threads=threads, seed=seed, track_stats=False,
            log_dir=str(checkpoint_dir) if checkpoint_dir is not None else None, **calls,
        )  # fmt: skip
        compiled = teleprompter.compile(student, trainset=trainset, valset=valset or None)
    else:
        raise ConfigurationError(f"unknown optimizer {optimizer!r}; choose one of {', '.join(OPTIMIZERS)}.")
    compiled._compiled = False
    return compiled
