"""Consensus scorers: selection that needs no LM, and the same measure for an answer from outside the pool."""

from __future__ import annotations

from abc import abstractmethod
from typing import Any, ClassVar

from fusion_dspy.candidates import CandidatePool
from fusion_dspy.select.base import Scorer
from fusion_dspy.signatures import SignatureType


class ConsensusScorer(Scorer):
    """A scorer whose score is a candidate's support from the rest of the pool (votes, similarity), with no LM.

    `support` applies the same measure to any answer, e.g. a fused one that is not in the pool, so an
    aggregator can ask whether the pool backs it as well as it backs its best candidate.
    """

    field: str | None = None
    bounded_by_best: ClassVar[bool] = False
    """True when no answer, from the pool or not, can get more support than the pool's best candidate (votes)."""

    def field_of(self, task: SignatureType) -> str:
        """The output field compared (default: the task's last output)."""
        return self.field or list(task.output_fields)[-1]

    @abstractmethod
    def support(self, answer: str, texts: list[str]) -> float:
        """How strongly `texts` (the successful candidates' values) back `answer`, in [0, 1]; when `answer` is
        itself one of `texts`, the result equals that candidate's score."""

    @property
    def label(self) -> str:
        """Name and settings, e.g. `MajorityVote(number)`: what a stored result was measured with."""
        return self.name

    def describe(self, value: float, count: int) -> str:
        """A support value in words, for the reasons an aggregator gives."""
        return f"support {value:.2f}"

    async def ascore(self, task: SignatureType, inputs: dict[str, Any], pool: CandidatePool) -> list[float | None]:
        field = self.field_of(task)
        texts = [c.text(field) for c in pool.succeeded]
        return [self.support(c.text(field), texts) if c.ok else None for c in pool]
