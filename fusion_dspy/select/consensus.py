"""Consensus scorers: selection that needs no LM, and the same measure for an answer from outside the pool."""

from __future__ import annotations

from abc import abstractmethod
from typing import Any, ClassVar, Literal

from pydantic import BaseModel, Field

from fusion_dspy.candidates import CandidatePool, as_text
from fusion_dspy.select.answer_fields import AnswerKind, answer_fields
from fusion_dspy.select.base import Scorer
from fusion_dspy.select.normalize import normalize_text
from fusion_dspy.signatures import SignatureType

Unit = Literal["candidates", "consensus", "support"]


def describe_support(unit: Unit, value: float, alive: int) -> str:
    """A support value in words: `3 of 5 candidates` (votes), `consensus 0.62` (chrF), `support 0.70`."""
    return f"{round(value * alive)} of {alive} candidates" if unit == "candidates" else f"{unit} {value:.2f}"


class Agreement(BaseModel):
    """What a consensus measured on one pool, with no LM: every candidate's support and how it was measured."""

    scores: list[float | None] = Field(description="Per candidate (pool order; None for failed ones).")
    identical: bool = Field(description="At least two candidates, all giving the same answer.")
    answer_type: AnswerKind = Field(description="The kind of answer, which picks the thresholds for it.")
    measure: str = Field(description="How support was measured, named in the reasons an aggregator gives.")
    votes: bool = Field(
        description="Support is a share of candidates on one answer: no answer can outpoll the best candidate."
    )
    unit: Unit = "support"


class FusedSupport(BaseModel):
    """How strongly the pool backs an answer from outside it (a fused one), and whether it invented a value."""

    share: float = Field(description="Support in [0, 1], measured as the candidates' own.")
    invented: str | None = Field(
        default=None,
        description="Set when a verifiable value is given by no candidate while most of the pool agrees on another.",
    )
    outvoted: str | None = Field(
        default=None,
        description="Set when a voted value is backed by fewer candidates than a majority (more than half of the "
        "pool) gives for another: e.g. one attacker's token against two candidates that agree.",
    )


class ConsensusScorer(Scorer):
    """A scorer whose score is a candidate's support from the rest of the pool (votes, similarity), with no LM.

    `support` applies the same measure to any answer, e.g. a fused one that is not in the pool, so an
    aggregator can ask whether the pool backs it as well as it backs its best candidate. `aagreement` and
    `fused_support` are what adaptive fusion asks; they measure the last output field by default (subclasses
    that read several fields, like `AnswerConsensus`, override them).
    """

    field: str | None = None
    bounded_by_best: ClassVar[bool] = False
    """True when no answer, from the pool or not, can get more support than the pool's best candidate (votes)."""
    unit: ClassVar[Unit] = "support"

    def field_of(self, task: SignatureType) -> str:
        """The output field compared (default: the task's last output)."""
        return self.field or list(task.output_fields)[-1]

    @abstractmethod
    def support(self, answer: str, texts: list[str]) -> float:
        """How strongly `texts` (the successful candidates' values) back `answer`, in [0, 1]; when `answer` is
        itself one of `texts`, the result equals that candidate's score."""

    @property
    def answer_type(self) -> AnswerKind:
        """The kind of answer this consensus reads (free text unless it votes)."""
        return "text"

    @property
    def label(self) -> str:
        """Name and settings, e.g. `MajorityVote(number)`: what a stored result was measured with."""
        return self.name

    def describe(self, value: float, count: int) -> str:
        """A support value in words, for the reasons an aggregator gives."""
        return describe_support(self.unit, value, count)

    async def ascore(self, task: SignatureType, inputs: dict[str, Any], pool: CandidatePool) -> list[float | None]:
        field = self.field_of(task)
        texts = [c.text(field) for c in pool.succeeded]
        return [self.support(c.text(field), texts) if c.ok else None for c in pool]

    async def aagreement(self, task: SignatureType, inputs: dict[str, Any], pool: CandidatePool) -> Agreement:
        """Every candidate's support, and whether the candidates give one answer (answer fields, normalised)."""
        scores = await self.ascore(task, inputs, pool)
        fields = answer_fields(task)
        alive = pool.succeeded
        keys = {tuple(normalize_text(c.text(name)) for name in fields) for c in alive}
        return Agreement(scores=scores, identical=len(alive) >= 2 and len(keys) == 1, answer_type=self.answer_type,
                         measure=self.label, votes=self.bounded_by_best, unit=self.unit)  # fmt: skip

    def can_outvote(self, task: SignatureType, inputs: dict[str, Any], pool: CandidatePool) -> bool:
        """Whether `fused_support` can find a fused answer outvoted on this pool (a voted value more than half of
        it gives); never, for a consensus that does not look for it."""
        return False

    def fused_support(
        self, task: SignatureType, inputs: dict[str, Any], pool: CandidatePool, outputs: dict[str, Any]
    ) -> FusedSupport:
        """The pool's support for `outputs` (a fused answer). Under a vote, a value no candidate gives while more
        than half of them agree on another is an invention."""
        field = self.field_of(task)
        texts = [c.text(field) for c in pool.succeeded]
        answer = as_text(outputs.get(field, ""))
        share = self.support(answer, texts)
        invented = None
        if self.bounded_by_best and share == 0.0 and texts:
            best = max(texts, key=lambda t: self.support(t, texts))
            backers = round(self.support(best, texts) * len(texts))
            if 2 * backers > len(texts):
                invented = f"{field} {answer!r} is given by no candidate; {backers} of {len(texts)} give {best!r}"
        return FusedSupport(share=share, invented=invented)
