"""DSPy optimisers for the fusor, behind one function: bootstrap (BootstrapFewShot), mipro (MIPROv2), gepa (GEPA)."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any

import dspy

from fusion_dspy._async import run_sync
from fusion_dspy.errors import ConfigurationError
from fusion_dspy.metrics.measurement import JudgementFailedError
from fusion_dspy.optimizers.fusor_only import FusorOnly
from fusion_dspy.usage import TokenUsage

Metric = Callable[..., float | bool]
OPTIMIZERS = ("bootstrap", "mipro", "gepa")


def evaluate(
    program: FusorOnly, devset: list[dspy.Example], metric: Metric, threads: int = 4
) -> tuple[float, TokenUsage]:
    """Mean metric in [0, 1] (a failed call scores 0) and the tokens spent (cache hits cost nothing).

    An answer whose metric judgements all failed is left out of the mean rather than scored. Runs on asyncio
    rather than `dspy.Evaluate`, whose worker threads drop usage tracking.
    """
    if not devset:
        return 0.0, TokenUsage()
    return run_sync(_aevaluate(program, devset, metric, threads))


async def _aevaluate(
    program: FusorOnly, devset: list[dspy.Example], metric: Metric, threads: int
) -> tuple[float, TokenUsage]:
    gate = asyncio.Semaphore(threads)

    async def one(example: dspy.Example) -> tuple[float | None, TokenUsage]:
        async with gate:
            with dspy.track_usage() as tracker:
                try:
                    prediction = await program.acall(**example.inputs())
                except Exception:  # noqa: BLE001 - an unparseable answer scores 0, like dspy.Evaluate's failures
                    return 0.0, TokenUsage.from_tracker(tracker.usage_data)
            usage = TokenUsage.from_tracker(tracker.usage_data)
        try:
            return float(metric(example, prediction)), usage
        except JudgementFailedError:
            return None, usage

    results = await asyncio.gather(*(one(example) for example in devset))
    scores = [score for score, _ in results if score is not None]
    return (sum(scores) / len(scores) if scores else 0.0), TokenUsage.sum(usage for _, usage in results)


def has_gold_outputs(program: FusorOnly, examples: list[dspy.Example]) -> bool:
    """True when every example holds a value for each of the task's output fields (so it can be a labeled demo)."""
    task = program.fuser.task
    assert task is not None, "FusorOnly holds a bound Fuser"
    outputs = list(task.output_fields)
    return bool(examples) and all(example.get(name) is not None for example in examples for name in outputs)


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
    """A tuned copy of `program`; the original is left as it was.

    Labeled demos (training examples shown as they are) are used only when every training example carries the
    task's output fields: DSPy silently drops a demo without them.
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
        teleprompter = dspy.MIPROv2(
            metric=metric, auto="light", max_bootstrapped_demos=max_demos, max_labeled_demos=labeled,
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
