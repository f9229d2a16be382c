"""Speculative decoding for the embedded llama.cpp server.

Draft tokens are proposed cheaply — looked up in the context (the n-gram types) or written by a smaller model of
the same tokenizer family (`draft_model`) — and the served model checks them all in one batch. Greedy output is
therefore token-identical, and sampling keeps its distribution. A fused answer mostly copies spans of the candidates
in its prompt, which is the case n-gram lookup is made for. Off by default until `benchmarks/speculative.py` has
shown a type that helps on both real tasks.
"""

from __future__ import annotations

import os
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from fusion_dspy.errors import ConfigurationError

NgramType = Literal["none", "ngram-simple", "ngram-map-k", "ngram-map-k4v", "ngram-mod", "ngram-cache"]
NGRAM_TYPES: tuple[NgramType, ...] = ("ngram-simple", "ngram-map-k", "ngram-map-k4v", "ngram-mod", "ngram-cache")

ENV = {
    "type": "FUSION_DSPY_LOCAL_SPEC",
    "ngram_n": "FUSION_DSPY_LOCAL_SPEC_N",
    "ngram_m": "FUSION_DSPY_LOCAL_SPEC_M",
    "ngram_min_hits": "FUSION_DSPY_LOCAL_SPEC_MIN_HITS",
    "draft_model": "FUSION_DSPY_LOCAL_DRAFT",
    "draft_max": "FUSION_DSPY_LOCAL_DRAFT_MAX",
    "draft_min": "FUSION_DSPY_LOCAL_DRAFT_MIN",
    "draft_p_min": "FUSION_DSPY_LOCAL_DRAFT_P_MIN",
}


class SpeculativeSettings(BaseModel):
    """Which drafts the server verifies. None leaves a parameter at llama.cpp's default."""

    model_config = ConfigDict(extra="forbid")  # a misspelt option is an error, not silently ignored

    type: NgramType = Field(default="none", description="Draft from the context by n-gram lookup (no extra model).")
    ngram_n: int | None = Field(
        default=None, ge=1, description="Lookup length: size_n (ngram-simple, ngram-map-*), n_match (ngram-mod)."
    )
    ngram_m: int | None = Field(
        default=None, ge=1, description="Longest draft: size_m (ngram-simple, ngram-map-*), n_max (ngram-mod)."
    )
    ngram_min_hits: int | None = Field(default=None, ge=1, description="Times a key must recur (ngram-map-*).")
    draft_model: str | None = Field(
        default=None,
        description="An embedded model name (e.g. 'local-small') that drafts for the others; its own server runs "
        "without it, since a model cannot draft for itself.",
    )
    draft_max: int | None = Field(default=None, ge=1, description="Most tokens the draft model proposes at once.")
    draft_min: int | None = Field(default=None, ge=0, description="Fewest tokens worth a draft-model proposal.")
    draft_p_min: float | None = Field(default=None, ge=0.0, le=1.0, description="Draft model's least confidence.")

    @classmethod
    def from_env(cls) -> SpeculativeSettings:
        values: dict[str, Any] = {field: os.environ[name] for field, name in ENV.items() if os.environ.get(name)}
        try:
            return cls(**values)
        except ValidationError as exc:
            wrong = ", ".join(f"{ENV[str(e['loc'][0])]}={values.get(str(e['loc'][0]))!r}" for e in exc.errors())
            kinds = ", ".join(("none", *NGRAM_TYPES))
            raise ConfigurationError(
                f"bad speculative-decoding setting {wrong}; {ENV['type']} is one of {kinds}, the sizes are "
                f"integers ≥ 1, {ENV['draft_p_min']} is 0–1."
            ) from exc

    def drafter_for(self, model: str) -> str | None:
        """The embedded model drafting for `model`'s server, if any."""
        return self.draft_model if self.draft_model and self.draft_model != model else None

    def label(self, model: str) -> str:
        """Short name of what `model`'s server does, for reports: 'none', 'ngram-mod', 'draft:local-small', ..."""
        parts: list[str] = [self.type] if self.type != "none" else []
        if drafter := self.drafter_for(model):
            parts.append(f"draft:{drafter}")
        return "+".join(parts) or "none"

    def apply(self, params: Any, model: str, draft_path: str | None) -> None:
        """Set `params.speculative` (an xllamacpp `CommonParams`) for `model`'s server; `draft_path` is the
        drafting model's GGUF file when `drafter_for(model)` names one."""
        import xllamacpp

        kinds = xllamacpp.common_speculative_type
        spec = params.speculative
        types = []
        if self.type != "none":
            types.append(getattr(kinds, f"COMMON_SPECULATIVE_TYPE_{self.type.upper().replace('-', '_')}"))
            for table in (spec.ngram_simple, spec.ngram_map_k, spec.ngram_map_k4v):
                _set(table, size_n=self.ngram_n, size_m=self.ngram_m, min_hits=self.ngram_min_hits)
            _set(spec.ngram_mod, n_match=self.ngram_n, n_max=self.ngram_m)
            if self.ngram_m is not None and spec.ngram_mod.n_min > self.ngram_m:
                spec.ngram_mod.n_min = self.ngram_m  # llama.cpp's n_min (48) above a shorter n_max drafts nothing
        if self.drafter_for(model):
            if draft_path is None:
                raise ConfigurationError(f"the draft model {self.draft_model!r} needs its weights' path.")
            types.append(kinds.COMMON_SPECULATIVE_TYPE_DRAFT_SIMPLE)
            spec.draft.mparams.path = draft_path
            _set(spec.draft, n_max=self.draft_max, n_min=self.draft_min, p_min=self.draft_p_min)
            for cpu in (spec.draft.cpuparams, spec.draft.cpuparams_batch):
                cpu.n_threads = params.cpuparams.n_threads
        spec.types = types or [kinds.COMMON_SPECULATIVE_TYPE_NONE]


def _set(target: Any, **values: Any) -> None:
    for name, value in values.items():
        if value is not None:
            setattr(target, name, value)
