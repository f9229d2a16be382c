"""One sample from each of several models (teachers), concurrently."""

from __future__ import annotations

import asyncio
import weakref
from collections.abc import Awaitable, Callable
from functools import partial
from typing import Any

import dspy

from fusion_dspy.candidates import Candidate, CandidatePool
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
        per_teacher_concurrency: int | None = None,
        timeout_s: float | None = None,
    ) -> None:
        super().__init__(module, concurrency)
        if not teachers:
            raise ConfigurationError(
                "TeacherPool needs at least one teacher, e.g. TeacherPool(['local', 'openai/gpt-4o-mini'])."
            )
        if samples_per_teacher < 1:
            raise ConfigurationError(f"samples_per_teacher must be ≥ 1; got {samples_per_teacher}.")
        if per_teacher_concurrency is not None and per_teacher_concurrency < 1:
            raise ConfigurationError(f"per_teacher_concurrency must be ≥ 1 or None; got {per_teacher_concurrency}.")
        self.per_teacher_concurrency = per_teacher_concurrency
        self.teachers = list(teachers)
        self.samples_per_teacher = samples_per_teacher
        self.temperature = temperature
        self.timeout_s = timeout_s

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
                    self._limited(
                        t,
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
                        ),
                    )
                )
        return await timed_pool(factories, self.concurrency)

    def _limited(self, teacher: int, factory: Callable[[], Awaitable[Candidate]]) -> Callable[[], Awaitable[Candidate]]:
        """The factory, holding one of the teacher's slots (shared by every pool this event loop samples)."""
        if self.per_teacher_concurrency is None:
            return factory
        limit = self.per_teacher_concurrency

        async def limited() -> Candidate:
            gates = _GATES.setdefault(asyncio.get_running_loop(), {})
            gate = gates.setdefault((id(self), teacher), asyncio.Semaphore(limit))
            async with gate:
                return await factory()

        return limited


_GATES: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, dict[tuple[int, int], asyncio.Semaphore]] = (
    weakref.WeakKeyDictionary()
)
