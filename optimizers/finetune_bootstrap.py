"""Fused answers to learn from: the fusor sampled several times per stored pool, each answer scored by the metric,
plus the pool's right candidates as gold-backed fallbacks (`finetune_data.select_targets` chooses among them)."""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Sequence
from typing import Any

import dspy

from fusion_dspy.optimizers.finetune_data import FusedSample
from fusion_dspy.optimizers.fusor_data import shown_outputs
from fusion_dspy.optimizers.fusor_only import FusorOnly

Metric = Callable[..., float | bool]
Advance = Callable[[], None]
OnPool = Callable[[str, list[FusedSample]], None]
"""Called with a pool's id and samples as soon as every one of its fusor samples succeeded (so they can be kept)."""


def output_fields(program: FusorOnly) -> list[str]:
    """The fields the fusor writes (with `reasoning` for a chain-of-thought fusor), in the signature's order."""
    return [name for _, p in program.named_predictors() for name in p.signature.output_fields]


def pool_targets(program: FusorOnly, example: dspy.Example, metric: Metric, threshold: float) -> list[FusedSample]:
    """The pool's candidates as targets, scored: only those that carry every field the fusor writes (a chain of
    thought's target needs the candidate's reasoning; DSPy would otherwise show 'Not supplied')."""
    fields = output_fields(program)
    result = []
    for outputs in shown_outputs(example):
        if not all(outputs.get(f) not in (None, "") for f in fields):
            continue
        target = {f: outputs[f] for f in fields}
        score = float(metric(example, dspy.Prediction(**target)))
        result.append(FusedSample(example_id=example.id, outputs=target, score=score, passed=score >= threshold,
                                  source="pool"))  # fmt: skip
    return result


async def asample(
    program: FusorOnly, example: dspy.Example, metric: Metric, threshold: float, sample: int, temperature: float
) -> FusedSample | None:
    """One fusor sample (its own rollout, so the LM cache does not return the first answer again), scored; None
    when the call or its parsing failed."""
    config = {"temperature": temperature, "rollout_id": sample}
    try:
        prediction = await program.acall(**example.inputs().toDict(), config=config)
    except Exception:  # noqa: BLE001 - a failed sample is no target; the count of usable samples shows it
        return None
    outputs = {f: prediction.get(f) for f in output_fields(program)}
    score = float(metric(example, prediction))
    return FusedSample(example_id=example.id, outputs=outputs, score=score, passed=score >= threshold,
                       sample=sample)  # fmt: skip


async def abootstrap(
    program: FusorOnly,
    examples: Sequence[dspy.Example],
    metric: Metric,
    *,
    threshold: float,
    samples: int = 4,
    temperature: float = 0.8,
    threads: int = 4,
    advance: Advance | None = None,
    on_pool: OnPool | None = None,
) -> dict[str, list[FusedSample]]:
    """Example id → its fused samples (`samples` per pool at `temperature`) and its pool's candidates as targets.
    At most `threads` fusor calls run at once; `advance` is called once per pool done, `on_pool` once per pool
    whose samples all succeeded (a pool with a failed call is left for a rerun to sample again)."""
    gate = asyncio.Semaphore(threads)

    async def one(example: dspy.Example, sample: int) -> FusedSample | None:
        async with gate:
            return await asample(program, example, metric, threshold, sample, temperature)

    async def pool(example: dspy.Example) -> tuple[str, list[FusedSample]]:
        drawn = await asyncio.gather(*(one(example, i + 1) for i in range(samples)))
        found = [s for s in drawn if s is not None] + pool_targets(program, example, metric, threshold)
        if on_pool is not None and None not in drawn:
            on_pool(example.id, found)
        if advance is not None:
            advance()
        return example.id, found

    done: list[Any] = await asyncio.gather(*(pool(e) for e in examples))
    return dict(done)
