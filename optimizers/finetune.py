"""A fusor that learns: weight-level tuning of a small fusor on its own successful fusions (DSPy's
`BootstrapFinetune` shape, on a CPU).

`FinetuneFusor(metric, ...).compile(student, trainset)` samples the fusor several times per stored pool, keeps the
fused answers that pass the metric (`finetune_bootstrap`), balances hard pools against easy ones as AggLM does
(`finetune_data`), renders each kept answer as the chat the fusor serves (`sft_format`), trains a LoRA on the
fusor's GGUF read into transformers (`gguf_model`, `lora_train`), writes it as a llama.cpp LoRA GGUF
(`lora_gguf`) and returns the student with its LM set to the base model plus that adapter on one llama.cpp server
(`fusion_dspy.lm.lora`). Every stage keeps its result in `out_dir`, so a killed run continues where it stopped.

CPU budget (2 cores, under load): reading the 0.5B GGUF 80-88 s; one LoRA step (r=16, every linear layer) 27-55 s
on a 512-token example, so about 1 CPU-hour per 100 steps of 512 tokens (a math fusor example over five 0.5B chains
of thought, ~1,000 tokens, about twice that: `benchmarks/lora_step.py`); bootstrapping is `samples` fusor calls
per pool it samples: every hard pool and about 1.5 easy ones per hard one kept (`finetune_data.worth_sampling`),
never an impossible one.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import dspy
from pydantic import BaseModel, Field

from fusion_dspy.errors import ConfigurationError
from fusion_dspy.jsonl import JsonlLog
from fusion_dspy.lm.adapter_cost import CpuMeter, TrainingCost, read_cost
from fusion_dspy.lm.lora import Adapter, adapter_server, file_sha256, lora_lm
from fusion_dspy.lm.weights import EMBEDDED_MODELS
from fusion_dspy.optimizers.finetune_bootstrap import abootstrap
from fusion_dspy.optimizers.finetune_data import FusedSample, PoolSamples, Selection, select_targets, worth_sampling
from fusion_dspy.optimizers.fusor_only import FusorOnly
from fusion_dspy.optimizers.gguf_model import gguf_info, load_gguf_model, require_training
from fusion_dspy.optimizers.lora_gguf import write_lora_gguf
from fusion_dspy.optimizers.lora_train import LoraSettings, TrainState, adapter_state, train_lora
from fusion_dspy.optimizers.sft_format import SftTokens, sft_messages, tokenize
from fusion_dspy.optimizers.strata import Stratum

Metric = Callable[..., float | bool]
Progress = Callable[[str, int, int], Callable[[], None]]
"""(step label, units, units already done) -> a callable advancing the step by one unit (as `FusorStudy`)."""
SAMPLES_FILE = "bootstrap.jsonl"
ADAPTER_FILE = "adapter.gguf"
SECONDS_PER_STEP_512 = (27.0, 55.0)
"""Measured seconds per LoRA step of the 0.5B fusor on a 512-token example under load: 27-53 on 2 threads, 55 on
one thread beside another model job (`benchmarks/lora_step.py`, FUSION_DSPY_LOCAL_THREADS=1)."""


def cpu_hours(steps: int, tokens: int = 512) -> tuple[float, float]:
    """The low and high CPU-hours of `steps` LoRA steps on `tokens`-token examples (time grows ~linearly)."""
    low, high = SECONDS_PER_STEP_512
    return steps * low * tokens / 512 / 3600, steps * high * tokens / 512 / 3600


class FinetuneSettings(BaseModel):
    """How fused answers are drawn and chosen, and how the adapter trains."""

    samples: int = Field(default=4, ge=1, description="Fusor samples per pool.")
    temperature: float = Field(default=0.8, ge=0)
    easy_per_hard: float = Field(default=1.0, ge=0, description="Easy pools per hard pool (AggLM's balanced mix).")
    per_pool: int = Field(default=1, ge=1, description="Passing answers kept per pool (distinct ones).")
    gold_backed: bool = Field(default=True, description="A right candidate as target where no fused answer passed.")
    threshold: float | None = Field(default=None, description="Score that passes (default: the task's).")
    threads: int = Field(default=4, ge=1)
    seed: int = 0
    lora: LoraSettings = Field(default_factory=LoraSettings)


class FinetuneResult(BaseModel):
    """What a compile did: the data it chose, the examples it trained on, the adapter it wrote."""

    adapter: Path
    adapter_sha256: str
    base_model: str
    selection: dict[str, int]
    examples: int = Field(description="Tokenised training examples.")
    too_long: int = Field(description="Targets left out for exceeding the token limit.")
    train: TrainState
    cost: TrainingCost | None = Field(default=None, description="CPU time of the bootstrap and the training.")


def embedded_name(lm: Any) -> str | None:
    """The embedded model an LM is served by (`openai/local-small` → `local-small`), else None."""
    model = getattr(lm, "model", "")
    name = model.split("/", 1)[-1] if isinstance(model, str) else ""
    return name if name in EMBEDDED_MODELS else None


class FinetuneFusor:
    """Tune the fusor's weights on its own successful fusions; `compile` returns the tuned copy (`result` says how)."""

    def __init__(
        self,
        metric: Metric,
        *,
        out_dir: Path,
        base_model: str | Path | None = None,
        settings: FinetuneSettings | None = None,
        progress: Progress | None = None,
    ) -> None:
        self.metric = metric
        self.out_dir = Path(out_dir)
        self.base_model = base_model
        self.settings = settings or FinetuneSettings()
        self.progress = progress
        self.result: FinetuneResult | None = None

    def _advance(self, label: str, total: int, done: int = 0) -> Callable[[], None] | None:
        return self.progress(label, total, done) if self.progress is not None else None

    def bootstrap(
        self, student: FusorOnly, trainset: Sequence[dspy.Example], threshold: float
    ) -> dict[str, list[FusedSample]]:
        """Fused samples per pool, appended to `out_dir` as each pool is done: a rerun (after a kill too) reads
        them back and samples only the pools still missing."""
        stored = JsonlLog(self.out_dir / SAMPLES_FILE, PoolSamples)
        missing = [e for e in trainset if e.id not in stored]
        found: dict[str, list[FusedSample]] = {}
        if missing:
            found = self._sample(student, missing, threshold, stored)
        kept = {i: row.samples for i, row in stored.rows.items()} | found
        return {e.id: kept[e.id] for e in trainset}

    def _sample(
        self, student: FusorOnly, missing: list[dspy.Example], threshold: float, stored: JsonlLog[PoolSamples]
    ) -> dict[str, list[FusedSample]]:
        """Sample the fusor on `missing` pools, keeping each pool's samples (and the CPU time) as it is done."""
        s = self.settings
        meter = CpuMeter(self.out_dir / ADAPTER_FILE, "bootstrap")

        def keep(example_id: str, samples: list[FusedSample]) -> None:
            stored.append(PoolSamples(id=example_id, samples=samples))
            meter.tick()

        return asyncio.run(abootstrap(
            student, missing, self.metric, threshold=threshold, samples=s.samples, temperature=s.temperature,
            threads=s.threads, advance=self._advance("bootstrap: fusor samples per pool", len(missing)), on_pool=keep,
        ))  # fmt: skip

    def base_path(self, student: FusorOnly) -> str | Path:
        """The GGUF the adapter is trained on and served with: `base_model`, else the fusor's embedded model."""
        base = self.base_model or embedded_name(student.fuser.lm)
        if base is None:
            raise ConfigurationError(
                "fine-tuning needs the fusor's weights: give base_model= (an embedded model such as 'local-small', "
                "or a GGUF file), or use an embedded model as the fusor's LM."
            )
        return base

    def compile(
        self, student: FusorOnly, trainset: Sequence[dspy.Example], strata: dict[str, Stratum], threshold: float
    ) -> FusorOnly:
        """A copy of `student` whose LM is its base model plus the trained adapter. `strata` gives each training
        pool's difficulty (`optimizers.strata.strata_of`); `threshold` is the score that passes."""
        require_training()
        from fusion_dspy.lm.lora import base_path as gguf_of

        base = self.base_path(student)
        s = self.settings
        wanted = set(worth_sampling([e.id for e in trainset], strata, easy_per_hard=s.easy_per_hard, seed=s.seed))
        samples = self.bootstrap(student, [e for e in trainset if e.id in wanted], threshold)
        selection: Selection = select_targets(samples, strata, easy_per_hard=s.easy_per_hard,
                                              per_pool=s.per_pool, gold_backed=s.gold_backed, seed=s.seed)  # fmt: skip
        by_id = {e.id: e for e in trainset}
        conversations = [sft_messages(student, by_id[t.example_id], t.outputs) for t in selection.targets]
        path = Path(gguf_of(base)[0])
        meter = CpuMeter(self.out_dir / ADAPTER_FILE, "train")
        model, tokenizer = load_gguf_model(path)
        tokenised = [tokenize(tokenizer, c, s.lora.max_tokens) for c in conversations]
        data: list[SftTokens] = [t for t in tokenised if t is not None]
        advance = self._advance("LoRA steps", s.lora.steps)

        def on_step(done: int, total: int, loss: float) -> None:
            meter.tick()
            if advance is not None:
                advance()

        peft_model, state = train_lora(model, data, s.lora, self.out_dir, on_step)
        meter.tick()
        info = gguf_info(path)
        adapter = write_lora_gguf(adapter_state(peft_model), s.lora.alpha, info.architecture, info.block_count,
                                  self.out_dir / ADAPTER_FILE)  # fmt: skip
        digest = file_sha256(adapter)
        self.result = FinetuneResult(
            adapter=adapter, adapter_sha256=digest, base_model=str(base), selection=selection.counts(),
            examples=len(data), too_long=len(tokenised) - len(data), train=state, cost=read_cost(adapter),
        )  # fmt: skip
        return tuned_fusor(student, base, Adapter(path=adapter, sha256=digest))


def tuned_fusor(student: FusorOnly, base: str | Path, adapter: Adapter) -> FusorOnly:
    """`student` with its LM replaced by `base` + `adapter` on the shared server (same token limit)."""
    own = student.fuser.lm
    limit = own.kwargs.get("max_tokens") if isinstance(own, dspy.LM) else None
    options = {"max_tokens": limit} if limit is not None else {}
    tuned = student.deepcopy()
    tuned.fuser.lm = lora_lm(adapter_server(base, [adapter]), adapter, temperature=0.0, **options)
    return tuned
