"""N samples of one program from one model, concurrently, each with its own rollout id."""

from __future__ import annotations

from functools import partial
from typing import Any

import dspy

from fusion_dspy.candidates import CandidatePool
from fusion_dspy.errors import ConfigurationError
from fusion_dspy.sources._sampling import caller_rollout, first_rollout, sample_candidate, timed_pool
from fusion_dspy.sources.base import CandidateSource


class RepeatSampler(CandidateSource):
    """Sample the bound program `n` times at `temperature`.

    Sample i uses rollout id `seed * 10_000 + i`, so samples are distinct in the DSPy cache and the same
    seed reproduces the same pool from a warm cache. A caller that asks for a fresh rollout (dspy.BestOfN,
    dspy.Refine, BootstrapFewShot rounds) moves the ids into a block of their own: a new pool, still reproducible.

    The LM: a predictor's own (`set_lm`, `predictor.lm`) wins, as everywhere in DSPy; then `lm`; then the
    LM in context (`dspy.context` / `dspy.configure`, or `FUSION_DSPY_MODEL`); then the embedded model.
    """

    def __init__(
        self,
        n: int = 5,
        *,
        module: dspy.Module | None = None,
        lm: dspy.BaseLM | str | None = None,
        temperature: float = 0.8,
        seed: int = 0,
        concurrency: int | None = None,
        timeout_s: float | None = None,
    ) -> None:
        super().__init__(module, concurrency)
        validate_n(n)
        if temperature < 0:
            raise ConfigurationError(f"temperature must be ≥ 0; got {temperature}.")
        if seed < 0:
            raise ConfigurationError(f"seed must be ≥ 0; got {seed}.")
        self.n = n
        self.lm = lm
        self.temperature = temperature
        self.seed = seed
        self.timeout_s = timeout_s

    async def agenerate(self, inputs: dict[str, Any]) -> CandidatePool:
        from fusion_dspy.lm.resolve import pins_every_lm, resolve_lm

        module = self._bound_module()
        context = None if pins_every_lm(module) else resolve_lm(self.lm)
        first = first_rollout(self.seed, caller_rollout(module, context))
        factories = [
            partial(
                sample_candidate,
                module,
                inputs,
                lm=context.copy(rollout_id=first + i, temperature=self.temperature) if context is not None else None,
                index=i,
                rollout_id=first + i,
                temperature=self.temperature,
                timeout_s=self.timeout_s,
            )
            for i in range(self.n)
        ]
        return await timed_pool(factories, self.concurrency, self._stop(inputs))


def validate_n(n: int) -> None:
    if isinstance(n, bool) or not isinstance(n, int) or n < 1:
        raise ConfigurationError(f"n must be an integer ≥ 1; got {n!r}. Use n=5 (the paper's setting) to start.")
