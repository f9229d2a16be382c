"""Token accounting that survives across candidates, aggregators and whole runs."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from pydantic import BaseModel, Field


class TokenUsage(BaseModel):
    """Tokens and LM calls spent on one piece of work (cache hits cost nothing)."""

    prompt_tokens: int = 0
    completion_tokens: int = 0
    lm_calls: int = 0
    cached_prompt_tokens: int = Field(default=0, description="Prompt tokens the server served from its prefix cache.")

    @property
    def total_tokens(self) -> int:
        return self.prompt_tokens + self.completion_tokens

    def __add__(self, other: TokenUsage) -> TokenUsage:
        return TokenUsage(
            prompt_tokens=self.prompt_tokens + other.prompt_tokens,
            completion_tokens=self.completion_tokens + other.completion_tokens,
            lm_calls=self.lm_calls + other.lm_calls,
            cached_prompt_tokens=self.cached_prompt_tokens + other.cached_prompt_tokens,
        )

    @classmethod
    def sum(cls, usages: Iterable[TokenUsage]) -> TokenUsage:
        total = cls()
        for usage in usages:
            total += usage
        return total

    @classmethod
    def from_tracker(cls, usage_data: dict[str, list[dict[str, Any]]]) -> TokenUsage:
        """Sum the raw entries of a `dspy.track_usage()` tracker, one entry per LM call."""
        return cls.sum(
            cls(
                prompt_tokens=int(entry.get("prompt_tokens") or 0),
                completion_tokens=int(entry.get("completion_tokens") or 0),
                lm_calls=1,
                cached_prompt_tokens=_cached(entry),
            )
            for entries in usage_data.values()
            for entry in entries
        )


def _cached(entry: dict[str, Any]) -> int:
    """Cached prompt tokens as OpenAI-compatible servers report them (llama.cpp, vLLM, OpenAI)."""
    details = entry.get("prompt_tokens_details")
    return int((details.get("cached_tokens") if isinstance(details, dict) else None) or 0)


class RunUsage(BaseModel):
    """Where the tokens and seconds of one N-candidate call went."""

    candidates: TokenUsage = TokenUsage()
    aggregation: TokenUsage = TokenUsage()
    sampling_s: float = 0.0
    aggregation_s: float = 0.0

    @property
    def total(self) -> TokenUsage:
        return self.candidates + self.aggregation
