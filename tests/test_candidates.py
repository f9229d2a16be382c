import pytest
from pydantic import ValidationError

from fusion_dspy.candidates import Candidate, CandidatePool
from fusion_dspy.usage import TokenUsage
from tests.conftest import pool_of


def test_pool_splits_succeeded_and_failed():
    pool = pool_of("a", None, "c")
    assert [c.index for c in pool.succeeded] == [0, 2]
    assert [c.index for c in pool.failed] == [1]
    assert pool.failed[0].error == "ConnectionError: down"


def test_text_defaults_to_last_output_field_and_stringifies():
    candidate = Candidate(index=0, outputs={"reasoning": "because", "answer": 42})
    assert candidate.text() == "42"
    assert candidate.text("reasoning") == "because"
    assert Candidate(index=1).text() == ""


def test_pool_usage_sums_candidates():
    pool = CandidatePool(
        candidates=[
            Candidate(index=0, usage=TokenUsage(prompt_tokens=10, completion_tokens=2, lm_calls=1)),
            Candidate(index=1, usage=TokenUsage(prompt_tokens=5, completion_tokens=1, lm_calls=1)),
        ]
    )
    assert pool.usage == TokenUsage(prompt_tokens=15, completion_tokens=3, lm_calls=2)
    assert pool.usage.total_tokens == 18


def test_pool_round_trips_through_json():
    pool = pool_of("x", None)
    assert CandidatePool.model_validate_json(pool.model_dump_json()) == pool


def test_rows_stored_before_status_existed_still_read():
    old = '{"index": 0, "outputs": {"answer": "a"}, "source": "m", "latency_s": 0.4}'
    broken = '{"index": 1, "source": "m", "error": "ConnectionError: down"}'
    assert Candidate.model_validate_json(old).status == "ok"
    assert Candidate.model_validate_json(broken).status == "failed"
    pool = CandidatePool.model_validate_json('{"candidates": [' + old + ", " + broken + '], "wall_s": 1.0}')
    assert pool.early_stop is None and pool.cut == [] and len(pool.failed) == 1


def test_status_and_error_must_agree():
    with pytest.raises(ValidationError, match="must carry an error"):
        Candidate(index=0, status="failed")
    with pytest.raises(ValidationError, match="must not carry an error"):
        Candidate(index=0, status="cut", error="x")
    assert not Candidate(index=0, status="cut").ok


def timed_pool(*entries: tuple[str | None, float]) -> CandidatePool:
    return CandidatePool(
        candidates=[
            Candidate(index=i, outputs={"answer": a}, latency_s=t) if a is not None
            else Candidate(index=i, error="TimeoutError", latency_s=t)
            for i, (a, t) in enumerate(entries)
        ],
        wall_s=max(t for _, t in entries),
    )  # fmt: skip


def test_first_k_replays_a_stored_pool_by_recorded_latency():
    pool = timed_pool(("a", 0.9), ("b", 0.2), (None, 0.1), ("d", 0.5), ("e", 3.0))
    first = pool.first_k(2)
    assert [c.status for c in first] == ["cut", "ok", "failed", "ok", "cut"]
    assert first.early_stop == "k" and first.wall_s == 0.5
    assert first[0].outputs == {} and first[0].latency_s == 0.5
    assert pool[0].status == "ok"  # the stored pool is untouched
    assert pool.first_k(4).early_stop is None and pool.first_k(4).cut == []


def test_first_k_replay_with_a_deadline():
    pool = timed_pool(("a", 0.9), ("b", 0.2), ("c", 2.0))
    assert [c.status for c in pool.first_k(3, deadline_s=1.0)] == ["ok", "ok", "cut"]
    assert pool.first_k(3, deadline_s=1.0).early_stop == "deadline"
    late = timed_pool(("a", 1.5), ("b", 2.5))
    assert [c.status for c in late.first_k(deadline_s=1.0)] == ["ok", "cut"]
    assert pool.first_k() is pool
