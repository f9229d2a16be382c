"""Gather a pool from planned candidate calls: bounded concurrency, an in-flight bound shared per process, and
early stops — first-k, a deadline, or a `stop_when` rule (BestOfN's threshold) — that cancel the calls still
running and record them as cut."""

from __future__ import annotations

import asyncio
import os
import threading
import time
import weakref
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass

from fusion_dspy._async import ProcessSemaphore, gather_bounded
from fusion_dspy.arrival import Reason, stop_now
from fusion_dspy.candidates import Candidate, CandidatePool
from fusion_dspy.errors import ConfigurationError

StopRule = Callable[[Candidate], Awaitable[bool]]


@dataclass(frozen=True)
class Draw:
    """One planned candidate call: how to make it, and what it is recorded as if it is cut before answering."""

    call: Callable[[], Awaitable[Candidate]]
    index: int
    source: str
    rollout_id: int | None = None
    temperature: float | None = None

    def cut(self, after_s: float) -> Candidate:
        return Candidate(index=self.index, source=self.source, rollout_id=self.rollout_id,
                         temperature=self.temperature, latency_s=after_s, status="cut")  # fmt: skip


class GateKey:
    """Identifies one source's in-flight bound; bound copies share it (a shallow copy keeps the same key)."""

    __slots__ = ("__weakref__",)


_SHARED: weakref.WeakKeyDictionary[GateKey, tuple[int, ProcessSemaphore]] = weakref.WeakKeyDictionary()
_SHARED_LOCK = threading.Lock()


async def shared_slot(key: GateKey, limit: int, call: Callable[[], Awaitable[Candidate]]) -> Candidate:
    """Run `call` holding one of `limit` slots shared by everything keyed `key` in this process (any event loop)."""
    with _SHARED_LOCK:
        pid, gate = _SHARED.get(key, (None, None))
        if pid != os.getpid() or gate is None:
            gate = ProcessSemaphore(limit)
            _SHARED[key] = (os.getpid(), gate)
    async with gate:
        return await call()


def check_policy(k: int | None, deadline_s: float | None, n: int) -> None:
    """Raise a ConfigurationError naming the fix for a `k` or `deadline_s` that cannot work with `n` calls."""
    if k is not None and (isinstance(k, bool) or not isinstance(k, int) or not 1 <= k <= n):
        raise ConfigurationError(
            f"k must be an integer from 1 to the {n} candidates sampled, or None to wait for all; got {k!r}."
        )
    if deadline_s is not None and not deadline_s > 0:
        raise ConfigurationError(f"deadline_s must be > 0 seconds, or None for no deadline; got {deadline_s!r}.")


async def timed_pool(
    draws: Sequence[Draw],
    concurrency: int | None,
    k: int | None = None,
    deadline_s: float | None = None,
    stop: StopRule | None = None,
) -> CandidatePool:
    """Run the candidate calls (at most `concurrency` at once) and time the whole pool.

    With `k` or `deadline_s`, stop waiting by the rule in `fusion_dspy.arrival`; with `stop`, once a successful
    candidate satisfies it (checked as each arrives). Calls still running then are cancelled (their HTTP
    requests closed) and awaited, so none is left running, and recorded as cut.
    """
    start = time.perf_counter()
    if k is None and deadline_s is None and stop is None:
        candidates = await gather_bounded([d.call for d in draws], concurrency)
        return CandidatePool(candidates=candidates, wall_s=time.perf_counter() - start)
    gate = asyncio.Semaphore(concurrency) if concurrency else None

    async def run(draw: Draw) -> Candidate:
        if gate is None:
            return await draw.call()
        async with gate:
            return await draw.call()

    tasks = [asyncio.ensure_future(run(d)) for d in draws]
    reason, cut = await _wait_until_enough(tasks, start, k, deadline_s, stop)
    stopped_after = time.perf_counter() - start
    return CandidatePool(
        candidates=[d.cut(stopped_after) if t in cut else t.result() for t, d in zip(tasks, draws, strict=True)],
        wall_s=stopped_after,
        early_stop=reason,
    )  # fmt: skip


async def _wait_until_enough(
    tasks: Sequence[asyncio.Future[Candidate]],
    start: float,
    k: int | None,
    deadline_s: float | None,
    stop: StopRule | None,
) -> tuple[Reason | None, set[asyncio.Future[Candidate]]]:
    """Wait for the tasks until a stop rule holds; cancel and await the rest (also when we are cancelled
    ourselves). Returns why it stopped (None: every task finished first) and the tasks it cut."""
    pending: set[asyncio.Future[Candidate]] = set(tasks)
    try:
        while pending:
            left = None if deadline_s is None else start + deadline_s - time.perf_counter()
            done, pending = await asyncio.wait(
                pending, timeout=left if left is not None and left > 0 else None, return_when=asyncio.FIRST_COMPLETED
            )
            reason: Reason | None = None
            if stop is not None:
                arrived = sorted((t.result() for t in done), key=lambda c: c.index)
                if any([c.ok and await stop(c) for c in arrived]):
                    reason = "stop_when"
            answered = sum(1 for t in tasks if t.done() and not t.cancelled() and t.result().ok)
            reason = reason or stop_now(answered, time.perf_counter() - start, k, deadline_s)
            if reason is not None and pending:
                return reason, set(pending)
        return None, set()
    finally:
        for task in pending:
            task.cancel()
        if pending:
            await asyncio.wait(pending)
