"""The `adaptive` row of an evaluation: the task's AdaptiveFusion on a stored pool, reusing plain fusion's answer.

Plain fusion and adaptive fusion send the fusor the same prompt (same pool, same render order, temperature 0),
so adaptive fusion takes the stored `fusion` answer instead of asking again: it costs a fusor call exactly where
it fuses, and none where it skips. Its answers are stored with the policy that made them; a run with other
thresholds recomputes them (no LM call: the skip and the floor are consensus measures).
"""

from __future__ import annotations

import json
import time
from collections.abc import Awaitable, Callable
from typing import Any

from fusion_dspy.adaptive import AdaptiveFusion
from fusion_dspy.aggregator import Aggregation, Aggregator
from fusion_dspy.candidates import CandidatePool
from fusion_dspy.eval.store import MethodRecord
from fusion_dspy.programs import Task
from fusion_dspy.provenance import provenance_of
from fusion_dspy.usage import TokenUsage

FusedRecord = Callable[[], Awaitable[MethodRecord]]
ADAPTIVE = "adaptive"


class AdaptiveMethod:
    """`task.adaptive_fusion(fuser)`, evaluated from a pool and (when it fuses) the stored plain-fusion answer."""

    def __init__(self, task: Task, fuser: Aggregator, seed: int = 0, aggregator: AdaptiveFusion | None = None) -> None:
        """`seed` breaks ties between equally backed candidates as the Best-of-N rows do; `aggregator` replaces
        the task's policy (e.g. the generic one a user's own signature gets)."""
        self.task = task
        self.aggregator: AdaptiveFusion = (aggregator or task.adaptive_fusion(fuser)).bind(task.signature)
        self.aggregator.seed = seed

    @property
    def settings(self) -> str:
        return json.dumps(self.aggregator.policy, sort_keys=True)

    def is_current(self, record: MethodRecord) -> bool:
        """Was this stored answer made with the current thresholds?"""
        return record.settings == self.settings

    async def record(
        self, example_id: str, inputs: dict[str, Any], pool: CandidatePool, fused: FusedRecord
    ) -> MethodRecord:
        """The adaptive answer (unscored: the runner scores every method the same way)."""
        start = time.perf_counter()
        evidence = await self.aggregator.aevidence(inputs, pool)
        aggregation = self.aggregator.without_fusor(pool, evidence)
        usage, fusion_wall = TokenUsage(), 0.0
        if aggregation is None:
            fusion = await fused()
            aggregation = self.aggregator.floor(inputs, pool, evidence, as_aggregation(fusion))
            usage, fusion_wall = fusion.usage, fusion.wall_s
        field = self.task.output_field
        provenance = provenance_of(str(aggregation.outputs.get(field, "")), pool, field)
        return MethodRecord(
            id=example_id, method=ADAPTIVE, outputs=aggregation.outputs, score=0.0, usage=usage,
            wall_s=fusion_wall + time.perf_counter() - start, chosen=aggregation.chosen, fallback=aggregation.fallback,
            path=aggregation.path, reason=aggregation.reason, provenance=provenance, settings=self.settings,
            scores=aggregation.scores if aggregation.method == "selected" else None,
        )  # fmt: skip


def as_aggregation(record: MethodRecord) -> Aggregation:
    """A stored plain-fusion answer as the fuser's decision (a fuser that fell back kept a candidate)."""
    if record.chosen is not None:
        return Aggregation(outputs=record.outputs, method="selected", chosen=record.chosen, fallback=record.fallback)
    return Aggregation(outputs=record.outputs, method="fused", fallback=record.fallback)
