"""Model time per item, from the tokens each call processed and each model's measured speed.

A call's time on this CPU is its new prompt tokens at the model's prompt-processing speed plus its completion
tokens at its generation speed (prompt tokens served from the server's prefix cache cost nothing). The speeds are
single-request figures measured on an idle machine (`EmbeddedModel`, `benchmarks/local_model_speed.py`), so a
cell's cost does not depend on how loaded the machine was while its pools were made, and cells made on different
days compare fairly. The tokens are exact and stored; a model without measured speeds has tokens but no seconds.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping

from pydantic import BaseModel, Field

from fusion_dspy.candidates import Candidate
from fusion_dspy.lm.names import is_tuned, tuned_parts
from fusion_dspy.lm.weights import EMBEDDED_MODELS
from fusion_dspy.usage import TokenUsage

MEASURE = "python benchmarks/local_model_speed.py"


SECONDS_PER_FUSOR_CALL = {"translation": 30.0, "math": 95.0}
"""A fusor call of the embedded 1.5B model on 2 idle cores, measured (results/realsize)."""


def fusor_call_seconds(task: str, fusor: str) -> float:
    """Roughly one fusor call of `task` by `fusor` on 2 idle cores, for plans made before any call: other tasks
    count as translation, other embedded models (a tuned one: its base) scale by their generation speed, unknown
    models count as the 1.5B."""
    base = tuned_parts(fusor)[0] if is_tuned(fusor) else fusor
    reference, model = EMBEDDED_MODELS["local"], EMBEDDED_MODELS.get(base)
    speed = (model.tokens_per_s or 0.0) if model else 0.0
    scale = (reference.tokens_per_s or 1.0) / speed if speed else 1.0
    return SECONDS_PER_FUSOR_CALL.get(task, SECONDS_PER_FUSOR_CALL["translation"]) * scale


class ModelSpeed(BaseModel):
    """Single-request speeds of one model on this machine, in tokens per second."""

    prompt: float
    generation: float


Speeds = Mapping[str, ModelSpeed]
"""Model name (as pools record it, `openai/<name>` for embedded models) → its speeds."""


ADAPTER_SLOWDOWN = 1.04
"""Time of a call served with a LoRA adapter against the base model alone: rank 16 on every linear layer of the
0.5B model, served by llama.cpp beside its quantised base, cost 4% more in prompt reading and 4% in decoding
(`benchmarks/lora_step.py`, the same server in alternating rounds, one thread, load 3.3-4.4; 2026-12-08)."""


def speed_of(speeds: Speeds, model: str) -> ModelSpeed | None:
    """A model's speeds; a tuned fusor (`openai/local-small+adapter-1a2b3c4d`, `fusion_dspy.lm.lora.tuned_lm`)
    runs at its base model's, slowed by serving its adapter (`ADAPTER_SLOWDOWN`, measured)."""
    if model in speeds:
        return speeds[model]
    base, tuned = model.split("+", 1)[0], "+" in model
    if not tuned or base not in speeds:
        return None
    own = speeds[base]
    return ModelSpeed(prompt=own.prompt / ADAPTER_SLOWDOWN, generation=own.generation / ADAPTER_SLOWDOWN)


def embedded_speeds() -> dict[str, ModelSpeed]:
    """The measured speeds of the embedded models (those with both speeds measured)."""
    return {
        f"openai/{name}": ModelSpeed(prompt=spec.prompt_tokens_per_s, generation=spec.tokens_per_s)
        for name, spec in EMBEDDED_MODELS.items()
        if spec.prompt_tokens_per_s and spec.tokens_per_s
    }


class ItemCost(BaseModel):
    """What one answer cost: the tokens of each model's calls, candidates and fusor apart (exact, as stored)."""

    candidates: dict[str, TokenUsage] = Field(default_factory=dict, description="model → its candidates' tokens")
    fusor: dict[str, TokenUsage] = Field(default_factory=dict, description="model → the fusor's tokens")

    @property
    def tokens(self) -> int:
        return sum(u.total_tokens for u in [*self.candidates.values(), *self.fusor.values()])

    def seconds(self, speeds: Speeds, part: str = "all") -> float | None:
        """Model seconds of `part` (all, candidates, fusor) at these speeds; None when a model has none."""
        usages = {"all": [self.candidates, self.fusor], "candidates": [self.candidates], "fusor": [self.fusor]}[part]
        total = 0.0
        for by_model in usages:
            for model, usage in by_model.items():
                speed = speed_of(speeds, model)
                if speed is None:
                    return None
                new_prompt = max(0, usage.prompt_tokens - usage.cached_prompt_tokens)
                total += new_prompt / speed.prompt + usage.completion_tokens / speed.generation
        return total


def _add(by_model: dict[str, TokenUsage], model: str, usage: TokenUsage) -> None:
    by_model[model] = by_model.get(model, TokenUsage()) + usage


def item_cost(
    candidates: Iterable[Candidate], fusor: str | None = None, fusor_usage: TokenUsage | None = None
) -> ItemCost:
    cost = ItemCost()
    for candidate in candidates:
        _add(cost.candidates, candidate.source, candidate.usage)
    if fusor is not None and fusor_usage is not None and fusor_usage.total_tokens:
        _add(cost.fusor, fusor, fusor_usage)
    return cost


def unmeasured(costs: Iterable[ItemCost], speeds: Speeds) -> list[str]:
    """The models these costs involve that have no measured speeds."""
    models = {m for cost in costs for m in [*cost.candidates, *cost.fusor]}
    return sorted(m for m in models if speed_of(speeds, m) is None)
