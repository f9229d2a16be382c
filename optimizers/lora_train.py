"""LoRA training of the fusor with peft on the CPU, resumable: a killed run continues from its last checkpoint.

A checkpoint (adapter weights, optimiser state, step, losses) is written every `checkpoint_every` steps into
`<out>/checkpoint` (to a sibling folder first, then renamed, so a kill mid-write leaves the previous one). The
example of each step is a seeded function of the step, so a resumed run sees the data a whole run would have.
One step of the 0.5B model (r=16, every linear layer) on a 512-token example took 27-53 s on this 2-core machine
under load; `benchmarks/lora_step.py` measured 67-69 s on real math fusor examples of 922 and 1,105 tokens
(34.5 s per 512 tokens, load 3.3-5.0), and 97-122 s (55 s per 512) on one thread beside another model job.
"""

from __future__ import annotations

import random
import shutil
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from pydantic import BaseModel, Field

from fusion_dspy.errors import ConfigurationError
from fusion_dspy.lm.server import local_threads
from fusion_dspy.optimizers.sft_format import SftTokens
from fusion_dspy.optimizers.study_config import digest

CHECKPOINT = "checkpoint"
LINEAR_LAYERS = ("q_proj", "k_proj", "v_proj", "o_proj", "gate_proj", "up_proj", "down_proj")
OnStep = Callable[[int, int, float], None]
"""(steps done, total steps, this step's loss)."""


class LoraSettings(BaseModel):
    """The adapter and its training. Defaults: rank 16 on every linear layer, one example per step."""

    rank: int = Field(default=16, ge=1)
    alpha: int = Field(default=32, ge=1)
    dropout: float = Field(default=0.05, ge=0, lt=1)
    learning_rate: float = Field(default=1e-4, gt=0)
    steps: int = Field(default=100, ge=1)
    accumulate: int = Field(default=1, ge=1, description="Examples per optimiser step (gradient accumulation).")
    max_tokens: int = Field(
        default=2048, ge=16, description="Longer examples are left out, not cut (a math fusor example over five "
        "0.5B chains of thought runs ~900-1,100 tokens)."
    )  # fmt: skip
    checkpoint_every: int = Field(default=5, ge=1)
    seed: int = 0
    target_modules: list[str] = Field(default_factory=lambda: list(LINEAR_LAYERS))


class TrainState(BaseModel):
    """Where a training run is: saved with every checkpoint."""

    settings_digest: str
    data_digest: str
    step: int = 0
    losses: list[float] = Field(default_factory=list)
    seconds: float = Field(default=0.0, description="Training time spent so far, over every resumed run.")


def schedule(examples: int, step: int, accumulate: int, seed: int) -> list[int]:
    """The example indices of optimiser step `step` (0-based): seeded epochs, each a fresh permutation."""
    result = []
    for i in range(step * accumulate, (step + 1) * accumulate):
        epoch, position = divmod(i, examples)
        order = list(range(examples))
        random.Random(f"{seed}:{epoch}").shuffle(order)
        result.append(order[position])
    return result


def data_digest(data: Sequence[SftTokens]) -> str:
    return digest([[e.input_ids, e.labels] for e in data], 16)


def _save(model: Any, optimizer: Any, state: TrainState, out_dir: Path) -> None:
    import torch
    from peft import get_peft_model_state_dict

    final, partial = out_dir / CHECKPOINT, out_dir / f"{CHECKPOINT}.partial"
    shutil.rmtree(partial, ignore_errors=True)
    partial.mkdir(parents=True)
    torch.save(get_peft_model_state_dict(model), partial / "adapter.pt")
    torch.save(optimizer.state_dict(), partial / "optimizer.pt")
    (partial / "state.json").write_text(state.model_dump_json(indent=2))
    shutil.rmtree(final, ignore_errors=True)
    partial.rename(final)


def _resume(model: Any, optimizer: Any, fresh: TrainState, out_dir: Path) -> TrainState:
    """The stored state when `out_dir` holds a checkpoint of the same settings and data (its weights loaded);
    `fresh` when there is none. A checkpoint of other settings or data is refused, naming the fix."""
    import torch
    from peft import set_peft_model_state_dict

    folder = out_dir / CHECKPOINT
    if not (folder / "state.json").is_file():
        return fresh
    stored = TrainState.model_validate_json((folder / "state.json").read_text())
    if (stored.settings_digest, stored.data_digest) != (fresh.settings_digest, fresh.data_digest):
        raise ConfigurationError(
            f"{folder} holds a training run of other settings or data; continue it with its own, or give another "
            "output folder (or delete that checkpoint) to start anew."
        )
    set_peft_model_state_dict(model, torch.load(folder / "adapter.pt", weights_only=True))
    optimizer.load_state_dict(torch.load(folder / "optimizer.pt", weights_only=True))
    return stored


def train_lora(
    model: Any, data: Sequence[SftTokens], settings: LoraSettings, out_dir: Path, on_step: OnStep | None = None
) -> tuple[Any, TrainState]:
    """The peft model after `settings.steps` optimiser steps (continuing a checkpoint in `out_dir`), and its state.

    `model` is a transformers causal LM (float32, CPU); only the LoRA weights train. Torch uses
    `FUSION_DSPY_LOCAL_THREADS` threads as the embedded server does, so a training run beside a model job with 1
    each does not oversubscribe the cores (torch would otherwise take them all).
    """
    import torch
    from peft import LoraConfig, get_peft_model

    if not data:
        raise ConfigurationError("no training examples: no fused answer passed the metric (or all were too long).")
    torch.set_num_threads(local_threads())
    torch.manual_seed(settings.seed)
    config = LoraConfig(
        r=settings.rank, lora_alpha=settings.alpha, lora_dropout=settings.dropout,
        target_modules=settings.target_modules, bias="none", task_type="CAUSAL_LM",
    )  # fmt: skip
    peft_model = get_peft_model(model, config)
    trainable = [p for p in peft_model.parameters() if p.requires_grad]
    optimizer = torch.optim.AdamW(trainable, lr=settings.learning_rate)
    fresh = TrainState(
        settings_digest=digest(settings.model_dump(exclude={"checkpoint_every"}), 16), data_digest=data_digest(data)
    )
    state = _resume(peft_model, optimizer, fresh, out_dir)
    peft_model.train()
    while state.step < settings.steps:
        started = time.monotonic()
        optimizer.zero_grad()
        total = 0.0
        for index in schedule(len(data), state.step, settings.accumulate, settings.seed):
            example = data[index]
            ids = torch.tensor([example.input_ids])
            loss = peft_model(input_ids=ids, labels=torch.tensor([example.labels])).loss / settings.accumulate
            loss.backward()
            total += float(loss.detach())
        optimizer.step()
        state.step += 1
        state.losses.append(total)
        state.seconds += time.monotonic() - started
        if state.step % settings.checkpoint_every == 0 or state.step == settings.steps:
            _save(peft_model, optimizer, state, out_dir)
        if on_step is not None:
            on_step(state.step, settings.steps, total)
    peft_model.eval()
    (out_dir / "train_state.json").write_text(state.model_dump_json(indent=2))
    return peft_model, state


def adapter_state(peft_model: Any) -> dict[str, Any]:
    """The trained LoRA weights (name → tensor), as `lora_gguf.write_lora_gguf` takes them."""
    from peft import get_peft_model_state_dict

    return dict(get_peft_model_state_dict(peft_model))
