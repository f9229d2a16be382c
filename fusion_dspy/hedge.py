"""Hedged aggregation: if the fusor (or judge) call is slow, send it again and keep whichever answers first.

Heavy-tailed providers make a single call's p95 several times its median; first-k cuts that tail from the
candidates, but the aggregation call is one more draw from the same tail. Hedging it (Dean & Barroso, "The
Tail at Scale") bounds that: after `after_s` without an answer another identical call starts, up to
`copies` in flight; the first to answer wins and the rest are cancelled (their requests closed).
"""

from __future__ import annotations

import asyncio
from typing import Any

from fusion_dspy.aggregator import Aggregation, Aggregator
from fusion_dspy.candidates import CandidatePool
from fusion_dspy.errors import ConfigurationError
from fusion_dspy.signatures import SignatureType


class Hedged(Aggregator):
    """`Hedged(Fuser(...), after_s=0.2, copies=3)`: the wrapped aggregator, re-sent every `after_s` seconds
    without an answer (at most `copies` calls in total). The extra calls cost tokens only when they start."""

    def __init__(self, inner: Aggregator, *, after_s: float, copies: int = 2) -> None:
        super().__init__()
        if not after_s >= 0:
            raise ConfigurationError(f"after_s must be ≥ 0 seconds; got {after_s!r}.")
        if copies < 1:
            raise ConfigurationError(f"copies must be ≥ 1 (1 = no hedging); got {copies!r}.")
        self.inner = inner
        self.after_s = after_s
        self.copies = copies

    def bind(self, task: SignatureType) -> Hedged:
        self.task = task
        self.inner.bind(task)
        return self

    async def aaggregate(self, inputs: dict[str, Any], pool: CandidatePool) -> Aggregation:
        calls: list[asyncio.Task[Aggregation]] = []
        try:
            done: set[asyncio.Task[Aggregation]] = set()
            while not done:
                if len(calls) < self.copies:
                    calls.append(asyncio.ensure_future(self.inner.aaggregate(inputs, pool)))
                last = len(calls) == self.copies
                done, _ = await asyncio.wait(
                    calls, timeout=None if last else self.after_s, return_when=asyncio.FIRST_COMPLETED
                )
            return min(done, key=calls.index).result()
        finally:
            running = [c for c in calls if not c.done()]
            for call in running:
                call.cancel()
            if running:
                await asyncio.wait(running)
