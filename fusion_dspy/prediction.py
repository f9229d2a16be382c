"""The prediction FusionOfN / BestOfN return: the task's own fields, plus one namespaced attribute for the rest."""

from __future__ import annotations

from typing import Any, Literal

import dspy

from fusion_dspy.aggregator import Aggregation
from fusion_dspy.candidates import Candidate, CandidatePool
from fusion_dspy.errors import ConfigurationError
from fusion_dspy.signatures import SignatureType
from fusion_dspy.usage import RunUsage

METADATA_ATTRIBUTE = "nofn"


class NofNInfo:
    """How an N-to-one answer was made: the pool, the usage and every field of the `Aggregation`.

    `info.candidates`, `info.failed` and `info.usage` come from the run; any other attribute is read from the
    aggregation (`method`, `chosen`, `scores`, `fallback`, and whatever fields an aggregator adds), so new
    aggregation fields appear here without further edits.
    """

    __slots__ = ("aggregation", "pool", "usage")

    def __init__(self, aggregation: Aggregation, pool: CandidatePool, usage: RunUsage) -> None:
        self.aggregation = aggregation
        self.pool = pool
        self.usage = usage

    @property
    def candidates(self) -> CandidatePool:
        return self.pool

    @property
    def failed(self) -> list[Candidate]:
        return self.pool.failed

    @property
    def method(self) -> str:
        return self.aggregation.method

    @property
    def chosen(self) -> int | None:
        return self.aggregation.chosen

    @property
    def scores(self) -> list[float | None] | None:
        return self.aggregation.scores

    @property
    def fallback(self) -> str | None:
        return self.aggregation.fallback

    def __getattr__(self, name: str) -> Any:
        if name.startswith("_"):
            raise AttributeError(name)
        aggregation = object.__getattribute__(self, "aggregation")
        if name in type(aggregation).model_fields:
            return getattr(aggregation, name)
        raise AttributeError(
            f"{type(self).__name__} has no attribute {name!r}; it has candidates, failed, usage and the "
            f"aggregation's fields: {', '.join(type(aggregation).model_fields)}."
        )

    def model_dump(self, mode: Literal["json", "python"] = "json") -> dict[str, Any]:
        """Everything on `pred.nofn` as one dict: the aggregation's fields (`outputs`, `method`, `path`, `reason`,
        `scores`, `provenance`, ...), the pool (`candidates`: every candidate with its status, source, latency,
        tokens and error; `wall_s`, `early_stop`) and the `usage`. JSON-ready unless `mode="python"`."""
        return {
            **self.aggregation.model_dump(mode=mode),
            **self.pool.model_dump(mode=mode),
            "usage": self.usage.model_dump(mode=mode),
        }

    def to_dict(self) -> dict[str, Any]:
        """`model_dump()`: JSON-ready, for logs and `dspy.Evaluate` results (`json.dumps(pred.nofn.to_dict())`)."""
        return self.model_dump()

    def __getstate__(self) -> dict[str, Any]:
        return {"aggregation": self.aggregation, "pool": self.pool, "usage": self.usage}

    def __setstate__(self, state: dict[str, Any]) -> None:
        for name, value in state.items():
            object.__setattr__(self, name, value)

    def __dir__(self) -> list[str]:
        return sorted({*super().__dir__(), *type(self.aggregation).model_fields})

    def __repr__(self) -> str:
        fields = ", ".join(f"{k}={v!r}" for k, v in self.aggregation if k != "outputs")
        return f"NofNInfo({fields}, candidates={len(self.pool)}, failed={len(self.failed)})"


class FusedPrediction(dspy.Prediction):
    """A `dspy.Prediction` whose fields are exactly the wrapped module's outputs; the rest lives on `pred.nofn`.

    Keeping the extras out of the field store (and off the prediction's own attribute names) means the
    prediction fits wherever the wrapped module's did (metrics, `dspy.Evaluate`, downstream modules), and an
    output field called `method`, `usage` or `candidates` is never shadowed.
    """

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        base = args[0] if args else kwargs.get("base")
        if isinstance(base, FusedPrediction) and "_nofn" in vars(base):  # copy(), without(): the metadata comes too
            self._nofn: NofNInfo = vars(base)["_nofn"]

    @classmethod
    def build(
        cls, aggregation: Aggregation, pool: CandidatePool, usage: RunUsage, keys: list[str] | None = None
    ) -> FusedPrediction:
        """`keys`: the output fields to expose, in order (default: the aggregation's outputs as they are)."""
        outputs = aggregation.outputs if keys is None else {k: aggregation.outputs.get(k) for k in keys}
        prediction = cls(**outputs)
        prediction._nofn = NofNInfo(aggregation, pool, usage)
        return prediction

    @property
    def nofn(self) -> NofNInfo:
        """The pool (`candidates`, `failed`), `usage`, and how it was aggregated (`method`, `chosen`, ...)."""
        info: NofNInfo = self._nofn
        return info


def check_no_reserved_outputs(signature: SignatureType) -> None:
    """Refuse a task whose output field would be shadowed by the prediction's metadata attribute."""
    if METADATA_ATTRIBUTE in signature.output_fields:
        raise ConfigurationError(
            f"the task has an output field named {METADATA_ATTRIBUTE!r}, which FusedPrediction reserves for the "
            f"pool and aggregation metadata (pred.{METADATA_ATTRIBUTE}); rename the output field, "
            f"e.g. to '{METADATA_ATTRIBUTE}_answer'."
        )
