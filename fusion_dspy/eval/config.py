"""What one evaluation run compares, on which data, with which models."""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import BaseModel, Field, model_validator

from fusion_dspy.errors import ConfigurationError
from fusion_dspy.eval.pool_views import PoolView
from fusion_dspy.select.registry import SCORERS

DEFAULT_SCORERS = ("majority", "mbr")
PLAIN_METHODS = ("single", "fusion", "adaptive", "oracle")
BON = "bon:"
Items = Literal["all", "unreported"]
"""Which items a run draws from: all, or only those no reported number was measured on (`programs/reported.py`)."""


def method_name(name: str) -> str:
    """A row name as stored: `mbr` and `bon:mbr` are the same Best-of-N row."""
    return name if name in PLAIN_METHODS or name.startswith(BON) else f"{BON}{name}"


class EvalConfig(BaseModel):
    """One `fusion-dspy eval` run. Pools depend on (task, language, model, n, temperature, seed) only."""

    task: str
    languages: list[str]
    out_dir: Path
    n: int = 5
    limit: int | None = 50
    items: Items = Field(
        default="all",
        description="`unreported`: only items no reported number was measured on (in any language, for parallel "
        "tasks), for training data; `limit` then samples among them.",
    )
    model: str | None = None
    fusor_model: str | None = None
    tuned_fusors: list[str] = Field(
        default_factory=list,
        description="Tuned fusors (`base@adapter.gguf`) whose training items are dropped from every sample, beside "
        "`fusor_model`'s own (the map passes all of its tuned fusors to every cell, so its cells stay paired).",
    )
    judge_model: str | None = Field(default=None, description="Selection judge (bon:judge, bon:pairwise).")
    metric_judge_model: str | None = Field(default=None, description="Judge of judged metrics (default: judge).")
    api_base: str | None = None
    scorers: list[str] = Field(
        default_factory=lambda: list(DEFAULT_SCORERS),
        description="Best-of-N scorers; with no `methods`, the rows are single, bon:<each>, fusion, adaptive, oracle.",
    )
    methods: list[str] = Field(
        default_factory=list,
        description="The rows, in order: single, bon:<scorer> (or just the scorer's name), fusion, adaptive, oracle.",
    )
    temperature: float = 0.8
    max_tokens: int | None = None
    seed: int = 0
    concurrency: int = 4
    data_dir: str | None = None
    pool_view: PoolView | None = Field(
        default=None,
        description="Read the candidate pools from stored ones (first n, or mixed) instead of sampling; `model` is "
        "then not used and `fusor_model` is required.",
    )
    rescore_only: bool = Field(
        default=False,
        description="Make no LM call: redo only what needs none; keep (and count) answers and scores that would.",
    )

    @model_validator(mode="after")
    def _rows(self) -> EvalConfig:
        if not self.methods:
            self.methods = ["single", *(f"{BON}{s}" for s in self.scorers), "fusion", "adaptive", "oracle"]
        else:
            self.methods = list(dict.fromkeys(method_name(m) for m in self.methods))
            self.scorers = [m.removeprefix(BON) for m in self.methods if m.startswith(BON)]
        return self

    def check(self) -> None:
        """Raise a ConfigurationError naming the fix for the first invalid setting."""
        if not self.languages:
            raise ConfigurationError("no languages given; pass e.g. --langs de,ja,zh.")
        unknown = [s for s in self.scorers if s not in SCORERS]
        if unknown:
            raise ConfigurationError(
                f"unknown scorer(s) {unknown}; choose from {', '.join(SCORERS)} "
                f"(methods: {', '.join(PLAIN_METHODS)}, or a scorer's name for its Best-of-N row)."
            )
        if self.limit is not None and self.limit < 1:
            raise ConfigurationError(f"--limit must be ≥ 1 (or omitted for the whole set); got {self.limit}.")
        if self.pool_view is not None:
            self.pool_view.check()
            if not self.fusor_model:
                raise ConfigurationError("a pool view samples no candidates, so name the fusor: --fusor-model.")
        if self.concurrency < 1:
            raise ConfigurationError(f"--concurrency must be ≥ 1; got {self.concurrency}.")
