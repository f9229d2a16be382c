"""Run coroutines from sync code, and bounded concurrency."""

from __future__ import annotations

import asyncio
import contextvars
from collections.abc import Awaitable, Callable, Coroutine, Iterable
from concurrent.futures import ThreadPoolExecutor
from typing import Any, TypeVar

T = TypeVar("T")


def run_sync(coro: Coroutine[Any, Any, T]) -> T:
    """Run `coro` to completion from sync code, also when an event loop is already running (notebooks)."""
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return asyncio.run(coro)
    context = contextvars.copy_context()
    with ThreadPoolExecutor(max_workers=1) as pool:
        return pool.submit(context.run, asyncio.run, coro).result()


async def gather_bounded(factories: Iterable[Callable[[], Awaitable[T]]], limit: int | None) -> list[T]:
    """Await every factory's coroutine, at most `limit` at a time (None: no bound), in input order."""
    semaphore = asyncio.Semaphore(limit) if limit else None

    async def run(factory: Callable[[], Awaitable[T]]) -> T:
        if semaphore is None:
            return await factory()
        async with semaphore:
            return await factory()

    return list(await asyncio.gather(*(run(f) for f in factories)))
