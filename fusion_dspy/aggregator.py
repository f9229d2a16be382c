"""The second half of N-to-one: turn a candidate pool into one answer (fuse or select)."""

from __future__ import annotations

import copy
from abc import abstractmethod
from typing import Any, Literal, Self

import dspy
from pydantic import Field, model_validator

from fusion_dspy._abc import ABCModuleMeta
from fusion_dspy._async import run_sync
from fusion_dspy.candidates import CandidatePool
from fusion_dspy.markers import MarkerFree
from fusion_dspy.provenance import Provenance
from fusion_dspy.signatures import SignatureType

Path = Literal["fused", "selected", "skipped", "floored"]


class Aggregation(MarkerFree):
    """What an aggregator decided, before it becomes a prediction (outputs free of DSPy's end marker)."""

    text_fields = ("outputs",)

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
        """Build the task-specific predictors for `task`. Returns self, or, when this instance is already bound to
        a different signature (one aggregator given to two programs), a fresh copy bound to `task`: an
        aggregator never answers another program's fields."""
        if self.bound_elsewhere(task):
            return self.unbound_copy().bind(task)
        self.task = task
        return self

    def bound_elsewhere(self, task: SignatureType) -> bool:
        return self.task is not None and not self.task.equals(task)

    def unbound_copy(self) -> Self:
        """A shallow copy with no binding (subclasses drop the predictors they built for the old signature)."""
        clone = copy.copy(self)
        clone.task = None
        return clone

    @abstractmethod
    async def aaggregate(self, inputs: dict[str, Any], pool: CandidatePool) -> Aggregation:
        """One answer from the pool's successful candidates."""

    def aggregate(self, inputs: dict[str, Any], pool: CandidatePool) -> Aggregation:
        return run_sync(self.aaggregate(inputs, pool))

    def _bound_task(self) -> SignatureType:
        if self.task is None:
            raise RuntimeError(f"{type(self).__name__} is not bound to a task signature; call .bind(signature) first.")
        return self.task
