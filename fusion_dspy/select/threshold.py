"""Best-of-N with a threshold (dspy.BestOfN's `threshold`): score candidates as they arrive, stop at a good one."""

from __future__ import annotations

import weakref
from typing import Any

from fusion_dspy.candidates import Candidate, CandidatePool
from fusion_dspy.errors import ConfigurationError
from fusion_dspy.select.base import Scorer
from fusion_dspy.signatures import SignatureType


class ArrivalScorer(Scorer):
    """A pointwise scorer whose scores given on arrival are reused when the pool is scored: no candidate is
    scored twice. Remembered scores go with their candidate (weak references)."""

    pointwise = True

    def __init__(self, scorer: Scorer) -> None:
        super().__init__()
        if not scorer.pointwise:
            raise ConfigurationError(
                f"threshold= needs a scorer that rates each candidate on its own (reward_fn=, RewardFn, "
                f"JudgeScorer); {scorer.name} compares candidates with each other, so it cannot judge one as it "
                "arrives. Drop threshold= or change the scorer."
            )
        self.scorer = scorer
        self._known: dict[int, tuple[weakref.ref[Candidate], float | None]] = {}

    @property
    def name(self) -> str:
        return self.scorer.name

    async def score_one(self, task: SignatureType, inputs: dict[str, Any], candidate: Candidate) -> float | None:
        [score] = await self.scorer.ascore(task, inputs, CandidatePool(candidates=[candidate]))
        key = id(candidate)

        def forget(_: object) -> None:
            self._known.pop(key, None)

        self._known[key] = (weakref.ref(candidate, forget), score)  # single dict operations: atomic, no lock
        return score

    async def ascore(self, task: SignatureType, inputs: dict[str, Any], pool: CandidatePool) -> list[float | None]:
        known = {id(c): entry[1] for c in pool if (entry := self._known.get(id(c))) is not None}
        missing = [c for c in pool if id(c) not in known]
        fresh = iter(await self.scorer.ascore(task, inputs, CandidatePool(candidates=missing)) if missing else [])
        return [known[id(c)] if id(c) in known else next(fresh) for c in pool]


class ThresholdStop:
    """A source's `stop_when`: true once a candidate scores at least `threshold`."""

    def __init__(self, scorer: ArrivalScorer, threshold: float, task: SignatureType) -> None:
        self.scorer = scorer
        self.threshold = threshold
        self.task = task

    async def __call__(self, inputs: dict[str, Any], candidate: Candidate) -> bool:
        score = await self.scorer.score_one(self.task, inputs, candidate)
        return score is not None and score >= self.threshold
