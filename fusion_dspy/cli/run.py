"""What `fusion-dspy run` does, independent of the command line: sample once, fuse and/or select."""

from __future__ import annotations

import asyncio
from enum import StrEnum
from typing import Any

from pydantic import BaseModel, Field

from fusion_dspy.candidates import Candidate
from fusion_dspy.compose import BestOfN, FusionOfN
from fusion_dspy.errors import AllCandidatesFailedError
from fusion_dspy.fuse import Fuser
from fusion_dspy.lm.resolve import resolve_lm
from fusion_dspy.prediction import FusedPrediction
from fusion_dspy.programs.chat import respond_program
from fusion_dspy.select.registry import scorer_by_name
from fusion_dspy.sources.repeat import RepeatSampler, validate_n
from fusion_dspy.usage import TokenUsage


class Mode(StrEnum):
    fuse = "fuse"
    select = "select"
    both = "both"


class RunConfig(BaseModel):
    """Everything `run` needs; the CLI flags map one to one."""

    n: int = 5
    mode: Mode = Mode.fuse
    model: str | None = None
    fusor_model: str | None = None
    api_base: str | None = None
    scorer: str = "mbr"
    temperature: float = 0.8
    max_tokens: int | None = None
    seed: int = 0
    chain_of_thought: bool = False
    concurrency: int | None = None


class AnswerRecord(BaseModel):
    """One aggregated answer and how it came about."""

    response: str
    method: str
    chosen: int | None = None
    scores: list[float | None] | None = None
    fallback: str | None = None
    usage: TokenUsage = TokenUsage()

    @classmethod
    def of(cls, prediction: FusedPrediction) -> AnswerRecord:
        return cls(
            response=str(prediction.response),
            method=prediction.method,
            chosen=prediction.chosen,
            scores=prediction.scores,
            fallback=prediction.fallback,
            usage=prediction.usage.aggregation,
        )


class RunRecord(BaseModel):
    """One prompt's full result: a JSONL row in batch mode, the `--json` output otherwise."""

    id: str
    prompt: str
    candidates: list[Candidate] = Field(default_factory=list)
    fused: AnswerRecord | None = None
    selected: AnswerRecord | None = None
    error: str | None = None


class Runner:
    """Builds the chat program, one shared sampler, and the fusion and/or selection on top of it."""

    def __init__(self, config: RunConfig) -> None:
        validate_n(config.n)
        lm_options: dict[str, Any] = {"api_base": config.api_base}
        if config.max_tokens is not None:
            lm_options["max_tokens"] = config.max_tokens
        lm = resolve_lm(config.model, **lm_options)
        fusor_lm = resolve_lm(config.fusor_model, **lm_options) if config.fusor_model else lm
        program = respond_program(config.chain_of_thought)
        source = RepeatSampler(
            config.n, lm=lm, temperature=config.temperature, seed=config.seed, concurrency=config.concurrency
        )
        self.config = config
        self.model_name = str(getattr(lm, "model", lm))
        self.source = source.bind(program)
        self.fusion = FusionOfN(
            program, source=source, fuser=Fuser(lm=fusor_lm, chain_of_thought=config.chain_of_thought)
        )
        self.best = BestOfN(program, source=source, scorer=scorer_by_name(config.scorer, fusor_lm))

    async def arun(self, item_id: str, prompt: str) -> RunRecord:
        """Sample once and aggregate; when every candidate fails the record carries the error instead."""
        inputs = {"prompt": prompt}
        pool = await self.source.agenerate(inputs)
        record = RunRecord(id=item_id, prompt=prompt, candidates=pool.candidates)
        if not pool.succeeded:
            record.error = str(AllCandidatesFailedError(pool.failed))
            return record
        mode = self.config.mode
        fused, selected = await asyncio.gather(
            self.fusion.afrom_pool(inputs, pool) if mode in (Mode.fuse, Mode.both) else _nothing(),
            self.best.afrom_pool(inputs, pool) if mode in (Mode.select, Mode.both) else _nothing(),
        )
        record.fused = AnswerRecord.of(fused) if fused is not None else None
        record.selected = AnswerRecord.of(selected) if selected is not None else None
        return record


async def _nothing() -> None:
    return None
