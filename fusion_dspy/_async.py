"""Run coroutines from sync code on one long-lived event loop; threads for sync work; limits that hold per process.

dspy keeps its async HTTP clients per event loop, so a new loop per sync call would open new connections (and
pay new TLS handshakes) on every call. Sync callers therefore share one loop, run by a daemon thread, from any
number of threads at once (`dspy.Evaluate`, `module.batch`). One exception: under `dspy.streamify` the chunks go
into a stream owned by the caller's loop, so a sync call made from that loop's worker thread (streamify's own
`asyncify`) runs there instead; where no loop can take the chunks, the call runs unstreamed and says so once.
Every wait here is cancellable (Ctrl-C, a cancelled caller) and notices a loop thread that died.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import contextlib
import contextvars
import logging
import os
import threading
from collections import deque
from collections.abc import Awaitable, Callable, Coroutine, Iterable, Iterator
from typing import Any, TypeVar

T = TypeVar("T")

logger = logging.getLogger(__name__)
POLL_S = 0.5
"""How often a blocked sync caller checks that the loop running its work is still alive."""

# Set in threads that run a private loop because the shared one is blocked waiting for them: any run_sync
# below them must not queue work on the shared loop (it would wait for itself).
_SHARED_LOOP_BLOCKED: contextvars.ContextVar[bool] = contextvars.ContextVar("fusion_dspy_loop_blocked", default=False)


class _LoopThread:
    def __init__(self) -> None:
        self.loop = asyncio.new_event_loop()
        self.pid = os.getpid()
        self.thread = threading.Thread(target=self._run, name="fusion-dspy-loop", daemon=True)
        self.thread.start()

    def _run(self) -> None:
        asyncio.set_event_loop(self.loop)
        self.loop.run_forever()

    @property
    def usable(self) -> bool:
        return self.pid == os.getpid() and self.thread.is_alive() and not self.loop.is_closed()


_runner: _LoopThread | None = None
_runner_lock = threading.Lock()


def shared_loop() -> asyncio.AbstractEventLoop:
    """The process's long-lived loop for sync callers (started on first use; restarted after a fork)."""
    global _runner
    with _runner_lock:
        if _runner is None or not _runner.usable:
            _runner = _LoopThread()
        return _runner.loop


def run_sync(coro: Coroutine[Any, Any, T]) -> T:
    """Run `coro` to completion from sync code, on the shared loop, with the caller's context (dspy settings,
    usage tracker, trace). Safe from any thread, also one with a running loop of its own (notebooks). Under
    `dspy.streamify` it runs on the loop that owns the stream (see the module docstring)."""
    if is_streaming():
        try:
            on_host_loop = _in_worker_thread()
        except BaseException:  # the task waiting for this thread was cancelled
            coro.close()
            raise
        if on_host_loop:
            return _run_on_host_loop(coro)
        with _unstreamed():
            return run_sync(coro)
    loop = shared_loop()
    if _SHARED_LOOP_BLOCKED.get() or _running_loop() is loop:
        return _run_on_private_loop(coro)
    context = contextvars.copy_context()
    done: concurrent.futures.Future[T] = concurrent.futures.Future()
    started: list[asyncio.Task[T]] = []

    def start() -> None:
        task = loop.create_task(coro, context=context)
        started.append(task)
        task.add_done_callback(lambda t: _settle(done, t))

    loop.call_soon_threadsafe(start)
    try:
        return _wait(done, lambda: _runner is not None and _runner.loop is loop and _runner.usable)
    except BaseException:
        if not done.done():  # interrupted (Ctrl-C): stop the work instead of leaving it running
            loop.call_soon_threadsafe(lambda: [t.cancel() for t in started])
        raise


def _wait(done: concurrent.futures.Future[T], alive: Callable[[], bool]) -> T:
    """`done.result()`, checking every POLL_S that whatever runs the work is still alive: a dead loop thread is an
    error, never a wait forever. Interruptible between checks (Ctrl-C)."""
    while not concurrent.futures.wait([done], timeout=POLL_S).done:
        if not done.done() and not alive():
            raise RuntimeError(
                "fusion-dspy's event loop stopped before the call finished (its thread died or the process forked); "
                "call again: a fresh loop is started."
            )
    return done.result()


def is_streaming() -> bool:
    """Whether a `dspy.streamify` stream is open in this context."""
    import dspy

    return dspy.settings.send_stream is not None


def _in_worker_thread() -> bool:
    """Whether this thread was started by anyio for a task on a running loop (`dspy.streamify`'s `asyncify`)."""
    import anyio.from_thread

    try:
        anyio.from_thread.check_cancelled()
    except RuntimeError:  # anyio.NoEventLoopError: not a worker thread
        return False
    return True


def _run_on_host_loop(coro: Coroutine[Any, Any, T]) -> T:
    """Run `coro` on the loop whose worker thread this is, where `dspy.streamify`'s stream lives; cancelling the
    task waiting for this thread cancels `coro` too (anyio runs it in that task's cancel scope)."""
    import anyio.from_thread

    async def run() -> T:
        return await coro

    return anyio.from_thread.run(run)


_warned_unstreamed = threading.Event()


