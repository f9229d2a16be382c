"""Where candidates come from: the extension point behind FusionOfN and BestOfN."""

from __future__ import annotations

import copy
from abc import abstractmethod
from collections.abc import Awaitable, Callable
from dataclasses import replace
from functools import partial
from typing import Any, ClassVar

import dspy

from fusion_dspy._abc import ABCModuleMeta
from fusion_dspy._async import run_sync
from fusion_dspy.candidates import Candidate, CandidatePool
from fusion_dspy.errors import ConfigurationError
from fusion_dspy.sources._gather import Draw, GateKey, shared_slot

StopWhen = Callable[[dict[str, Any], Candidate], Awaitable[bool]]


class CandidateSource(dspy.Module, metaclass=ABCModuleMeta):
    """Produces a pool of candidate predictions of one DSPy program for one input.

    A source is configured without a program and bound to one with `bind`, so the same configuration
    (say, a list of teacher models) can serve several programs.

    First-k / deadline: with `k`, the pool is complete once `k` candidates have answered; with `deadline_s`,
    once that many seconds have passed and at least one has (see `fusion_dspy.arrival`). Calls still running
    then are cancelled and kept on the pool as cut (`pool.cut`, `pool.early_stop`); aggregators never see them.
    Both default to None: wait for every call. A program without `aforward` runs in a thread, which cannot be
    cancelled: its cut call is dropped from the pool but finishes in the background (give it an `aforward`).

    `concurrency` bounds the calls of one pool; `max_in_flight` bounds the calls of every pool this source
    (and its bound copies) samples in this process. Set it near the server's slots for big batches: calls
    beyond it wait before they are even prepared, so the first requests go out at once instead of after
    every call of the batch has been formatted.
    """

    tunable: ClassVar[tuple[str, ...]] = ("concurrency", "k", "deadline_s", "max_in_flight")
    """Attributes saved with the program's state (`fusion_dspy.state`)."""

    stop_when: StopWhen | None = None
    """Checked on each successful candidate as it arrives, `(inputs, candidate) -> bool`; once it holds, the
    calls still running are cancelled and recorded as cut (BestOfN's `threshold` sets it on its own bound copy)."""

    def __init__(
        self,
        module: dspy.Module | None = None,
        concurrency: int | None = None,
        *,
        k: int | None = None,
        deadline_s: float | None = None,
        max_in_flight: int | None = None,
    ) -> None:
        super().__init__()
        for name, value in [("concurrency", concurrency), ("max_in_flight", max_in_flight)]:
            if value is not None and value < 1:
                raise ConfigurationError(f"{name} must be ≥ 1 or None (unbounded); got {value}.")
        self.module = module
        self.concurrency = concurrency
        self.k = k
        self.deadline_s = deadline_s
        self.max_in_flight = max_in_flight
        self._gate_key = GateKey()  # shared by bound copies, so they share the in-flight bound

    def bind(self, module: dspy.Module) -> CandidateSource:
        """A copy of this source that samples `module`."""
        bound = copy.copy(self)
        bound.module = module
        return bound

    @abstractmethod
    async def agenerate(self, inputs: dict[str, Any]) -> CandidatePool:
        """Sample the pool concurrently; failed calls are kept as candidates with `error` set."""

    def generate(self, inputs: dict[str, Any]) -> CandidatePool:
        return run_sync(self.agenerate(inputs))

    def _stop(self, inputs: dict[str, Any]) -> Callable[[Candidate], Awaitable[bool]] | None:
        rule = self.stop_when
        if rule is None:
            return None

        async def stop(candidate: Candidate) -> bool:
            return await rule(inputs, candidate)

        return stop

    def _admit(self, draws: list[Draw]) -> list[Draw]:
        """The draws, each holding a slot of this source's process-wide `max_in_flight` bound while it runs."""
        if self.max_in_flight is None:
            return draws
        limit, key = self.max_in_flight, self._gate_key
        return [replace(d, call=partial(shared_slot, key, limit, d.call)) for d in draws]

    def _bound_module(self) -> dspy.Module:
        if self.module is None:
            raise ConfigurationError(
                f"{type(self).__name__} has no program to sample; use source.bind(program) "
                "or pass it to FusionOfN / BestOfN."
            )
        return self.module
