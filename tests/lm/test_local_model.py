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
    assert pred.method == "fused" or pred.fallback
    assert pred.usage.aggregation.lm_calls >= 1


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
