"""GEPA metrics with textual feedback (issue 13, point 2)."""

import dspy

from fusion_dspy.eval.store import PoolRecord
from fusion_dspy.fuse import Fuser
from fusion_dspy.jsonl import JsonlLog
from fusion_dspy.optimizers import FusorOnly, compile_fusor, feedback_metric, fusor_examples
from fusion_dspy.optimizers.fusor_data import shown_outputs
from fusion_dspy.programs import task_by_name
from fusion_dspy.testing import ScriptedLM
from tests.conftest import pool_of
from tests.optimizers.test_strata import FOX_REFERENCE, fox_example, math_pools


def numbered(example, answer):
    """The numbers (1-based, as the prompt shows them) of the candidates answering `answer`."""
    return [str(i + 1) for i, o in enumerate(shown_outputs(example)) if o["answer"] == answer]


def test_math_feedback_names_the_answer_the_reference_and_the_copied_candidate(tmp_path):
    task, [example] = math_pools(tmp_path, [("41", "42", "41")])
    metric = feedback_metric(task)
    result = metric(example, dspy.Prediction(reasoning="…", answer="41"))
    assert isinstance(result, dspy.Prediction) and result.score == 0.0
    right, wrong = numbered(example, "42"), numbered(example, "41")
    assert "fused answer is 41; the reference is 42" in result.feedback
    assert f"right answer: {right[0]}; with a wrong one: {', '.join(wrong)}" in result.feedback
    assert f"copied candidate {', '.join(wrong)}'s wrong total" in result.feedback
    good = metric(example, dspy.Prediction(answer="42"), None, "fuser.predict", None)
    assert good.score == 1.0 and "Correct. The fusor rescued a right minority." in good.feedback


def test_math_feedback_when_no_candidate_is_right(tmp_path):
    task, [example] = math_pools(tmp_path, [("7", "8")])
    result = feedback_metric(task)(example, dspy.Prediction(answer="9"))
    assert result.score == 0.0 and "No candidate had it right" in result.feedback and "copied" not in result.feedback


def test_translation_feedback_gives_chrf_the_language_check_and_the_best_candidate(tmp_path):
    task = task_by_name("translation")()
    reference, example = FOX_REFERENCE, fox_example()
    pools = JsonlLog(tmp_path / "pools.jsonl", PoolRecord)
    pools.append(PoolRecord(id="t-1", pool=pool_of("Der Fuchs springt.", reference, field="translation")))
    [fused] = fusor_examples(task, [example], pools)
    best = next(str(i + 1) for i, o in enumerate(shown_outputs(fused)) if o["translation"] == reference)
    metric = feedback_metric(task)
    english = metric(fused, dspy.Prediction(translation="The quick brown fox jumps over the lazy dog."))
    assert english.score == 0.0 and "not in German" in english.feedback
    weak = metric(fused, dspy.Prediction(translation="Der braune Fuchs springt über den Hund."))
    assert 0 < weak.score < 1 and f"chrF++ against the reference: {weak.score:.3f}" in weak.feedback
    assert f"Candidate {best} scored 1.000, above the fused {weak.score:.3f}" in weak.feedback


def test_gepa_reflects_on_the_feedback_metric(tmp_path, monkeypatch):
    task, data = math_pools(tmp_path, [("41", "42", "41"), ("42", "42", "7")])
    seen = {}

    class FakeGEPA:
        def __init__(self, metric, reflection_lm, **kwargs):
            seen.update(metric=metric, reflection_lm=reflection_lm)

        def compile(self, student, trainset, valset=None):
            seen["result"] = seen["metric"](trainset[0], dspy.Prediction(answer="41"), None, "p", None)
            return student

    monkeypatch.setattr(dspy, "GEPA", FakeGEPA)
    lm = ScriptedLM({"reasoning": "…", "answer": "42"})
    program = FusorOnly(Fuser(chain_of_thought=True, lm=lm).bind(task.signature))
    compile_fusor(program, "gepa", task.metric, data, data, feedback=feedback_metric(task))
    assert seen["reflection_lm"] is lm  # the fusor's own LM proposes when no reflection LM is given
    assert seen["result"].score == 0.0 and "copied candidate" in seen["result"].feedback