@contextlib.contextmanager
def _unstreamed() -> Iterator[None]:
    """No stream for this call: its loop is not the stream's (a sync call inside a running loop, or in a thread
    anyio did not start), and chunks sent there would wait forever. Said once per process."""
    import dspy

    if not _warned_unstreamed.is_set():
        _warned_unstreamed.set()
        logger.warning(
            "a sync fusion-dspy call under dspy.streamify ran outside the stream's event loop (inside a running "
            "loop, or in a thread anyio did not start), so it cannot stream: its answer comes with the final "
            "prediction. Stream the program itself (dspy.streamify(program)), or call `await program.acall(...)`."
        )
    with dspy.context(send_stream=None):
        yield


def _settle(done: concurrent.futures.Future[T], task: asyncio.Task[T]) -> None:
    if task.cancelled():
        done.set_exception(concurrent.futures.CancelledError())
    elif (exc := task.exception()) is not None:
        done.set_exception(exc)
    else:
        done.set_result(task.result())


def _running_loop() -> asyncio.AbstractEventLoop | None:
    try:
        return asyncio.get_running_loop()
    except RuntimeError:
        return None


def _run_on_private_loop(coro: Coroutine[Any, Any, T]) -> T:
    """Code running on the shared loop called back into sync code: run on a private loop in a new thread."""
    context = contextvars.copy_context()
    context.run(_SHARED_LOOP_BLOCKED.set, True)
    done: concurrent.futures.Future[T] = concurrent.futures.Future()

    def work() -> None:
        try:
            done.set_result(context.run(asyncio.run, coro))
        except BaseException as exc:  # noqa: BLE001 - handed to the waiting caller
            done.set_exception(exc)

    thread = threading.Thread(target=work, name="fusion-dspy-private-loop", daemon=True)
    thread.start()
    return _wait(done, thread.is_alive)


async def in_thread(fn: Callable[..., T], /, *args: Any, **kwargs: Any) -> T:
    """`fn(*args, **kwargs)` in a new daemon thread (with the caller's context), awaited without blocking the loop.

    Unlike `asyncio.to_thread` there is no shared pool to queue behind (n sync calls all run at once), and a
    call abandoned by a timeout is left to finish on its own: nothing waits for it at shutdown.
    """
    loop = asyncio.get_running_loop()
    future: asyncio.Future[T] = loop.create_future()
    context = contextvars.copy_context()

    def deliver(outcome: Callable[[], None]) -> None:
        if not future.done():
            outcome()

    def work() -> None:
        try:
            result = context.run(fn, *args, **kwargs)
        except BaseException as exc:  # noqa: BLE001 - handed to the awaiting coroutine
            error = exc
            _call_soon(loop, deliver, lambda: future.set_exception(error))
        else:
            _call_soon(loop, deliver, lambda: future.set_result(result))

    threading.Thread(target=work, name="fusion-dspy-sync-call", daemon=True).start()
    return await future


def _call_soon(loop: asyncio.AbstractEventLoop, fn: Callable[..., None], *args: Any) -> None:
    if not loop.is_closed():
        with contextlib.suppress(RuntimeError):  # the loop closed meanwhile: nobody is waiting any more
            loop.call_soon_threadsafe(fn, *args)


async def gather_bounded(factories: Iterable[Callable[[], Awaitable[T]]], limit: int | None) -> list[T]:
    """Await every factory's coroutine, at most `limit` at a time (None: no bound), in input order."""
    semaphore = asyncio.Semaphore(limit) if limit else None

    async def run(factory: Callable[[], Awaitable[T]]) -> T:
        if semaphore is None:
            return await factory()
        async with semaphore:
            return await factory()

    return list(await asyncio.gather(*(run(f) for f in factories)))


class ProcessSemaphore:
    """An awaitable semaphore that holds across event loops and threads (an `asyncio.Semaphore` is per loop)."""

    def __init__(self, limit: int) -> None:
        self.limit = limit
        self._free = limit
        self._lock = threading.Lock()
        self._waiters: deque[tuple[asyncio.AbstractEventLoop, asyncio.Future[None]]] = deque()

    async def __aenter__(self) -> None:
        await self.acquire()

    async def __aexit__(self, *exc: object) -> None:
        self.release()

    async def acquire(self) -> None:
        loop = asyncio.get_running_loop()
        with self._lock:
            if self._free > 0 and not self._waiters:
                self._free -= 1
                return
            waiter: asyncio.Future[None] = loop.create_future()
            self._waiters.append((loop, waiter))
        try:
            await waiter
        except asyncio.CancelledError:
            with self._lock:
                if (loop, waiter) in self._waiters:
                    self._waiters.remove((loop, waiter))
            # else the slot was already handed to us: _grant sees the cancelled waiter and passes it on
            raise

    def release(self) -> None:
        with self._lock:
            while self._waiters:
                loop, waiter = self._waiters.popleft()
                if loop.is_closed():
                    continue
                try:
                    loop.call_soon_threadsafe(self._grant, waiter)
                except RuntimeError:
                    continue
                return
            self._free += 1

    def _grant(self, waiter: asyncio.Future[None]) -> None:
        if waiter.done():  # cancelled while the slot was on its way
            self.release()
        else:
            waiter.set_result(None)
