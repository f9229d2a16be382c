"""One candidate call: run a module under an LM, time it, count its tokens, and keep failures as data.

Which LM a sample uses follows DSPy's rule: a predictor's own LM (`predictor.lm`, `module.set_lm`) wins over the
LM in context. Per-sample settings (rollout id, temperature) are applied to whichever LM that is, on a copy of the
module when a predictor pins its own LM; the trace the copy leaves is mapped back to the original predictors, so
optimisers (BootstrapFewShot) attach demos to the user's predictors, never to a throw-away copy.
"""

from __future__ import annotations

import asyncio
import copy
import hashlib
import time
from typing import Any

import dspy

from fusion_dspy._async import in_thread
from fusion_dspy.candidates import Candidate
from fusion_dspy.markers import clean
from fusion_dspy.predictors import predictors
from fusion_dspy.usage import TokenUsage

ROLLOUTS_PER_SEED = 10_000
ROLLOUTS_PER_CALLER = 100_000_000


def model_name(lm: Any) -> str:
    return str(getattr(lm, "model", None) or type(lm).__name__)


def prediction_outputs(prediction: Any) -> dict[str, Any]:
    """A candidate's output fields, without DSPy's end marker (small models write it inline)."""
    if isinstance(prediction, dspy.Prediction):
        return clean(dict(prediction.items()))
    if isinstance(prediction, dict):
        return clean(dict(prediction))
    raise TypeError(f"the module returned {type(prediction).__name__}, expected a dspy.Prediction")


def pinned_lms(module: dspy.Module) -> list[Any]:
    """The LMs the module's predictors pin (`predictor.lm`), in predictor order."""
    return [p.lm for p in predictors(module) if getattr(p, "lm", None) is not None]


def answering_lm(module: dspy.Module, context_lm: Any) -> Any:
    """The LM that answers for the module's first predictor: its own, else the one in context."""
    first = next(iter(predictors(module)), None)
    return first.lm if first is not None and first.lm is not None else context_lm


def caller_rollout(module: dspy.Module, context_lm: Any) -> Any:
    """The rollout id a caller asked for (dspy.BestOfN / Refine pin it with `set_lm`, BootstrapFewShot rounds put it
    on the context LM), or None. Samples derive their own ids from it, so a new caller rollout is a new pool."""
    for lm in [*pinned_lms(module), context_lm, dspy.settings.lm]:
        rollout = getattr(lm, "kwargs", {}).get("rollout_id") if lm is not None else None
        if rollout is not None:
            return rollout
    return None


def first_rollout(seed: int, caller: Any = None) -> int:
    """Rollout id of sample 0: `seed * 10_000`, shifted into a block of its own for each caller rollout id."""
    if caller is None:
        return seed * ROLLOUTS_PER_SEED
    key = caller if isinstance(caller, int) else int(hashlib.sha256(str(caller).encode()).hexdigest()[:12], 16)
    return (abs(key) + 1) * ROLLOUTS_PER_CALLER + seed * ROLLOUTS_PER_SEED


def module_for_sample(
    module: dspy.Module, overrides: dict[str, Any], replace_pinned: Any = None
) -> tuple[dspy.Module, dict[int, Any]]:
    """The module to call for one sample, and how its predictors map back to the module's own.

    With no pinned LM that is the module itself. Otherwise a copy whose pinned LMs carry the sample's
    `overrides` (or are replaced by `replace_pinned`, e.g. a teacher); LM objects are shared, not deep-copied,
    so the copy reuses their connection pools.
    """
    if not pinned_lms(module):
        return module, {}
    memo = {id(lm): lm for lm in pinned_lms(module)}
    try:
        clone = copy.deepcopy(module, memo)
    except Exception:  # noqa: BLE001 - an attribute that refuses deepcopy: dspy's own attribute-wise copy
        clone = module.deepcopy()
    originals = dict(module.named_predictors())
    back: dict[int, Any] = {}
    for name, predictor in clone.named_predictors():
        back[id(predictor)] = originals.get(name, predictor)
        if predictor.lm is not None:
            predictor.lm = replace_pinned if replace_pinned is not None else predictor.lm.copy(**overrides)
    return clone, back


async def call_module(module: dspy.Module, inputs: dict[str, Any]) -> Any:
    if hasattr(type(module), "aforward"):
        return await module.acall(**inputs)
    return await in_thread(module, **inputs)


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
    replace_pinned: bool = False,
) -> Candidate:
    """Sample one candidate. Any exception becomes `Candidate.error`; the other samples are unaffected.

    `lm` is the context LM for unpinned predictors (None when every predictor pins its own); pinned LMs get the
    same rollout id and temperature, or are replaced by `lm` when `replace_pinned` (a teacher must answer).
    """
    overrides: dict[str, Any] = {}
    if rollout_id is not None:
        overrides["rollout_id"] = rollout_id
    if temperature is not None:
        overrides["temperature"] = temperature
    runner, back = module_for_sample(module, overrides, lm if replace_pinned else None)
    answering = answering_lm(runner, lm)
    start = time.perf_counter()
    outputs: dict[str, Any] = {}
    error: str | None = None
    trace: list[Any] | None = [] if dspy.settings.trace is not None else None
    with dspy.track_usage() as tracker, dspy.context(trace=trace, **({"lm": lm} if lm is not None else {})):
        try:
            call = call_module(runner, inputs)
            prediction = await asyncio.wait_for(call, timeout_s) if timeout_s else await call
            outputs = prediction_outputs(prediction)
        except TimeoutError:
            error = f"TimeoutError: no answer within {timeout_s} s"
        except Exception as exc:  # noqa: BLE001 - a failed candidate is data, not a crash
            error = f"{type(exc).__name__}: {exc}".strip()
    candidate = Candidate(
        index=index,
        outputs=outputs,
        source=source or model_name(answering),
        rollout_id=rollout_id,
        temperature=temperature,
        latency_s=time.perf_counter() - start,
        usage=TokenUsage.from_tracker(tracker.usage_data),
        error=error,
    )
    if trace and error is None:
        candidate.set_trace([(back.get(id(p), p), i, o) for p, i, o in trace])
    return candidate
