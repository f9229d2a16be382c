"""Fault injection against a real HTTP server: fused answers still come back, every failure is reported on its
candidate, retries follow Retry-After, and nothing hangs."""

import time

import dspy
import pytest

import fusion_dspy as fd
from fusion_dspy.testing import FakeModelServer, FaultPlan

pytestmark = pytest.mark.timeout(60)


def lm_for(server, retries=3):
    return dspy.LM("openai/fake", api_base=server.base_url, api_key="fake", cache=False, num_retries=retries)


def test_mixed_faults_still_fuse_and_report_each_failure():
    plan = FaultPlan(rate_limit=0.15, server_error=0.1, empty=0.1, garbage=0.1, drop=0.1, retry_after_s=0.05, seed=3)
    with FakeModelServer(latency_s=0.02, faults=plan) as server, dspy.context(lm=lm_for(server, retries=1)):
        program = fd.FusionOfN(dspy.Predict("question -> answer"), n=8)
        predictions = [program(question=f"q{i}") for i in range(4)]
    for prediction in predictions:
        assert prediction.answer
        for candidate in prediction.nofn.failed:
            assert candidate.error and candidate.outputs == {}
    faults = {k: v for k, v in server.stats.outcomes.items() if k != "ok"}
    assert sum(faults.values()) >= 5


def test_retries_wait_as_long_as_retry_after_says():
    plan = FaultPlan(script=["rate_limit"], retry_after_s=0.6)
    with FakeModelServer(faults=plan) as server, dspy.context(lm=lm_for(server)):
        pool = fd.RepeatSampler(1).bind(dspy.Predict("question -> answer")).generate({"question": "q"})
    assert pool[0].ok
    first, second = server.stats.request_times[:2]
    assert second - first >= 0.55
    assert server.stats.outcomes == {"rate_limit": 1, "ok": 1}


def test_server_errors_and_dropped_connections_are_retried():
    plan = FaultPlan(script=["server_error", "drop"])
    with FakeModelServer(faults=plan) as server, dspy.context(lm=lm_for(server)):
        pool = fd.RepeatSampler(1).bind(dspy.Predict("question -> answer")).generate({"question": "q"})
    assert pool[0].ok and server.stats.requests == 3


def test_empty_and_garbage_completions_fail_only_their_candidate():
    plan = FaultPlan(script=["empty", "empty", "garbage"])
    with FakeModelServer(faults=plan) as server, dspy.context(lm=lm_for(server, retries=0)):
        pool = fd.RepeatSampler(4, concurrency=1).bind(dspy.Predict("question -> answer")).generate({"question": "q"})
    assert len(pool.succeeded) >= 2
    assert all(c.error for c in pool.failed)


def test_hanging_calls_are_bounded_by_the_timeout():
    plan = FaultPlan(script=["timeout", "timeout"], hang_s=20)
    with FakeModelServer(faults=plan) as server, dspy.context(lm=lm_for(server, retries=0)):
        start = time.perf_counter()
        pool = fd.RepeatSampler(4, timeout_s=1.0).bind(dspy.Predict("question -> answer")).generate({"question": "q"})
        elapsed = time.perf_counter() - start
    assert elapsed < 5
    assert [c.error for c in pool.failed] == ["TimeoutError: no answer within 1.0 s"] * 2
    assert len(pool.succeeded) == 2


def test_every_call_failing_is_one_clear_error():
    plan = FaultPlan(server_error=1.0)
    with (
        FakeModelServer(faults=plan) as server,
        dspy.context(lm=lm_for(server, retries=0)),
        pytest.raises(fd.AllCandidatesFailedError, match="all 3 candidate calls failed"),
    ):
        fd.FusionOfN(dspy.Predict("question -> answer"), n=3)(question="q")
