"""One long-lived event loop for sync callers, threads for sync work, limits that hold per process (issue 10)."""

import asyncio
import threading
import time

import dspy
import pytest

import fusion_dspy as fd
from fusion_dspy._async import ProcessSemaphore, run_sync, shared_loop
from fusion_dspy.testing import FakeModelServer, ScriptedLM


def fake_lm(server):
    return dspy.LM("openai/fake", api_base=server.base_url, api_key="k", cache=False, num_retries=0)


def test_twenty_sync_calls_reuse_the_same_connections():
    """Issue 10.10: 20 sync FusionOfN(n=3) calls opened 60 TCP connections, one set per call."""
    with FakeModelServer(latency_s=0.01) as server, dspy.context(lm=fake_lm(server)):
        program = fd.NofN(dspy.Predict("question -> answer"), fd.Fuser(), n=3)  # fuses every time
        for i in range(20):
            program(question=f"reuse {i}")
        assert server.stats.requests == 20 * 4
        assert server.stats.connections <= 3


def test_sync_calls_from_several_threads_share_the_loop_safely():
    with FakeModelServer(latency_s=0.05) as server:
        lm = fake_lm(server)
        program = fd.FusionOfN(dspy.Predict("question -> answer"), n=3)
        answers, errors = [], []

        def worker(k):
            try:
                with dspy.context(lm=lm):
                    answers.extend(program(question=f"thread {k} call {i}").answer for i in range(5))
            except Exception as exc:  # noqa: BLE001 - collected and asserted below
                errors.append(exc)

        threads = [threading.Thread(target=worker, args=(k,)) for k in range(4)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        assert errors == [] and len(answers) == 20
        assert server.stats.peak_in_flight >= 6  # the threads' calls overlapped on the one loop
        assert server.stats.connections <= 4 * 3


def test_run_sync_keeps_the_callers_dspy_context_and_usage_tracking():
    lm = ScriptedLM({"answer": "x"})

    async def ask():
        return await dspy.Predict("question -> answer").acall(question="q")

    with dspy.context(lm=lm, track_usage=True), dspy.track_usage() as tracker:
        assert run_sync(ask()).answer == "x"
    assert sum(len(v) for v in tracker.usage_data.values()) == 1


def test_run_sync_called_from_code_on_the_shared_loop_does_not_deadlock():
    async def inner():
        return 41

    async def outer():
        return run_sync(inner()) + 1  # e.g. a sync metric called inside an async evaluation

    assert run_sync(outer()) == 42
    assert shared_loop() is shared_loop()


def test_an_exception_reaches_the_sync_caller_unchanged():
    async def boom():
        raise KeyError("missing")

    with pytest.raises(KeyError, match="missing"):
        run_sync(boom())


def test_process_semaphore_holds_across_event_loops_and_threads():
    gate = ProcessSemaphore(2)
    running = peak = 0
    lock = threading.Lock()

    async def hold():
        nonlocal running, peak
        async with gate:
            with lock:
                running += 1
                peak = max(peak, running)
            await asyncio.sleep(0.05)
            with lock:
                running -= 1

    async def many():
        await asyncio.gather(*(hold() for _ in range(4)))

    threads = [threading.Thread(target=asyncio.run, args=(many(),)) for _ in range(3)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert peak == 2


def test_a_cancelled_waiter_does_not_lose_a_slot():
    gate = ProcessSemaphore(1)

    async def main():
        await gate.acquire()
        waiter = asyncio.ensure_future(gate.acquire())
        await asyncio.sleep(0.01)
        waiter.cancel()
        gate.release()
        await asyncio.sleep(0.01)
        start = time.perf_counter()
        await asyncio.wait_for(gate.acquire(), 1.0)
        return time.perf_counter() - start

    assert asyncio.run(main()) < 0.5


@pytest.mark.timeout(60)
def test_a_sync_wait_ends_with_an_error_when_the_loop_thread_dies():
    """Issue 26.1: every wait in run_sync is bounded: a loop that stops under a waiting caller is an error, and the
    next call gets a fresh loop."""

    async def stop_the_loop():
        asyncio.get_running_loop().stop()  # the loop thread returns from run_forever and ends
        await asyncio.sleep(3600)

    started = time.perf_counter()
    with pytest.raises(RuntimeError, match="event loop stopped"):
        run_sync(stop_the_loop())
    assert time.perf_counter() - started < 5
    assert run_sync(asyncio.sleep(0, result="fresh loop")) == "fresh loop"
