"""Candidate pools read from stored ones, never sampled: the first n of a larger stored pool, or a mixed pool that
takes one sample from each of several models in turn. What lets a grid of (candidates, n) cells share pools made
once (`fusion-dspy map`): n=3 is the first 3 of the stored 5, a mixed pool is made of stored single-model samples.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from pydantic import BaseModel, Field

from fusion_dspy.candidates import CandidatePool
from fusion_dspy.errors import ConfigurationError
from fusion_dspy.eval.store import PoolKey, PoolRecord, pool_log

MIX = "+"
"""Joins the member models of a mixed pool in its name: `local-small+local`."""


def served_name(model: str) -> str:
    """The name a model's stored pools carry: embedded models are served as `openai/<name>`."""
    from fusion_dspy.lm.weights import EMBEDDED_MODELS

    return f"openai/{model}" if model in EMBEDDED_MODELS else model


class PoolView(BaseModel):
    """Pools of `n` candidates from stored pools of `pool_n`: the first n of one model's, or, for several `models`,
    candidate i from model i mod k (its sample i div k), so a pool of `local-small+local` alternates the two. The
    stored pools are looked up in `folders` (each an eval `--out`); the first folder holding an example wins."""

    models: list[str] = Field(min_length=1)
    n: int = Field(ge=1)
    pool_n: int = Field(ge=1, description="Size of the stored pools the candidates are taken from.")
    folders: list[Path] = Field(min_length=1)

    @property
    def name(self) -> str:
        """The candidates' name as a grid shows it: one model's name, or the members joined by `+`."""
        return MIX.join(self.models)

    def label(self) -> str:
        """What stands in for the sampling model in a key: the members and where the n comes from."""
        first = f"-first{self.n}of{self.pool_n}" if self.n < self.pool_n else ""
        return f"view-{self.name}{first}"

    def check(self) -> None:
        per_model = -(-self.n // len(self.models))
        if per_model > self.pool_n:
            raise ConfigurationError(
                f"a pool of {self.n} from {self.name} takes {per_model} samples of each model, but the stored pools "
                f"hold {self.pool_n}; use a smaller n or make pools of {per_model} (eval -n {per_model} --pools-only)."
            )

    def member_key(self, model: str, key: PoolKey) -> PoolKey:
        return key.model_copy(update={"model": served_name(model), "n": self.pool_n})

    def member_rows(self, model: str, key: PoolKey) -> dict[str, PoolRecord]:
        """Every stored pool of one member model for the key's task and language, over all folders."""
        rows: dict[str, PoolRecord] = {}
        for folder in reversed(self.folders):
            rows.update(pool_log(folder, self.member_key(model, key)).rows)
        return rows

    def rows(self, key: PoolKey, ids: Sequence[str]) -> tuple[dict[str, PoolRecord], dict[str, list[str]]]:
        """The view's pool for each example id that every member has a stored pool for, and, per member model,
        the ids it lacks (to say which pools to make)."""
        members = {model: self.member_rows(model, key) for model in self.models}
        missing = {model: [i for i in ids if i not in rows] for model, rows in members.items()}
        views = {
            example_id: self.compose(example_id, [members[model][example_id] for model in self.models])
            for example_id in ids
            if all(example_id in rows for rows in members.values())
        }
        return views, {model: gone for model, gone in missing.items() if gone}

    def compose(self, example_id: str, stored: list[PoolRecord]) -> PoolRecord:
        """The view's pool from each member's stored pool (same example): taken in turn, re-indexed 0..n-1."""
        k = len(stored)
        taken = []
        for i in range(self.n):
            by_index = sorted(stored[i % k].pool.candidates, key=lambda c: c.index)
            taken.append(by_index[i // k].model_copy(update={"index": i}))
        baseline = stored[0].baseline
        return PoolRecord(id=example_id, pool=CandidatePool(candidates=taken), baseline=baseline)


class ViewPools:
    """A read-only stand-in for a pool store: the view's pools by id, as `JsonlLog.rows` has them."""

    def __init__(self, rows: dict[str, PoolRecord]) -> None:
        self.rows = rows

    def __contains__(self, key: str) -> bool:
        return key in self.rows

    def append(self, row: PoolRecord) -> None:
        raise ConfigurationError("a pool view is read from stored pools and never sampled; make the pools first.")
