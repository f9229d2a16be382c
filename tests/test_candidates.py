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
