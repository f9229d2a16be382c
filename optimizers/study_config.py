"""What defines a fusor study: its data, pools, search space and objectives (the study is named by them)."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any

from pydantic import BaseModel, Field

from fusion_dspy.errors import ConfigurationError
from fusion_dspy.optimizers.compile import OPTIMIZERS
from fusion_dspy.optimizers.instruction_language import SOURCE
from fusion_dspy.registry import HeldOut, InstructionLanguage

FINETUNE = "finetune"
"""Weight-level tuning of the fusor (`optimizers.finetune`): not a study's trial optimiser, it runs alone."""
REFLECTION_TOKENS = 1024
"""Token limit of the LM that proposes instructions: a proposal is longer than a fused answer."""
RESPONSES = "responses.jsonl"
OBJECTIVES = ("score", "tokens")
"""Validation score (maximised) and fusor tokens per validation example (minimised)."""


def digest(value: Any, length: int) -> str:
    """A short, stable name for JSON-able `value` (key order does not matter): studies, checkpoints, stored scores."""
    return hashlib.sha256(json.dumps(value, sort_keys=True, default=str).encode()).hexdigest()[:length]


def params_text(params: dict[str, Any]) -> str:
    """A trial's parameters as `n=4, demos=1, …`, as the CLI's trial table and the study report write them."""
    return ", ".join(f"{k}={v}" for k, v in params.items())


class StudyConfig(BaseModel):
    task: str
    language: str
    out_dir: Path = Field(description="Each trial's fusor state and the reports; pools too, unless pools_dir.")
    pools_dir: Path | None = Field(
        default=None, description="Where the candidate pools are stored (an `fusion-dspy eval --out`); default out_dir."
    )
    storage: str = "sqlite:///studies.db"
    trials: int = 20
    model: str | None = None
    api_base: str | None = None
    max_tokens: int | None = None
    fusor_max_tokens: int | None = Field(
        default=None, description="The fusor's token limit, when it needs more than a candidate (a chain of "
        "thought over N candidates); default: max_tokens. The default fusor it is compared with gets it too.",
    )  # fmt: skip
    n: int = 5
    limit: int = 30
    temperatures: list[float] = Field(default_factory=lambda: [0.8])
    optimizers: list[str] = Field(default_factory=lambda: ["bootstrap"])
    fusor_models: list[str] = Field(default_factory=list)
    reflection_model: str | None = Field(
        default=None, description="Proposes instructions (MIPROv2's prompt model, GEPA's reflection LM); default: "
        "the trial's fusor model. It may write up to REFLECTION_TOKENS tokens, whatever --max-tokens says.",
    )  # fmt: skip
    chain_of_thought: list[bool] = Field(default_factory=lambda: [False, True])
    first_k: bool = Field(default=False, description="Also tune k (fuse the first k answers; k = n waits for all).")
    adaptive: bool = Field(default=False, description="Also tune adaptive fusion (skip_agreement, floor_margin).")
    max_demos: int = 2
    optimizer_budget: int | None = Field(
        default=None, description="Metric calls MIPROv2 / GEPA may spend compiling, per trial (default: auto=light)."
    )
    stratum_threshold: float | None = Field(
        default=None, description="Score at which a candidate counts as right for the difficulty strata "
        "(default: the task's pass threshold; e.g. 0.35 chrF++ balances the strata of a small model's translations).",
    )  # fmt: skip
    objectives: list[str] = Field(
        default_factory=lambda: ["score"], description="score; or score,tokens for a Pareto front (multi-objective)."
    )
    cost_penalty: float = Field(default=0.0, description="Subtracted per 1,000 tokens per validation example.")
    translate_instructions: bool = Field(
        default=True, description="For a language other than English, also try the best fusor with its "
        "instructions translated into that language; keep the one that scores better on validation, report both.",
    )  # fmt: skip
    log_responses: bool = Field(
        default=True, description="Keep every LM response of the study in <out>/responses.jsonl: a study cut "
        "by the end of a session replays its finished calls from there on any machine (see lm.response_log).",
    )  # fmt: skip
    seed: int = 0
    threads: int = 4
    data_dir: str | None = None

    def check(self) -> None:
        unknown = [o for o in self.optimizers if o not in (*OPTIMIZERS, FINETUNE)]
        if unknown:
            raise ConfigurationError(
                f"unknown optimizer(s) {unknown}; choose from {', '.join(OPTIMIZERS)}, or {FINETUNE} alone."
            )
        if FINETUNE in self.optimizers and self.optimizers != [FINETUNE]:
            raise ConfigurationError(f"{FINETUNE} runs alone, not in a study with other optimisers (--optimizer).")
        if self.trials < 1 or self.n < 1 or self.limit < 3:
            raise ConfigurationError("--trials and -n must be ≥ 1 and --limit ≥ 3 (train, val and test need one each).")
        if self.objectives not in (["score"], ["score", "tokens"]):
            raise ConfigurationError(f"--objectives {','.join(self.objectives)}: use score, or score,tokens.")
        if self.multi_objective and self.cost_penalty:
            raise ConfigurationError("--cost-penalty folds tokens into one score; with --objectives score,tokens "
                                     "tokens are an objective of their own: drop --cost-penalty.")  # fmt: skip

    @property
    def multi_objective(self) -> bool:
        return "tokens" in self.objectives

    def defining(self) -> dict[str, Any]:
        """Everything that defines the study: its data (task, language, limit, seed), its pools (model, n,
        max_tokens, temperatures), its search space and its objectives. Not: trials, storage, threads, paths.
        The fusor's own token limit only when set, so the studies named before it existed keep their names."""
        defining = self.model_dump(
            mode="json",
            include={"task", "language", "limit", "seed", "model", "n", "max_tokens", "temperatures", "optimizers",
                     "fusor_models", "reflection_model", "chain_of_thought", "max_demos", "cost_penalty", "first_k",
                     "adaptive", "objectives", "stratum_threshold", "optimizer_budget"},
        )  # fmt: skip
        if self.fusor_max_tokens is not None:
            defining["fusor_max_tokens"] = self.fusor_max_tokens
        return defining

    @property
    def study_name(self) -> str:
        """`fusion-<task>-<language>-<digest of defining()>`: another --limit, --seed, --model … is another study,
        with its own splits, so a best trial is never tested on examples another configuration trained on."""
        return f"fusion-{self.task}-{self.language}-{digest(self.defining(), 8)}"

    def candidate_model(self) -> str:
        return self.model or "local"

    def default_fusor_model(self) -> str:
        """The model of the task's default fusor: the first fusor model, else the candidate model."""
        return self.fusor_models[0] if self.fusor_models else self.candidate_model()

    @property
    def responses_path(self) -> Path | None:
        """The study folder's LM response log (None when it is off)."""
        return self.out_dir / RESPONSES if self.log_responses else None

    @property
    def compares_instruction_languages(self) -> bool:
        """True when the study ends by trying its best fusor's instructions in the study's language."""
        return self.translate_instructions and self.language != SOURCE


class StudyResult(BaseModel):
    """The best trial, its held-out comparison with the default fusor, and where it was written."""

    best_trial: int
    best_params: dict[str, Any]
    val_score: float
    before: float
    after: float
    splits: dict[str, int]
    strata: dict[str, dict[str, int]] = Field(default_factory=dict, description="Split → stratum → examples.")
    trials_completed: int
    held_out: HeldOut | None = None
    instructions: InstructionLanguage | None = Field(
        default=None, description="English against task-language instructions (None: not compared)."
    )
    registered: Path | None = None
    refused: str | None = Field(default=None, description="Why no registry entry was written, when none was.")
    report: Path | None = None
