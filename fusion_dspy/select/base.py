"""Best-of-N: a Scorer rates each candidate and the Selector keeps the best one."""

from __future__ import annotations

from abc import abstractmethod
from typing import Any, ClassVar

import dspy

from fusion_dspy._abc import ABCModuleMeta
from fusion_dspy._async import run_sync
from fusion_dspy.aggregator import Aggregation, Aggregator
from fusion_dspy.candidates import CandidatePool
from fusion_dspy.signatures import SignatureType


class Scorer(dspy.Module, metaclass=ABCModuleMeta):
    """Rates every candidate of a pool; higher is better. Failed candidates get None.

    Scorers that call an LM are DSPy modules too, so their judge prompts can be optimised and saved.
    """

    pointwise: ClassVar[bool] = False
    """True when a candidate's score does not depend on the other candidates (so it can be scored on arrival)."""

    @abstractmethod
    async def ascore(self, task: SignatureType, inputs: dict[str, Any], pool: CandidatePool) -> list[float | None]:
        """One score per candidate, in pool order."""

    def score(self, task: SignatureType, inputs: dict[str, Any], pool: CandidatePool) -> list[float | None]:
        return run_sync(self.ascore(task, inputs, pool))

    @property
    def name(self) -> str:
        return type(self).__name__


class Selector(Aggregator):
    """Keeps the highest-scoring successful candidate; ties go to the earliest sample."""

    def __init__(self, scorer: Scorer) -> None:
        super().__init__()
        self.scorer = scorer

    async def aaggregate(self, inputs: dict[str, Any], pool: CandidatePool) -> Aggregation:
        task = self._bound_task()
        scores = await self.scorer.ascore(task, inputs, pool)
        if len(scores) != len(pool):
            raise ValueError(f"{self.scorer.name} returned {len(scores)} scores for {len(pool)} candidates")
        scored = [(s, c.index) for s, c in zip(scores, pool, strict=True) if c.ok and s is not None]
        fallback = None
        if scored:
            best = max(scored, key=lambda pair: (pair[0], -pair[1]))[1]
        else:
            best = pool.succeeded[0].index
            fallback = f"{self.scorer.name} could not score any candidate; kept the first successful one"
        chosen = next(c for c in pool if c.index == best)
        outputs = {**{name: None for name in task.output_fields}, **chosen.outputs}  # all its keys (its reasoning)
        return Aggregation(outputs=outputs, method="selected", chosen=best, scores=scores, fallback=fallback)
