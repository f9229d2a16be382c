"""Best-of-N: a Scorer rates each candidate and the Selector keeps the best one."""

from __future__ import annotations

from abc import abstractmethod
from typing import Any, ClassVar

import dspy

from fusion_dspy._abc import ABCModuleMeta
from fusion_dspy._async import run_sync
from fusion_dspy.aggregator import Aggregation, Aggregator
from fusion_dspy.candidates import CandidatePool
from fusion_dspy.render import salt_for, seeded_random
from fusion_dspy.signatures import SignatureType

SELECTION_VERSION = 2
"""Bumped when the same scores can select a different candidate (2: ties broken at random with the seed)."""


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


def top_candidates(scores: list[float | None], pool: CandidatePool) -> list[int]:
    """Indices of the successful candidates that share the highest score (all of them when none was scored).

    More than one means the selection was a tie: the scorer could not tell those candidates apart.
    """
    scored = {c.index: s for s, c in zip(scores, pool, strict=True) if c.ok and s is not None}
    if not scored:
        return [c.index for c in pool.succeeded]
    best = max(scored.values())
    return [index for index, score in scored.items() if score == best]


def pick_best(scores: list[float | None], pool: CandidatePool, seed: int, inputs: dict[str, Any]) -> int:
    """The index of the best-scoring successful candidate; a tie is broken at random, seeded by `seed` and the
    input, so one input always gets the same pick while a tie does not always go to the earliest sample.

    The one tie-break rule of every selection (the Selector, adaptive fusion's skip and floor)."""
    top = top_candidates(scores, pool)
    return top[0] if len(top) == 1 else seeded_random(seed, f"select\x00{salt_for(inputs)}").choice(top)


class Selector(Aggregator):
    """Keeps the highest-scoring successful candidate; a tie is broken at random, seeded by `seed` and the input.

    Ties do not go to the earliest sample: that is the "single" baseline, and a scorer with no signal (majority
    vote over three different answers) would otherwise look exactly like it.
    """

    def __init__(self, scorer: Scorer, seed: int = 0) -> None:
        super().__init__()
        self.scorer = scorer
        self.seed = seed

    async def aaggregate(self, inputs: dict[str, Any], pool: CandidatePool) -> Aggregation:
        task = self._bound_task()
        scores = await self.scorer.ascore(task, inputs, pool)
        if len(scores) != len(pool):
            raise ValueError(f"{self.scorer.name} returned {len(scores)} scores for {len(pool)} candidates")
        best = pick_best(scores, pool, self.seed, inputs)
        fallback = None
        if all(s is None for s, c in zip(scores, pool, strict=True) if c.ok):
            fallback = f"{self.scorer.name} could not score any candidate; kept a random successful one"
        chosen = next(c for c in pool if c.index == best)
        outputs = {**{name: None for name in task.output_fields}, **chosen.outputs}  # all its keys (its reasoning)
        return Aggregation(outputs=outputs, method="selected", chosen=best, scores=scores, fallback=fallback)
