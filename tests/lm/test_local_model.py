"""End to end on the real embedded model (Qwen2.5-0.5B via llama.cpp), with tiny token budgets."""

import dspy
import pytest

import fusion_dspy as fd

pytestmark = pytest.mark.local_model


def test_local_model_answers_through_dspy(small_local_lm):
    with dspy.context(lm=small_local_lm):
        pred = dspy.Predict("question -> answer")(question="What is 2 + 2? Reply with the number only.")
    assert pred.answer.strip()


def test_fusion_of_n_end_to_end_on_the_local_model(small_local_lm):
    with dspy.context(lm=small_local_lm):
        pred = fd.FusionOfN(dspy.Predict("question -> answer"), n=2)(question="Name a primary colour.")
    assert isinstance(pred.answer, str) and pred.answer.strip()
    assert len(pred.candidates.succeeded) == 2
    assert all(c.usage.completion_tokens > 0 for c in pred.candidates)
    if pred.aggregation.path == "skipped":  # both said the same: the fusor is not called
        assert pred.usage.aggregation.lm_calls == 0 and pred.answer == pred.candidates[pred.chosen].text("answer")
    else:
        assert pred.method == "fused" or pred.fallback
        assert pred.usage.aggregation.lm_calls >= 1


def test_adaptive_fusion_end_to_end_on_the_local_model(small_local_lm):
    from tests.conftest import pool_of

    adaptive = fd.AdaptiveFusion(consensus=fd.MajorityVote(normalize="number"), skip_agreement=0.6, floor_margin=0.0)
    program = fd.FusionOfN(dspy.Predict("question -> answer"), n=3, adaptive=adaptive)
    question = {"question": "What is 2 + 2? Reply with the number only."}
    with dspy.context(lm=small_local_lm):
        pred = program(**question)
        split = program.from_pool(question, pool_of("4", "5", "22"))
    agreeing = pred.aggregation.agreement
    if pred.aggregation.path == "skipped":
        assert agreeing >= 0.6 and pred.usage.aggregation.lm_calls == 0 and pred.aggregation.reason
    else:
        assert agreeing < 0.6 and pred.usage.aggregation.lm_calls >= 1
    assert pred.aggregation.provenance is not None
    assert split.usage.aggregation.lm_calls >= 1, "no answer has a majority: the real fusor is called"
    assert split.aggregation.path in ("fused", "floored", "selected")
    if split.aggregation.path == "fused":
        assert split.aggregation.support >= split.aggregation.agreement, "a fused answer the floor kept is backed"
    if split.aggregation.path == "floored":
        assert split.answer in ("4", "5", "22") and "unsupported" in split.aggregation.reason


def test_samples_overlap_on_the_local_server(small_local_lm):
    with dspy.context(lm=small_local_lm):
        pool = (
            fd.RepeatSampler(3, temperature=1.0, seed=7)
            .bind(dspy.Predict("topic -> sentence"))
            .generate({"topic": "the sea"})
        )
    assert len(pool.succeeded) == 3
    slowest = max(c.latency_s for c in pool)
    assert sum(c.latency_s for c in pool) > 1.5 * slowest


def test_best_of_n_with_a_local_judge(small_local_lm):
    with dspy.context(lm=small_local_lm):
        pred = fd.BestOfN(dspy.Predict("question -> answer"), n=2, scorer=fd.JudgeScorer())(
            question="What colour is the sky on a clear day?"
        )
    assert len(pred.scores) == 2
    assert pred.chosen in (0, 1)
    assert pred.answer == pred.candidates[pred.chosen].outputs["answer"]
