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
    assert len(pred.nofn.candidates.succeeded) == 2
    assert all(c.usage.completion_tokens > 0 for c in pred.nofn.candidates)
    if pred.nofn.path == "skipped":  # both said the same: the fusor is not called
        assert pred.nofn.usage.aggregation.lm_calls == 0
        assert pred.answer == pred.nofn.candidates[pred.nofn.chosen].text("answer")
    else:
        assert pred.nofn.method == "fused" or pred.nofn.fallback
        assert pred.nofn.usage.aggregation.lm_calls >= 1


def test_adaptive_fusion_end_to_end_on_the_local_model(small_local_lm):
    from tests.conftest import pool_of

    adaptive = fd.AdaptiveFusion(consensus=fd.MajorityVote(normalize="number"), skip_agreement=0.6, floor_margin=0.0)
    program = fd.FusionOfN(dspy.Predict("question -> answer"), n=3, adaptive=adaptive)
    question = {"question": "What is 2 + 2? Reply with the number only."}
    with dspy.context(lm=small_local_lm):
        pred = program(**question)
        split = program.from_pool(question, pool_of("4", "5", "22"))
    agreeing = pred.nofn.agreement
    if pred.nofn.path == "skipped":
        assert agreeing >= 0.6 and pred.nofn.usage.aggregation.lm_calls == 0 and pred.nofn.reason
    else:
        assert agreeing < 0.6 and pred.nofn.usage.aggregation.lm_calls >= 1
    assert pred.nofn.provenance is not None
    assert split.nofn.usage.aggregation.lm_calls >= 1, "no answer has a majority: the real fusor is called"
    assert split.nofn.path in ("fused", "floored", "selected")
    if split.nofn.path == "fused":
        assert split.nofn.support >= split.nofn.agreement, "a fused answer the floor kept is backed"
    if split.nofn.path == "floored":
        assert split.answer in ("4", "5", "22") and "unsupported" in split.nofn.reason


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
    assert len(pred.nofn.scores) == 2
    assert pred.nofn.chosen in (0, 1)
    assert pred.answer == pred.nofn.candidates[pred.nofn.chosen].outputs["answer"]
