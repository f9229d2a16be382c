"""One candidate call: run a module under an LM, time it, count its tokens, and keep failures as data."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable, Sequence
from typing import Any

import dspy

from fusion_dspy._async import gather_bounded
from fusion_dspy.candidates import Candidate, CandidatePool
from fusion_dspy.usage import TokenUsage


def model_name(lm: Any) -> str:
    return str(getattr(lm, "model", None) or type(lm).__name__)


def prediction_outputs(prediction: Any) -> dict[str, Any]:
    if isinstance(prediction, dspy.Prediction):
        return dict(prediction.items())
    if isinstance(prediction, dict):
        return dict(prediction)
    raise TypeError(f"the module returned {type(prediction).__name__}, expected a dspy.Prediction")


def with_lm_everywhere(module: dspy.Module, lm: Any) -> dspy.Module:
    """The module itself when no predictor pins its own LM; else a copy whose pinned LMs are replaced by `lm`.

    Per-sample settings (rollout id, temperature) travel on the context LM; a predictor with its own `lm`
    would ignore them and every sample would hit the same cache entry.
    """
    if all(getattr(p, "lm", None) is None for _, p in module.named_predictors()):
        return module
    copy = module.deepcopy()
    for _, predictor in copy.named_predictors():
        if getattr(predictor, "lm", None) is not None:
            predictor.lm = lm
    return copy


async def call_module(module: dspy.Module, inputs: dict[str, Any]) -> Any:
    if hasattr(type(module), "aforward"):
        return await module.acall(**inputs)
    return await asyncio.to_thread(module, **inputs)


async def sample_candidate(
    module: dspy.Module,
    inputs: dict[str, Any],
    *,
    lm: Any,
    index: int,
    rollout_id: int | None,
    temperature: float | None,
    source: str | None = None,
    timeout_s: float | None = None,
) -> Candidate:
    """Sample one candidate. Any exception becomes `Candidate.error`; the other samples are unaffected."""
    start = time.perf_counter()
    outputs: dict[str, Any] = {}
    error: str | None = None
    with dspy.track_usage() as tracker:
        try:
            with dspy.context(lm=lm):
                call = call_module(with_lm_everywhere(module, lm), inputs)
                prediction = await asyncio.wait_for(call, timeout_s) if timeout_s else await call
            outputs = prediction_outputs(prediction)
        except TimeoutError:
            error = f"TimeoutError: no answer within {timeout_s} s"
        except Exception as exc:  # noqa: BLE001 - a failed candidate is data, not a crash
            error = f"{type(exc).__name__}: {exc}".strip()
    return Candidate(
        index=index,
        outputs=outputs,
        source=source or model_name(lm),
        rollout_id=rollout_id,
        temperature=temperature,
        latency_s=time.perf_counter() - start,
        usage=TokenUsage.from_tracker(tracker.usage_data),
        error=error,
    )


async def timed_pool(factories: Sequence[Callable[[], Awaitable[Candidate]]], concurrency: int | None) -> CandidatePool:
    """Run the candidate calls (at most `concurrency` at once) and time the whole pool."""
    start = time.perf_counter()
    candidates = await gather_bounded(factories, concurrency)
    return CandidatePool(candidates=candidates, wall_s=time.perf_counter() - start)
