"""The prediction FusionOfN / BestOfN return: the task's own fields, plus the pool and how it was aggregated."""

from __future__ import annotations

import dspy

from fusion_dspy.aggregator import Aggregation
from fusion_dspy.candidates import Candidate, CandidatePool
from fusion_dspy.usage import RunUsage


class FusedPrediction(dspy.Prediction):
    """A `dspy.Prediction` whose fields are exactly the task's outputs; the rest hangs off properties.

    Keeping the extras out of the field store means the prediction fits wherever the wrapped module's did
    (metrics, `dspy.Evaluate`, downstream modules), while `candidates`, `failed`, `usage`, `method`,
    `chosen`, `scores` and `fallback` stay one attribute away.
    """

    @classmethod
    def build(cls, aggregation: Aggregation, pool: CandidatePool, usage: RunUsage) -> FusedPrediction:
        prediction = cls(**aggregation.outputs)
        prediction._aggregation = aggregation
        prediction._pool = pool
        prediction._usage = usage
        return prediction

    @property
    def aggregation(self) -> Aggregation:
        """Everything the aggregator decided: method, path and reason, scores, provenance."""
        return self._aggregation

    @property
    def candidates(self) -> CandidatePool:
        return self._pool

    @property
    def failed(self) -> list[Candidate]:
        return self._pool.failed

    @property
    def usage(self) -> RunUsage:
        return self._usage

    @property
    def method(self) -> str:
        return self._aggregation.method

    @property
    def chosen(self) -> int | None:
        return self._aggregation.chosen

    @property
    def scores(self) -> list[float | None] | None:
        return self._aggregation.scores

    @property
    def fallback(self) -> str | None:
        return self._aggregation.fallback
