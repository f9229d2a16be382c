"""Per-example scores of a fusor kept on disk, so the expensive scoring steps of a study's finish survive the
end of a session and are not repeated by the next study on the same split.

A study's finish scores the default fusor on the held-out split (the same for every optimiser's study of a task
and language), the tuned one, and its translated instructions: tens of fusor calls, an hour on a CPU. Each score
is appended to `<out>/scores.jsonl` as it lands, keyed by everything that decides it: the fusor's saved state
(instructions and demos), its LM and settings, the adaptive thresholds, and the example's inputs (its pool).
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import dspy
from pydantic import BaseModel

from fusion_dspy.jsonl import JsonlLog
from fusion_dspy.optimizers.fusor_only import FusorOnly
from fusion_dspy.optimizers.scoring import FAILED, OnScored, Scored
from fusion_dspy.optimizers.study_config import digest
from fusion_dspy.programs.adaptive_defaults import Thresholds

FILE = "scores.jsonl"
WHERE = frozenset({"api_base", "base_url", "api_key"})
"""LM settings that say where the model is served, not what it answers (the embedded model's port changes every
run): left out of the key, as DSPy's cache leaves them out."""


class StoredScore(BaseModel):
    """One example's score under one fusor configuration (`score` None: every metric judgement failed)."""

    key: str
    id: str
    score: float | None
    path: str


def configuration_key(program: FusorOnly, metric: str, adaptive: Thresholds | None) -> str:
    """What decides a fusor's answers and their scores, apart from the example."""
    lm = program.fuser.lm
    settings = {k: v for k, v in getattr(lm, "kwargs", {}).items() if k not in WHERE}
    model = {"model": getattr(lm, "model", str(lm)), "kwargs": settings}
    state = program.dump_state()
    return digest({"state": state, "lm": model, "metric": metric, "adaptive": adaptive and adaptive.model_dump()}, 16)


def example_key(configuration: str, example: dspy.Example) -> str:
    return digest({"configuration": configuration, "inputs": dict(example.inputs())}, 16)


class ScoreStore:
    """The scores already computed in a study folder; `add` appends one as soon as it is known."""

    def __init__(self, folder: Path) -> None:
        self.log = JsonlLog(folder / FILE, StoredScore, key=lambda row: row.key)

    def get(self, key: str) -> StoredScore | None:
        return self.log.rows.get(key)

    def add(self, key: str, example_id: str, score: float | None, path: str) -> None:
        self.log.append(StoredScore(key=key, id=example_id, score=score, path=path))


Score = Callable[[list[dspy.Example], OnScored, int], Scored]
"""Scores the examples given, calling `OnScored` as each lands; the int is how many were read back instead."""


def score_with_store(
    store: ScoreStore,
    program: FusorOnly,
    devset: list[dspy.Example],
    metric: str,
    adaptive: Thresholds | None,
    score: Score,
) -> Scored:
    """`program`'s scores on `devset`: stored ones read back, the rest scored by `score(missing, on_scored,
    read_back)`, which stores each as it lands. The usage is that of the new calls only."""
    configuration = configuration_key(program, metric, adaptive)
    keys = {e.id: example_key(configuration, e) for e in devset}
    known = {i: row for i, key in keys.items() if (row := store.get(key)) is not None}
    missing = [e for e in devset if e.id not in known]

    def keep(example: dspy.Example, value: float | None, path: str) -> None:
        if path != FAILED:  # a failed call may be a passing fault: scored again next time, never frozen as a 0
            store.add(keys[example.id], example.id, value, path)

    fresh = score(missing, keep, len(known)) if missing else Scored()
    return Scored(
        scores={e.id: known[e.id].score if e.id in known else fresh.scores[e.id] for e in devset},
        paths={e.id: known[e.id].path if e.id in known else fresh.paths[e.id] for e in devset},
        usage=fresh.usage, billed=fresh.billed,
    )  # fmt: skip
