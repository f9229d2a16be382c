"""One prompt, one pool, fused and/or selected: the unit of work of `fusion-dspy run` and `fusion-dspy synth`."""

from __future__ import annotations

import asyncio
from contextlib import AbstractAsyncContextManager, nullcontext
from typing import Any

import dspy
from pydantic import BaseModel, Field

from fusion_dspy.candidates import Candidate
from fusion_dspy.compose import BestOfN, FusionOfN
from fusion_dspy.errors import AllCandidatesFailedError
from fusion_dspy.fuse import Fuser
from fusion_dspy.markers import MarkerFree
from fusion_dspy.prediction import FusedPrediction
from fusion_dspy.provenance import Provenance
from fusion_dspy.select.base import Scorer
from fusion_dspy.signatures import task_signature_of
from fusion_dspy.sources.base import CandidateSource
from fusion_dspy.usage import TokenUsage


class Answer(MarkerFree):
    """An aggregated answer and how it came about (its text free of DSPy's end marker, also when read back)."""

    text_fields = ("response",)

    response: str
    method: str
    chosen: int | None = None
    chosen_source: str | None = None
    scores: list[float | None] | None = None
    fallback: str | None = None
    usage: TokenUsage = TokenUsage()
    path: str | None = Field(default=None, description="fused, selected, skipped or floored.")
    reason: str | None = None
    provenance: Provenance | None = None

    @classmethod
    def of(cls, prediction: FusedPrediction, field: str) -> Answer:
        info = prediction.nofn
        return cls(
            response=str(prediction[field]),
            method=info.method,
            chosen=info.chosen,
            chosen_source=next((c.source for c in info.candidates if c.index == info.chosen), None),
            scores=info.scores,
            fallback=info.fallback,
            usage=info.usage.aggregation,
            path=info.path,
            reason=info.reason,
            provenance=info.provenance,
        )


class Outcome(BaseModel):
    """One prompt's full result with provenance: every candidate, the fused and/or selected answer."""

    id: str
    prompt: str
    candidates: list[Candidate] = Field(default_factory=list)
    fused: Answer | None = None
    selected: Answer | None = None
    error: str | None = None


class FuseAndSelect:
    """Sample one pool from `source`, then fuse it (when `fuser`; adaptively when `adaptive`) and select from it
    (when `scorer`), concurrently."""

    def __init__(
        self,
        program: dspy.Module,
        source: CandidateSource,
        fuser: Fuser | None,
        scorer: Scorer | None,
        adaptive: bool = False,
    ) -> None:
        self.source = source.bind(program)
        self.fusion = FusionOfN(program, source=source, fuser=fuser, adaptive=adaptive) if fuser is not None else None
        self.best = BestOfN(program, source=source, scorer=scorer) if scorer is not None else None
        signature = task_signature_of(program)
        self.input_field = next(iter(signature.input_fields))
        self.output_field = list(signature.output_fields)[-1]

    async def arun(
        self, item_id: str, prompt: str, sampling: AbstractAsyncContextManager[Any] | None = None
    ) -> Outcome:
        """When every candidate fails, the outcome carries the error instead of answers. `sampling` (e.g. a
        batch's semaphore) is held while the pool is sampled only, so aggregation overlaps the next prompts."""
        inputs = {self.input_field: prompt}
        async with sampling or nullcontext():
            pool = await self.source.agenerate(inputs)
        outcome = Outcome(id=item_id, prompt=prompt, candidates=pool.candidates)
        if not pool.succeeded:
            outcome.error = str(AllCandidatesFailedError(pool.failed))
            return outcome
        fused, selected = await asyncio.gather(
            self.fusion.afrom_pool(inputs, pool) if self.fusion else _nothing(),
            self.best.afrom_pool(inputs, pool) if self.best else _nothing(),
        )
        outcome.fused = Answer.of(fused, self.output_field) if fused is not None else None
        outcome.selected = Answer.of(selected, self.output_field) if selected is not None else None
        return outcome


async def _nothing() -> None:
    return None
