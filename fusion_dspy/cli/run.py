"""What `fusion-dspy run` does, independent of the command line: sample once, fuse and/or select."""

from __future__ import annotations

import asyncio
import math
from collections.abc import Callable, Sequence
from enum import StrEnum

from pydantic import BaseModel, ConfigDict

from fusion_dspy.cli.batch import PromptItem
from fusion_dspy.fuse import Fuser
from fusion_dspy.lm.embedded import LOCAL_MAX_TOKENS, EmbeddedLM
from fusion_dspy.lm.resolve import greedy, lm_options, resolve_lm
from fusion_dspy.lm.weights import EMBEDDED_MODELS
from fusion_dspy.outcome import FuseAndSelect, Outcome
from fusion_dspy.programs.chat import respond_program
from fusion_dspy.select.registry import scorer_by_name
from fusion_dspy.sources.repeat import RepeatSampler, validate_n


class Mode(StrEnum):
    fuse = "fuse"
    select = "select"
    both = "both"


class RunConfig(BaseModel):
    """Everything `run` needs; the CLI flags map one to one."""

    model_config = ConfigDict(extra="forbid")  # a misspelt option is an error, not silently ignored

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
    call_concurrency: int | None = None
    first_k: int | None = None
    deadline_s: float | None = None
    adaptive: bool = False


class Runner:
    """Builds the chat program, one shared sampler, and the fusion and/or selection on top of it."""

    def __init__(self, config: RunConfig) -> None:
        validate_n(config.n)
        options = lm_options(config.api_base, config.max_tokens)
        lm = resolve_lm(config.model, **options)
        fusor_lm = greedy(resolve_lm(config.fusor_model, **options) if config.fusor_model else lm)  # as measured
        program = respond_program(config.chain_of_thought)
        source = RepeatSampler(
            config.n, lm=lm, temperature=config.temperature, seed=config.seed, max_in_flight=config.call_concurrency,
            k=config.first_k, deadline_s=config.deadline_s,
        )  # fmt: skip
        self.config = config
        self.lms = (lm, fusor_lm)
        self.model_name = str(getattr(lm, "model", lm))
        fuse = config.mode in (Mode.fuse, Mode.both)
        select = config.mode in (Mode.select, Mode.both)
        self.pipeline = FuseAndSelect(
            program,
            source,
            fuser=Fuser(lm=fusor_lm, chain_of_thought=config.chain_of_thought) if fuse else None,
            scorer=scorer_by_name(config.scorer, fusor_lm) if select else None,
            adaptive=config.adaptive,
        )

    def start(self) -> None:
        """Start the embedded models now (they start at their first request otherwise), so a missing install or a
        first run's weight assembly shows up under its own status line, before any sampling."""
        for lm in self.lms:
            if isinstance(lm, EmbeddedLM):
                lm.start()

    def time_hint(self) -> str:
        """An honest bound for the embedded model: n candidates at its batched speed, then one fusor call, each
        writing at most the token limit, on 2 idle cores (a busy CPU is slower). Empty for other models."""
        model = EMBEDDED_MODELS.get(self.model_name.removeprefix("openai/"))
        if model is None or not model.tokens_per_s or not model.batched_tokens_per_s:
            return ""
        limit = self.config.max_tokens or LOCAL_MAX_TOKENS
        seconds = self.config.n * limit / model.batched_tokens_per_s + limit / model.tokens_per_s
        return f" (≤ ~{math.ceil(seconds / 60)} min on 2 idle cores)"

    def status(self) -> str:
        """The spinner's line while one prompt runs: short enough for an 80-column terminal with its spinner."""
        return f"Sampling {self.config.n} from {self.model_name}, then fusing{self.time_hint()}…"

    async def arun(self, item_id: str, prompt: str) -> Outcome:
        return await self.pipeline.arun(item_id, prompt)

    async def arun_batch(
        self, items: Sequence[PromptItem], concurrency: int, on_row: Callable[[Outcome], None]
    ) -> None:
        """Every item on one event loop, at most `concurrency` prompts being sampled at once (a prompt's
        aggregation overlaps the next prompts' sampling, so the server is never left waiting for a wave of
        prompts to start); `on_row` gets each outcome as it finishes (the row carries the prompt's id)."""
        gate = asyncio.Semaphore(concurrency)

        async def one(item: PromptItem) -> None:
            on_row(await self.pipeline.arun(item.id, item.prompt, sampling=gate))

        await asyncio.gather(*(one(item) for item in items))
