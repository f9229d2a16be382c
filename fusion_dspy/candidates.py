"""The candidate pool: N answers to one input, successful or failed, with provenance."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

from pydantic import BaseModel, Field, PrivateAttr
from pydantic_core import to_jsonable_python

from fusion_dspy.usage import TokenUsage


def as_text(value: Any) -> str:
    """An output value as text: strings as they are; typed values (pydantic models, lists, dicts, numbers) as JSON,
    the form a model reads best and the one DSPy's adapters use, never a Python repr."""
    if isinstance(value, str):
        return value
    if isinstance(value, BaseModel):
        return value.model_dump_json()
    try:
        return json.dumps(to_jsonable_python(value), ensure_ascii=False)
    except (TypeError, ValueError):
        return str(value)


class Candidate(BaseModel):
    """One sampled answer: the wrapped module's output fields plus where and how it was made."""

    index: int = Field(description="Position in sampling order (stable across shuffles).")
    outputs: dict[str, Any] = Field(default_factory=dict, description="The wrapped module's output fields.")
    source: str = Field(default="unknown", description="Model (or teacher) that produced it.")
    rollout_id: int | None = None
    temperature: float | None = None
    latency_s: float = 0.0
    usage: TokenUsage = TokenUsage()
    error: str | None = Field(default=None, description="Why the call failed; None when it succeeded.")
    _trace: list[Any] = PrivateAttr(default_factory=list)

    @property
    def trace(self) -> list[Any]:
        """The DSPy trace entries `(predictor, inputs, prediction)` the call left, mapped to the wrapped module's
        own predictors. Kept in memory only (never stored): whoever aggregates decides which reach optimisers."""
        return self._trace

    def set_trace(self, trace: list[Any]) -> None:
        self._trace = list(trace)

    @property
    def ok(self) -> bool:
        return self.error is None

    def text(self, field: str | None = None) -> str:
        """The candidate's value for `field` (default: its last output field) as text."""
        if not self.outputs:
            return ""
        key = field if field is not None else list(self.outputs)[-1]
        return as_text(self.outputs.get(key, ""))


class CandidatePool(BaseModel):
    """All candidates for one input, in sampling order."""

    candidates: list[Candidate] = Field(default_factory=list)
    wall_s: float = Field(default=0.0, description="Seconds it took to sample the whole pool.")

    def __len__(self) -> int:
        return len(self.candidates)

    def __iter__(self) -> Iterator[Candidate]:  # type: ignore[override]
        return iter(self.candidates)

    def __getitem__(self, index: int) -> Candidate:
        return self.candidates[index]

    @property
    def succeeded(self) -> list[Candidate]:
        return [c for c in self.candidates if c.ok]

    @property
    def failed(self) -> list[Candidate]:
        return [c for c in self.candidates if not c.ok]

    @property
    def usage(self) -> TokenUsage:
        return TokenUsage.sum(c.usage for c in self.candidates)
