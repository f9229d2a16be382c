"""What one synthetic-data job builds: prompts in, one sample per teacher, fused (and best-of-N) answers out."""

from __future__ import annotations

from pathlib import Path

from pydantic import BaseModel, Field

from fusion_dspy.errors import ConfigurationError
from fusion_dspy.select.registry import SCORERS


class SynthConfig(BaseModel):
    """One `fusion-dspy synth` job. Rerunning the same config over the same `out_dir` resumes it."""

    prompts: str = Field(description="A local JSONL/CSV/Parquet/text file, or a Hugging Face hub dataset id.")
    out_dir: Path
    teachers: list[str] = Field(default_factory=lambda: ["local"])
    fusor: str | None = Field(default=None, description="Fusor model; default: the first teacher.")
    bon: str | None = Field(default=None, description="Also keep a best-of-N pick with this scorer.")
    api_base: str | None = Field(default=None, description="OpenAI-compatible server for every non-embedded model.")
    column: str = "prompt"
    split: str = "train"
    limit: int | None = None
    samples_per_teacher: int = 1
    concurrency: int = 16
    per_teacher_concurrency: int | None = 4
    temperature: float | None = None
    max_tokens: int | None = None
    retries: int = 3
    timeout_s: float | None = 300.0

    def check(self) -> None:
        """Raise a ConfigurationError naming the fix for the first invalid setting."""
        if not self.teachers:
            raise ConfigurationError("no teachers: pass --teachers M1,M2 (or one model with --samples-per-teacher 5).")
        if self.bon is not None and self.bon not in SCORERS:
            raise ConfigurationError(f"unknown --bon scorer {self.bon!r}; choose one of {', '.join(SCORERS)}.")
        for name, value in [("concurrency", self.concurrency), ("samples-per-teacher", self.samples_per_teacher)]:
            if value < 1:
                raise ConfigurationError(f"--{name} must be ≥ 1; got {value}.")
        if self.limit is not None and self.limit < 1:
            raise ConfigurationError(f"--limit must be ≥ 1 (or omitted for every prompt); got {self.limit}.")
        if self.retries < 0:
            raise ConfigurationError(f"--retries must be ≥ 0; got {self.retries}.")

    @property
    def fusor_model(self) -> str:
        return self.fusor or self.teachers[0]
