"""The second half of N-to-one: turn a candidate pool into one answer (fuse or select)."""

from __future__ import annotations

from abc import abstractmethod
from typing import Any, Literal

import dspy
from pydantic import BaseModel, Field, model_validator

from fusion_dspy._abc import ABCModuleMeta
from fusion_dspy._async import run_sync
from fusion_dspy.candidates import CandidatePool
from fusion_dspy.provenance import Provenance
from fusion_dspy.signatures import SignatureType

Path = Literal["fused", "selected", "skipped", "floored"]


class Aggregation(BaseModel):
    """What an aggregator decided, before it becomes a prediction."""

    outputs: dict[str, Any]
    method: Literal["fused", "selected"]
    chosen: int | None = Field(default=None, description="Index of the selected candidate, when one was selected.")
    scores: list[float | None] | None = Field(default=None, description="Per-candidate scores, in pool order.")
    fallback: str | None = Field(default=None, description="Why the aggregator fell back, when it did.")
    path: Path | None = Field(
        default=None,
        description="fused; selected; skipped (the candidates agreed, so no fusor call); floored (the fused answer "
        "was an unsupported outlier, so a selection instead). Defaults to `method`.",
    )
    reason: str | None = Field(default=None, description="Why this path was taken, with the numbers.")
    agreement: float | None = Field(default=None, description="How strongly the pool backs its best candidate.")
    support: float | None = Field(default=None, description="How strongly the pool backs the fused answer.")
    provenance: Provenance | None = Field(default=None, description="Which candidates the answer came from.")

    @model_validator(mode="after")
    def _path_defaults_to_method(self) -> Aggregation:
        if self.path is None:
            self.path = self.method
        return self


class Aggregator(dspy.Module, metaclass=ABCModuleMeta):
    """Fuses or selects. Bound to the task signature so its predictors can be built (and optimised)."""

    task: SignatureType | None = None

    def bind(self, task: SignatureType) -> Aggregator:
        """Build the task-specific predictors for `task`; returns self."""
        self.task = task
        return self

    @abstractmethod
    async def aaggregate(self, inputs: dict[str, Any], pool: CandidatePool) -> Aggregation:
        """One answer from the pool's successful candidates."""

    def aggregate(self, inputs: dict[str, Any], pool: CandidatePool) -> Aggregation:
        return run_sync(self.aaggregate(inputs, pool))

    def _bound_task(self) -> SignatureType:
        if self.task is None:
            raise RuntimeError(f"{type(self).__name__} is not bound to a task signature; call .bind(signature) first.")
        return self.task
