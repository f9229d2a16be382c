"""Any callable as a scorer — a reward model, a verifier, a unit test runner."""

from __future__ import annotations

import inspect
import logging
from collections.abc import Awaitable, Callable
from typing import Any

import dspy

from fusion_dspy.candidates import CandidatePool
from fusion_dspy.errors import ConfigurationError
from fusion_dspy.select.base import Scorer
from fusion_dspy.signatures import SignatureType

logger = logging.getLogger(__name__)

RewardCallable = Callable[[dict[str, Any], dspy.Prediction], float | Awaitable[float]]


class RewardFn(Scorer):
    """Score = `fn(inputs, prediction)`; sync or async. A call that raises scores None and is logged."""

    pointwise = True

    def __init__(self, fn: RewardCallable, name: str | None = None) -> None:
        super().__init__()
        self._fn = fn
        self._name = name or getattr(fn, "__name__", "reward")

    @property
    def name(self) -> str:
        return f"RewardFn({self._name})"

    async def ascore(self, task: SignatureType, inputs: dict[str, Any], pool: CandidatePool) -> list[float | None]:
        scores: list[float | None] = []
        for candidate in pool:
            if not candidate.ok:
                scores.append(None)
                continue
            try:
                value = self._fn(inputs, dspy.Prediction(**candidate.outputs))
                if inspect.isawaitable(value):
                    value = await value
                scores.append(float(value))
            except Exception as exc:  # noqa: BLE001 - one bad reward call must not lose the pool
                logger.warning("%s failed on candidate %d: %s: %s", self.name, candidate.index, type(exc).__name__, exc)
                scores.append(None)
        return scores


def as_scorer(scorer: Scorer | RewardCallable | None) -> Scorer | None:
    """A Scorer as it is; a plain `(inputs, prediction) -> float` function (dspy.BestOfN's `reward_fn`) wrapped."""
    if scorer is None or isinstance(scorer, Scorer):
        return scorer
    if callable(scorer):
        return RewardFn(scorer)
    raise ConfigurationError(
        "a scorer must be a fusion_dspy Scorer or a function (inputs, prediction) -> float; "
        f"got {type(scorer).__name__}."
    )
