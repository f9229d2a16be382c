"""Fusor training data from stored candidate pools: the task's inputs, the rendered pool, and the reference.

Optimising the fusor alone over stored pools makes one program call one LM call, keeps labeled demos
complete (they carry their candidates), and lets every trial of a study see identical pools.
"""

from __future__ import annotations

import random
from typing import Any

import dspy
from pydantic import BaseModel

from fusion_dspy.candidates import CandidatePool
from fusion_dspy.eval.store import PoolRecord
from fusion_dspy.jsonl import JsonlLog
from fusion_dspy.programs.base import Task
from fusion_dspy.render import RenderOptions, order, render_pool, salt_for

CANDIDATES = "candidates"
POOL = "pool"
"""Non-input field of a fusor example: the pool it shows (after first-n / first-k). No LM sees it; difficulty
strata, GEPA feedback and adaptive fusion read it."""


class Splits(BaseModel, arbitrary_types_allowed=True):
    train: list[dspy.Example]
    val: list[dspy.Example]
    test: list[dspy.Example]

    def sizes(self) -> dict[str, int]:
        return {"train": len(self.train), "val": len(self.val), "test": len(self.test)}


def first_n(pool: CandidatePool, n: int | None) -> CandidatePool:
    """The pool as if only the first `n` samples had been drawn (a study's n knob reuses larger pools)."""
    return pool if n is None else pool.model_copy(update={"candidates": pool.candidates[:n]})


def fusor_examples(
    task: Task, examples: list[dspy.Example], pools: JsonlLog[PoolRecord], n: int | None = None, k: int | None = None
) -> list[dspy.Example]:
    """One fusor example per task example with a usable pool: inputs + `candidates` (rendered exactly as the
    `Fuser` renders them), the gold answer under the task's output field (what a labeled demo shows; DSPy drops a
    demo without it), and the reference fields the metric reads. With `k`, the pool (its first `n` samples) is
    replayed as first-k: only the `k` earliest answers are shown. `pool` keeps the pool shown."""
    result = []
    for example in examples:
        record = pools.rows.get(example.id)
        if record is None or not record.pool.succeeded:
            continue
        inputs: dict[str, Any] = example.inputs().toDict()
        pool = first_n(record.pool, n)
        if k is not None:
            pool = pool.first_k(min(k, len(pool)))
        rendered, _ = render_pool(pool, RenderOptions(), salt=salt_for(inputs))
        gold = task.gold_outputs(example) or {}
        fused = example.copy(**gold, **{CANDIDATES: rendered, POOL: pool}, baseline=record.baseline)
        result.append(fused.with_inputs(*inputs, CANDIDATES))
    return result


def task_inputs(example: dspy.Example) -> dict[str, Any]:
    """A fusor example's task inputs (without the rendered candidates)."""
    return {k: v for k, v in example.inputs().toDict().items() if k != CANDIDATES}


def shown_outputs(example: dspy.Example) -> list[dict[str, Any]]:
    """The outputs of the candidates a fusor example shows, in the order its prompt numbers them (1, 2, …)."""
    pool: CandidatePool | None = example.get(POOL)
    if pool is None:
        return []
    return [dict(c.outputs) for c in order(pool, RenderOptions(), salt=salt_for(task_inputs(example)))]


def split(examples: list[dspy.Example], seed: int = 0, fractions: tuple[float, float] = (0.4, 0.3)) -> Splits:
    """Seeded train / val / test split (default 40 / 30 / 30)."""
    shuffled = list(examples)
    random.Random(seed).shuffle(shuffled)
    n_train = max(1, round(fractions[0] * len(shuffled)))
    n_val = max(1, round(fractions[1] * len(shuffled)))
    return Splits(train=shuffled[:n_train], val=shuffled[n_train : n_train + n_val], test=shuffled[n_train + n_val :])
