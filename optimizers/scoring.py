"""Per-example scores of a fusor on fusor examples, plain or behind adaptive fusion, with the tokens it spent.

Paired statistics need the score of every example, not a mean; adaptive fusion needs the pool itself (it may
skip the fusor when the candidates agree, or floor an unsupported fused answer), which each example carries.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any

import dspy
from pydantic import BaseModel, Field

from fusion_dspy.metrics.measurement import JudgementFailedError
from fusion_dspy.optimizers.fusor_data import POOL, task_inputs
from fusion_dspy.optimizers.fusor_only import FusorOnly
from fusion_dspy.programs.adaptive_defaults import Thresholds
from fusion_dspy.programs.base import Task
from fusion_dspy.usage import TokenUsage

Metric = Callable[..., Any]
OnScored = Callable[[dspy.Example, float | None, str], None]
FAILED = "failed"
"""The path of an example whose fusor call raised (scored 0, like dspy.Evaluate's failures)."""


class Scored(BaseModel):
    """Scores by example id (None: every metric judgement failed), the fusor's tokens, and the paths taken."""

    scores: dict[str, float | None] = Field(default_factory=dict)
    usage: TokenUsage = Field(default=TokenUsage(), description="What the fusor calls cost, cache hits included.")
    billed: TokenUsage = Field(default=TokenUsage(), description="What they cost this time (cache hits are free).")
    paths: dict[str, str] = Field(default_factory=dict)

    @property
    def mean(self) -> float:
        """Mean over the scored examples (0 when none was)."""
        values = [s for s in self.scores.values() if s is not None]
        return sum(values) / len(values) if values else 0.0

    def tokens_per_example(self) -> float:
        return self.usage.total_tokens / max(1, len(self.scores))


async def _answer(
    program: FusorOnly, example: dspy.Example, task: Task | None, adaptive: Thresholds | None
) -> tuple[dict[str, Any], str]:
    if adaptive is None or task is None:
        prediction = await program.acall(**example.inputs())
        return dict(prediction.items()), "fused"
    aggregator = task.adaptive_fusion(program.fuser)
    aggregator.skip_agreement, aggregator.floor_margin = adaptive.skip_agreement, adaptive.floor_margin
    result = await aggregator.bind(task.signature).aaggregate(task_inputs(example), example.get(POOL))
    return dict(result.outputs), str(result.path or result.method)


def _mark(lm: Any) -> str | None:
    """The id of `lm`'s newest history entry (None when it has none)."""
    history = getattr(lm, "history", None) or []
    return history[-1].get("uuid") if history else None


def _usage_since(lm: Any, mark: str | None) -> TokenUsage | None:
    """The usage of `lm`'s calls after `mark`, cache hits counted at their recorded cost (so a configuration's
    tokens do not depend on which trial ran it first); None when `lm` keeps no history."""
    history = getattr(lm, "history", None)
    if not isinstance(history, list):
        return None
    ids = [entry.get("uuid") for entry in history]
    start = len(ids) - ids[::-1].index(mark) if mark in ids else 0
    return TokenUsage.from_tracker({"fusor": [_recorded(entry) for entry in history[start:]]})


def _recorded(entry: dict[str, Any]) -> dict[str, Any]:
    """An LM history entry's usage; for a cache hit (DSPy empties its `usage`), the usage its response recorded."""
    usage = entry.get("usage")
    if usage:
        return dict(usage)
    recorded = getattr(entry.get("response"), "usage", None)
    if recorded is None or getattr(recorded, "input_tokens", None) is None:
        return {}
    return {"prompt_tokens": recorded.input_tokens or 0, "completion_tokens": recorded.output_tokens or 0}


async def ascore_each(
    program: FusorOnly,
    devset: list[dspy.Example],
    metric: Metric,
    threads: int = 4,
    *,
    task: Task | None = None,
    adaptive: Thresholds | None = None,
    advance: Callable[[], None] | None = None,
    on_scored: OnScored | None = None,
) -> Scored:
    """Every example's metric score (a failed call scores 0, like dspy.Evaluate's failures) and the tokens spent
    of the fusor. With `adaptive` (and the `task`), answers come from `task.adaptive_fusion` with those
    thresholds around this fusor. `advance` is called as each example is scored (a progress bar), `on_scored`
    with its score and path (a store). Runs on asyncio: dspy.Evaluate's worker threads drop usage tracking."""
    gate = asyncio.Semaphore(threads)
    lm = program.fuser.lm
    mark = _mark(lm)

    async def one(example: dspy.Example) -> tuple[float | None, TokenUsage, str]:
        try:
            result = await scored(example)
            if on_scored is not None:
                on_scored(example, result[0], result[2])
            return result
        finally:
            if advance is not None:
                advance()

    async def scored(example: dspy.Example) -> tuple[float | None, TokenUsage, str]:
        async with gate:
            with dspy.track_usage() as tracker:
                try:
                    outputs, path = await _answer(program, example, task, adaptive)
                except Exception:  # noqa: BLE001 - an unparseable answer scores 0
                    return 0.0, TokenUsage.from_tracker(tracker.usage_data), FAILED
            usage = TokenUsage.from_tracker(tracker.usage_data)
        try:
            return float(metric(example, dspy.Prediction(**outputs))), usage, path
        except JudgementFailedError:
            return None, usage, path

    results = await asyncio.gather(*(one(example) for example in devset))
    billed = TokenUsage.sum(usage for _, usage, _ in results)
    return Scored(
        scores={e.id: score for e, (score, _, _) in zip(devset, results, strict=True)},
        usage=_usage_since(lm, mark) or billed,
        billed=billed,
        paths={e.id: path for e, (_, _, path) in zip(devset, results, strict=True)},
    )
