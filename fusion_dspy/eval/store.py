"""Candidate pools and method predictions as data: generated once, stored as JSONL, reused by every re-run."""

from __future__ import annotations

import re
from collections.abc import Mapping
from pathlib import Path
from typing import Any, Protocol

from pydantic import BaseModel, Field

from fusion_dspy.candidates import CandidatePool
from fusion_dspy.jsonl import JsonlLog
from fusion_dspy.markers import MarkerFree
from fusion_dspy.provenance import Provenance
from fusion_dspy.usage import TokenUsage


class PoolKey(BaseModel):
    """What makes two pools the same: task, language, sampling model, n, temperature, seed, token limit."""

    task: str
    language: str
    model: str
    n: int
    temperature: float
    seed: int
    max_tokens: int | None = None

    def slug(self) -> str:
        limit = f"-m{self.max_tokens}" if self.max_tokens else ""
        return f"{slugify(self.model)}-n{self.n}-t{self.temperature:g}-s{self.seed}{limit}"


class PoolRecord(MarkerFree):
    """One example's candidate pool and (for judged tasks) its baseline answer.

    Inputs are not stored: they are reloaded from the dataset by id, so stored pools hold model outputs only
    (benchmark text keeps its own licence and provenance). Files keep the raw model text; DSPy's end marker is
    stripped from the candidates and the baseline when they are read.
    """

    text_fields = ("baseline",)

    id: str
    pool: CandidatePool
    baseline: str | None = None


class MethodRecord(MarkerFree):
    """One method's answer for one example, its score, and what it cost beyond the pool.

    Fields added later have defaults, so answers stored before them still load.
    `answer_version` and `score_version` name the code and prompts the answer and the score came from; a
    re-report re-runs answers of another version and re-scores scores of another version (records written before
    versioning have neither, so they are redone once). `score` is None when every metric judgement failed.
    """

    text_fields = ("outputs",)

    id: str
    method: str
    outputs: dict[str, Any] = Field(default_factory=dict)
    score: float | None
    usage: TokenUsage = TokenUsage()
    wall_s: float = 0.0
    chosen: int | None = None
    fallback: str | None = None
    path: str | None = Field(default=None, description="fused, selected, skipped or floored (aggregated methods).")
    reason: str | None = None
    provenance: Provenance | None = None
    settings: str | None = Field(default=None, description="The policy it was made with; another one recomputes it.")
    scores: list[float | None] | None = Field(default=None, description="A selection's per-candidate scores.")
    tied: int | None = Field(default=None, description="Different answers that shared the top score (>1: a tie).")
    failed_judgements: int = 0
    answer_version: str | None = None
    score_version: str | None = None


class StoredAnswers(Protocol):
    """Stored answers by `method|id`: a method log, or any view of one (a map's plan merges two)."""

    @property
    def rows(self) -> Mapping[str, MethodRecord]: ...


def slugify(text: str) -> str:
    return re.sub(r"[^A-Za-z0-9._-]+", "_", text).strip("_") or "default"


def pool_log(out_dir: Path, key: PoolKey) -> JsonlLog[PoolRecord]:
    return JsonlLog(out_dir / "pools" / key.task / key.language / f"{key.slug()}.jsonl", PoolRecord)


def method_log(out_dir: Path, key: PoolKey, aggregator_slug: str) -> JsonlLog[MethodRecord]:
    path = out_dir / "predictions" / key.task / key.language / key.slug() / f"{aggregator_slug}.jsonl"
    return JsonlLog(path, MethodRecord, key=lambda r: f"{r.method}|{r.id}")
