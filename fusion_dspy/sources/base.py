"""Where candidates come from: the extension point behind FusionOfN and BestOfN."""

from __future__ import annotations

import copy
from abc import abstractmethod
from collections.abc import Awaitable, Callable
from typing import Any

import dspy

from fusion_dspy._abc import ABCModuleMeta
from fusion_dspy._async import run_sync
from fusion_dspy.candidates import Candidate, CandidatePool
from fusion_dspy.errors import ConfigurationError

StopWhen = Callable[[dict[str, Any], Candidate], Awaitable[bool]]


class CandidateSource(dspy.Module, metaclass=ABCModuleMeta):
    """Produces a pool of candidate predictions of one DSPy program for one input.

    A source is configured without a program and bound to one with `bind`, so the same configuration
    (say, a list of teacher models) can serve several programs.
    """

    stop_when: StopWhen | None = None
    """Checked on each successful candidate as it arrives, `(inputs, candidate) -> bool`; once it holds, the
    calls still running are cancelled (BestOfN's `threshold` sets it on its own bound copy)."""

    def __init__(self, module: dspy.Module | None = None, concurrency: int | None = None) -> None:
        super().__init__()
        if concurrency is not None and concurrency < 1:
            raise ConfigurationError(f"concurrency must be ≥ 1 or None (unbounded); got {concurrency}.")
        self.module = module
        self.concurrency = concurrency

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

    def _bound_module(self) -> dspy.Module:
        if self.module is None:
            raise ConfigurationError(
                f"{type(self).__name__} has no program to sample; use source.bind(program) "
                "or pass it to FusionOfN / BestOfN."
            )
        return self.module
