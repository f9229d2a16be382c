"""Model time per item, from the tokens each call processed and each embedded model's measured speed.

A call's time on this CPU is its new prompt tokens at the model's prompt-processing speed plus its completion
tokens at its generation speed (prompt tokens served from the server's prefix cache cost nothing). The speeds are
single-request figures measured on an idle machine (`EmbeddedModel`), so the cost of a cell does not depend on how
loaded the machine was while its pools were made, and cells made on different days compare fairly.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping

from pydantic import BaseModel

from fusion_dspy.candidates import Candidate
from fusion_dspy.errors import ConfigurationError
from fusion_dspy.lm.weights import EMBEDDED_MODELS
from fusion_dspy.usage import TokenUsage


class ModelSpeed(BaseModel):
    """Single-request speeds of one model on this machine, in tokens per second."""

    prompt: float
    generation: float


Speeds = Mapping[str, ModelSpeed]
"""Model name (as pools record it, `openai/<name>` for embedded models) → its speeds."""


def embedded_speeds() -> dict[str, ModelSpeed]:
    """The measured speeds of the embedded models (those with both speeds measured)."""
    return {
        f"openai/{name}": ModelSpeed(prompt=spec.prompt_tokens_per_s, generation=spec.tokens_per_s)
        for name, spec in EMBEDDED_MODELS.items()
        if spec.prompt_tokens_per_s and spec.tokens_per_s
    }


class ItemCost(BaseModel):
    """What one answer cost: model seconds and tokens, candidates and fusor apart."""

    candidate_s: float = 0.0
    fusor_s: float = 0.0
    tokens: int = 0

    @property
    def seconds(self) -> float:
        return self.candidate_s + self.fusor_s

    def __add__(self, other: ItemCost) -> ItemCost:
        return ItemCost(candidate_s=self.candidate_s + other.candidate_s, fusor_s=self.fusor_s + other.fusor_s,
                        tokens=self.tokens + other.tokens)  # fmt: skip


def model_seconds(model: str, usage: TokenUsage, speeds: Speeds) -> float:
    """Seconds `model` needs for these tokens at its measured speeds."""
    speed = speeds.get(model)
    if speed is None:
        raise ConfigurationError(
            f"no measured speed for model {model!r}, so its cost is unknown; measured: {', '.join(speeds) or 'none'} "
            "(benchmarks/local_model_speed.py measures the embedded models)."
        )
    new_prompt = max(0, usage.prompt_tokens - usage.cached_prompt_tokens)
    return new_prompt / speed.prompt + usage.completion_tokens / speed.generation


def candidates_cost(candidates: Iterable[Candidate], speeds: Speeds) -> ItemCost:
    cost = ItemCost()
    for candidate in candidates:
        cost += ItemCost(candidate_s=model_seconds(candidate.source, candidate.usage, speeds),
                         tokens=candidate.usage.total_tokens)  # fmt: skip
    return cost


def fusor_cost(fusor: str, usage: TokenUsage, speeds: Speeds) -> ItemCost:
    return ItemCost(fusor_s=model_seconds(fusor, usage, speeds), tokens=usage.total_tokens)
