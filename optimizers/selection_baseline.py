"""The task's selection on a study's examples (majority vote for verifiable answers, MBR for free text): the
baseline a fusor has to beat, picked by the library's own `Selector` (its seeded tie-break) from the same pools the
fusor saw and scored by the same metric, with no LM call for reference-scored tasks."""

from __future__ import annotations

from collections.abc import Sequence

import dspy

from fusion_dspy.optimizers.fusor_data import POOL, task_inputs
from fusion_dspy.optimizers.scoring import Scored
from fusion_dspy.programs.base import Task
from fusion_dspy.select.base import Selector


async def ascore_selection(task: Task, examples: Sequence[dspy.Example], seed: int = 0) -> Scored:
    """Example id → the score of the candidate `task.consensus()` selects from the example's pool (`Scored.paths`
    says which method); examples without a successful candidate are left out, as the fusor's are."""
    selector = Selector(task.consensus(), seed=seed).bind(task.signature)
    scores: dict[str, float | None] = {}
    for example in examples:
        pool = example.get(POOL)
        if pool is None or not pool.succeeded:
            continue
        chosen = await selector.aaggregate(task_inputs(example), pool)
        scores[example.id] = await task.ascore(example, chosen.outputs)
    return Scored(scores=scores, paths=dict.fromkeys(scores, task.selection))
