"""N samples of one program from one model, concurrently, each with its own rollout id."""

from __future__ import annotations

from functools import partial
from typing import Any, ClassVar

import dspy

from fusion_dspy.candidates import CandidatePool
from fusion_dspy.errors import ConfigurationError
from fusion_dspy.sources._gather import Draw, check_policy, timed_pool
from fusion_dspy.sources._sampling import answering_lm, caller_rollout, first_rollout, model_name, sample_candidate
from fusion_dspy.sources.base import CandidateSource
from fusion_dspy.sources.one_request import OneRequest, SharedRequest, check_one_request, use_one_request, with_choice


class RepeatSampler(CandidateSource):
    """Sample the bound program `n` times at `temperature`.

    Sample i uses rollout id `seed * 10_000 + i`, so samples are distinct in the DSPy cache and the same
    seed reproduces the same pool from a warm cache. A caller that asks for a fresh rollout (dspy.BestOfN,
    dspy.Refine, BootstrapFewShot rounds) moves the ids into a block of their own: a new pool, still reproducible.
    `k` / `deadline_s`: stop at the first `k` answers or at a deadline and cut the rest (see `CandidateSource`).

    The LM: a predictor's own (`set_lm`, `predictor.lm`) wins, as everywhere in DSPy; then `lm`; then the
    LM in context (`dspy.context` / `dspy.configure`, or `FUSION_DSPY_MODEL`); then the embedded model.

    `one_request=True` asks the model once with `n` (the prompt processed and billed once, where the server accepts
    `n`: OpenAI, vLLM, SGLang) and splits the choices into the candidates, each still with its own rollout id and
    its share of the request's usage; a server that ignores or refuses `n` gets N requests after all, with a
    warning. `"auto"` does the same, and stops trying `n` on a server once it has ignored or refused it. Default
    False: N requests (llama.cpp's server, the embedded model's, refuses `n`). See `sources/one_request.py`.
    """

    tunable: ClassVar[tuple[str, ...]] = ("n", "temperature", "seed", "timeout_s", "one_request")

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
        k: int | None = None,
        deadline_s: float | None = None,
        max_in_flight: int | None = None,
        one_request: OneRequest = False,
    ) -> None:
        super().__init__(module, concurrency, k=k, deadline_s=deadline_s, max_in_flight=max_in_flight)
        validate_n(n)
        check_policy(k, deadline_s, n)
        if temperature < 0:
            raise ConfigurationError(f"temperature must be ≥ 0; got {temperature}.")
        if seed < 0:
            raise ConfigurationError(f"seed must be ≥ 0; got {seed}.")
        self.n = n
        self.lm = lm
        self.temperature = temperature
        self.seed = seed
        self.timeout_s = timeout_s
        self.one_request = check_one_request(one_request)

    async def agenerate(self, inputs: dict[str, Any]) -> CandidatePool:
        from fusion_dspy.lm.resolve import pins_every_lm, resolve_lm

        module = self._bound_module()
        context = None if pins_every_lm(module) else resolve_lm(self.lm)
        first = first_rollout(self.seed, caller_rollout(module, context))
        answering = answering_lm(module, context)
        source = model_name(answering)
        shared = SharedRequest(self.n, first) if use_one_request(self.one_request, self.n, answering, module) else None
        lms = (
            [context.copy(rollout_id=first + i, temperature=self.temperature) for i in range(self.n)]
            if context is not None
            else []
        )
        calls = [
            partial(
                sample_candidate,
                module,
                inputs,
                lm=lms[i] if lms else None,
                index=i,
                rollout_id=first + i,
                temperature=self.temperature,
                timeout_s=self.timeout_s,
            )
            for i in range(self.n)
        ]
        draws = [
            Draw(
                with_choice(shared, i, calls[i]) if shared is not None else calls[i],
                index=i,
                source=source,
                rollout_id=first + i,
                temperature=self.temperature,
            )
            for i in range(self.n)
        ]
        if shared is None:
            return await timed_pool(self._admit(draws), self.concurrency, self.k, self.deadline_s, self._stop(inputs))
        try:
            pool = await timed_pool(self._admit(draws), self.concurrency, self.k, self.deadline_s, self._stop(inputs))
        finally:
            shared.close()
        for candidate, share in zip(pool, shared.shares, strict=False):  # choice i was billed to sample i
            candidate.usage = candidate.usage + share
        return pool


def validate_n(n: int) -> None:
    if isinstance(n, bool) or not isinstance(n, int) or n < 1:
        raise ConfigurationError(f"n must be an integer ≥ 1; got {n!r}. Use n=5 (the paper's setting) to start.")
