"""Hedged aggregation: a slow fusor call is re-sent; the first answer wins and the slow call is cancelled."""

import time

import dspy
import pytest

import fusion_dspy as fd
from fusion_dspy.testing import ScriptedLM
from tests.conftest import is_fusor_prompt, pool_of


def fusor_lm(first_delay_s: float, then_s: float = 0.02) -> ScriptedLM:
    return ScriptedLM({"answer": "fused"}, delay_s=lambda number, prompt: first_delay_s if number == 0 else then_s)


def test_a_slow_fusor_call_is_hedged_and_cancelled(qa_signature):
    lm = fusor_lm(5.0)
    hedged = fd.Hedged(fd.Fuser(lm=lm), after_s=0.1, copies=3).bind(qa_signature)
    start = time.perf_counter()
    result = hedged.aggregate({"question": "q"}, pool_of("a", "b"))
    assert time.perf_counter() - start < 1.0
    assert result.outputs == {"answer": "fused"} and result.method == "fused"
    assert len(lm.calls) == 1 and len(lm.cancelled) == 1  # the slow first call was cancelled, the hedge answered
    assert all(is_fusor_prompt(c.prompt) for c in lm.calls)


def test_a_fast_fusor_call_is_never_duplicated(qa_signature):
    lm = fusor_lm(0.01)
    fd.Hedged(fd.Fuser(lm=lm), after_s=0.5, copies=3).bind(qa_signature).aggregate({"question": "q"}, pool_of("a"))
    assert len(lm.calls) == 1 and lm.cancelled == []


def test_hedged_fusion_end_to_end_and_its_predictor_stays_visible_to_optimisers():
    samples = ScriptedLM({"answer": "draft"})
    lm = fusor_lm(5.0)
    program = fd.NofN(dspy.Predict("question -> answer"), fd.Hedged(fd.Fuser(lm=lm), after_s=0.05), n=2)
    with dspy.context(lm=samples):
        pred = program(question="q")
    assert pred.answer == "fused" and pred.nofn.usage.aggregation.lm_calls == 1
    assert "aggregator.inner.predict" in [name for name, _ in program.named_predictors()]


def test_bad_hedging_settings_name_the_fix():
    with pytest.raises(fd.ConfigurationError, match="after_s"):
        fd.Hedged(fd.Fuser(), after_s=-1)
    with pytest.raises(fd.ConfigurationError, match="copies"):
        fd.Hedged(fd.Fuser(), after_s=0.1, copies=0)
