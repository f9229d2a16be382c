"""The synthetic-data job: every prompt through a teacher pool, fused (and selected), checkpointed row by row."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from pathlib import Path

from fusion_dspy.fuse import Fuser
from fusion_dspy.jsonl import JsonlLog
from fusion_dspy.lm.resolve import lm_options, resolve_lm
from fusion_dspy.outcome import FuseAndSelect, Outcome
from fusion_dspy.programs.chat import respond_program
from fusion_dspy.select.registry import scorer_by_name
from fusion_dspy.sources.teachers import TeacherPool
from fusion_dspy.synth.config import SynthConfig
from fusion_dspy.synth.prompts import PromptRow

CHECKPOINT = "checkpoint.jsonl"


def build_pipeline(config: SynthConfig) -> FuseAndSelect:
    """Teachers, fusor and optional BoN scorer for `config`; built once per process (or per Ray worker)."""
    config.check()
    options = lm_options(config.api_base, config.max_tokens, num_retries=config.retries)
    teachers = [resolve_lm(t, **options) for t in config.teachers]
    fusor = resolve_lm(config.fusor_model, **options)
    source = TeacherPool(
        teachers,
        samples_per_teacher=config.samples_per_teacher,
        temperature=config.temperature,
        per_teacher_concurrency=config.per_teacher_concurrency,
        timeout_s=config.timeout_s,
    )
    scorer = scorer_by_name(config.bon, fusor) if config.bon else None
    return FuseAndSelect(respond_program(), source, fuser=Fuser(lm=fusor), scorer=scorer)


def checkpoint(out_dir: Path) -> JsonlLog[Outcome]:
    return JsonlLog(out_dir / CHECKPOINT, Outcome)


def pending(prompts: list[PromptRow], done: JsonlLog[Outcome]) -> list[PromptRow]:
    """Prompts with no row yet, or whose row failed (they are retried)."""
    return [p for p in prompts if p.id not in done or done.rows[p.id].error is not None]


async def run_job(
    config: SynthConfig, prompts: list[PromptRow], on_row: Callable[[Outcome], None] = lambda row: None
) -> JsonlLog[Outcome]:
    """Process every pending prompt, at most `config.concurrency` at once; each row is appended as it finishes."""
    done = checkpoint(config.out_dir)
    todo = pending(prompts, done)
    if not todo:
        return done
    pipeline = build_pipeline(config)
    gate = asyncio.Semaphore(config.concurrency)

    async def one(prompt: PromptRow) -> None:
        async with gate:
            row = await pipeline.arun(prompt.id, prompt.prompt)
        done.append(row)
        on_row(row)

    await asyncio.gather(*(one(p) for p in todo))
    return done
