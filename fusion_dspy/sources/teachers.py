"""One sample from each of several models (teachers), concurrently."""

from __future__ import annotations

from functools import partial
from typing import Any

import dspy

from fusion_dspy.candidates import CandidatePool
from fusion_dspy.errors import ConfigurationError
from fusion_dspy.sources._sampling import model_name, sample_candidate, timed_pool
from fusion_dspy.sources.base import CandidateSource


class TeacherPool(CandidateSource):
    """Ask every teacher once (or `samples_per_teacher` times) — the paper's synthetic-data setting.

    Teachers are litellm model strings, `local` / `local-small`, or LM objects; strings are resolved
    on first use so building a pool never starts a model.
    """

    def __init__(
        self,
        teachers: list[str | dspy.BaseLM],
        *,
        module: dspy.Module | None = None,
        samples_per_teacher: int = 1,
        temperature: float | None = None,
        concurrency: int | None = None,
        timeout_s: float | None = None,
    ) -> None:
        super().__init__(module, concurrency)
        if not teachers:
            raise ConfigurationError(
                "TeacherPool needs at least one teacher, e.g. TeacherPool(['local', 'openai/gpt-4o-mini'])."
            )
        if samples_per_teacher < 1:
            raise ConfigurationError(f"samples_per_teacher must be ≥ 1; got {samples_per_teacher}.")
        self.teachers = list(teachers)
        self.samples_per_teacher = samples_per_teacher
        self.temperature = temperature
        self.timeout_s = timeout_s

    @property
    def size(self) -> int:
        return len(self.teachers) * self.samples_per_teacher

    async def agenerate(self, inputs: dict[str, Any]) -> CandidatePool:
        from fusion_dspy.lm.resolve import resolve_lm

        module = self._bound_module()
        lms = [resolve_lm(t) for t in self.teachers]
        factories = []
        for t, base in enumerate(lms):
            for k in range(self.samples_per_teacher):
                overrides: dict[str, Any] = {"rollout_id": k} if self.samples_per_teacher > 1 else {}
                if self.temperature is not None:
                    overrides["temperature"] = self.temperature
                factories.append(
                    partial(
                        sample_candidate,
                        module,
                        inputs,
                        lm=base.copy(**overrides) if overrides else base,
                        index=t * self.samples_per_teacher + k,
                        rollout_id=overrides.get("rollout_id"),
                        temperature=overrides.get("temperature", base.kwargs.get("temperature")),
                        source=model_name(base),
                        timeout_s=self.timeout_s,
                    )
                )
        return await timed_pool(factories, self.concurrency)
