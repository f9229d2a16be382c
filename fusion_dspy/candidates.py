"""The candidate pool: N answers to one input, successful, failed or cut, with provenance."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any, Literal

from pydantic import BaseModel, Field, PrivateAttr, model_validator
from pydantic_core import to_jsonable_python

from fusion_dspy.arrival import Reason, stop_time
from fusion_dspy.markers import MarkerFree
from fusion_dspy.usage import TokenUsage

Status = Literal["ok", "failed", "cut"]


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


class Candidate(MarkerFree):
    """One sampled answer: the wrapped module's output fields plus where and how it was made.

    `status` is "ok" (answered), "failed" (the call raised; `error` says why) or "cut" (still running when
    the source stopped waiting, so it was cancelled; never aggregated). Rows written before `status` existed
    read as "failed" when they carry an error and "ok" otherwise. Its outputs never hold DSPy's end marker, also
    when read from a pool stored before markers were stripped.
    """

    text_fields = ("outputs",)

    index: int = Field(description="Position in sampling order (stable across shuffles).")
    outputs: dict[str, Any] = Field(default_factory=dict, description="The wrapped module's output fields.")
    source: str = Field(default="unknown", description="Model (or teacher) that produced it.")
    rollout_id: int | None = None
    temperature: float | None = None
    latency_s: float = Field(default=0.0, description="Seconds to its answer; for a cut one, until it was cut.")
    usage: TokenUsage = TokenUsage()
    error: str | None = Field(default=None, description="Why the call failed; None when it succeeded.")
    status: Status = "ok"
    _trace: list[Any] = PrivateAttr(default_factory=list)

    @property
    def trace(self) -> list[Any]:
        """The DSPy trace entries `(predictor, inputs, prediction)` the call left, mapped to the wrapped module's
        own predictors. Kept in memory only (never stored): whoever aggregates decides which reach optimisers."""
        return self._trace

    def set_trace(self, trace: list[Any]) -> None:
        self._trace = list(trace)

    def __getstate__(self) -> dict[Any, Any]:
        """Pickled without its trace (live predictors and signature classes, meaningless in another process)."""
        state = super().__getstate__()
        private = state.get("__pydantic_private__")
        if private:
            state["__pydantic_private__"] = {**private, "_trace": []}
        return state

    def __deepcopy__(self, memo: dict[int, Any] | None = None) -> Candidate:
        """A deep copy whose trace still names the same predictors (copying them would detach it from the
        program the optimiser tunes)."""
        memo = {} if memo is None else memo
        memo.setdefault(id(self._trace), list(self._trace))  # deepcopy takes the memo's list as the trace's copy
        return super().__deepcopy__(memo)

    @model_validator(mode="before")
    @classmethod
    def _status_from_error(cls, data: Any) -> Any:
        if isinstance(data, dict) and "status" not in data:
            return {**data, "status": "failed" if data.get("error") else "ok"}
        return data

    @model_validator(mode="after")
    def _consistent(self) -> Candidate:
        if (self.status == "failed") != (self.error is not None):
            raise ValueError(f"a candidate with status {self.status!r} must {'' if self.status == 'failed' else 'not '}"
                             "carry an error")  # fmt: skip
        return self

    @property
    def ok(self) -> bool:
        return self.status == "ok"

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
    early_stop: Reason | None = Field(
        default=None,
        description="Why sampling stopped before every call returned: 'k' answers arrived, the deadline passed, or "
        "the source's stop_when rule held (BestOfN's threshold).",
    )

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
        return [c for c in self.candidates if c.status == "failed"]

    @property
    def cut(self) -> list[Candidate]:
        """Candidates cancelled because the source had enough answers (first-k) or ran out of time (deadline)."""
        return [c for c in self.candidates if c.status == "cut"]

    @property
    def usage(self) -> TokenUsage:
        return TokenUsage.sum(c.usage for c in self.candidates)

    def first_k(self, k: int | None = None, deadline_s: float | None = None) -> CandidatePool:
        """This pool as if its source had stopped at the `k`-th answer or at `deadline_s` (by recorded latency).

        Replays a stored pool under a first-k / deadline policy without new calls: candidates that would still
        have been running are marked cut. Same rule as a live source (`fusion_dspy.arrival`).
        """
        stop, reason = stop_time([(c.latency_s, c.ok) for c in self.candidates if c.status != "cut"], k, deadline_s)
        if reason is None:
            return self
        kept = [
            c if c.latency_s <= stop or c.status == "cut" else
            c.model_copy(update={"status": "cut", "error": None, "outputs": {}, "latency_s": stop})
            for c in self.candidates
        ]  # fmt: skip
        return self.model_copy(update={"candidates": kept, "early_stop": reason, "wall_s": min(self.wall_s, stop)})
