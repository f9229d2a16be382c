"""One sample from each of several models (teachers), concurrently."""

from __future__ import annotations

import os
import threading
from collections.abc import Awaitable, Callable
from functools import partial
from typing import Any, ClassVar

import dspy

from fusion_dspy._async import ProcessSemaphore
from fusion_dspy.candidates import Candidate, CandidatePool
from fusion_dspy.errors import ConfigurationError
from fusion_dspy.sources._gather import Draw, check_policy, timed_pool
from fusion_dspy.sources._sampling import caller_rollout, first_rollout, model_name, sample_candidate
from fusion_dspy.sources.base import CandidateSource


class TeacherPool(CandidateSource):
    """Ask every teacher once (or `samples_per_teacher` times) — the paper's synthetic-data setting.

    Teachers are litellm model strings, `local` / `local-small`, or LM objects; strings are resolved
    on first use so building a pool never starts a model. Each teacher answers even for predictors that
    pin their own LM (the teacher is the point of the pool). `per_teacher_concurrency=k` allows at most k
    calls in flight to each teacher (model + API base) in this process, whichever pool, copy, thread or
    event loop makes them. With `k` / `deadline_s` a slow teacher does not hold the answer hostage: it is
    cut (see `CandidateSource`).
    """

    tunable: ClassVar[tuple[str, ...]] = ("samples_per_teacher", "temperature", "per_teacher_concurrency", "timeout_s")

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
        k: int | None = None,
        deadline_s: float | None = None,
        max_in_flight: int | None = None,
    ) -> None:
        super().__init__(module, concurrency, k=k, deadline_s=deadline_s, max_in_flight=max_in_flight)
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
        check_policy(k, deadline_s, len(self.teachers) * samples_per_teacher)

    async def agenerate(self, inputs: dict[str, Any]) -> CandidatePool:
        from fusion_dspy.lm.resolve import resolve_lm

        module = self._bound_module()
        lms = [resolve_lm(t) for t in self.teachers]
        caller = caller_rollout(module, None)
        several = self.samples_per_teacher > 1
        draws = []
        for t, base in enumerate(lms):
            for j in range(self.samples_per_teacher):
                overrides: dict[str, Any] = {}
                if several or caller is not None:
                    overrides["rollout_id"] = first_rollout(0, caller) + j
                if self.temperature is not None:
                    overrides["temperature"] = self.temperature
                index = t * self.samples_per_teacher + j
                temperature = overrides.get("temperature", base.kwargs.get("temperature"))
                call = partial(
                    sample_candidate,
                    module,
                    inputs,
                    lm=base.copy(**overrides) if overrides else base,
                    index=index,
                    rollout_id=overrides.get("rollout_id"),
                    temperature=temperature,
                    source=model_name(base),
                    timeout_s=self.timeout_s,
                    replace_pinned=True,
                )
                rollout = overrides.get("rollout_id")
                draws.append(Draw(self._limited(base, call), index, model_name(base), rollout, temperature))
        return await timed_pool(self._admit(draws), self.concurrency, self.k, self.deadline_s, self._stop(inputs))

    def _limited(self, teacher: Any, factory: Callable[[], Awaitable[Candidate]]) -> Callable[[], Awaitable[Candidate]]:
        """The factory, holding one of the teacher's process-wide slots."""
        if self.per_teacher_concurrency is None:
            return factory
        gate = teacher_gate(teacher, self.per_teacher_concurrency)

        async def limited() -> Candidate:
            async with gate:
                return await factory()

        return limited


_GATES: dict[tuple[str, int], ProcessSemaphore] = {}
_GATES_LOCK = threading.Lock()


def teacher_gate(teacher: Any, limit: int) -> ProcessSemaphore:
    """The process-wide slots of one teacher (its model and API base) at `limit` calls in flight (a forked child
    gets its own)."""
    key = (f"{os.getpid()}|{model_name(teacher)}|{getattr(teacher, 'kwargs', {}).get('api_base') or ''}", limit)
    with _GATES_LOCK:
        return _GATES.setdefault(key, ProcessSemaphore(limit))
