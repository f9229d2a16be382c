"""The synthetic-data example keeps its student's answers, so a metric fix re-scores them without new LM calls."""

import importlib.util
from pathlib import Path

import dspy

from fusion_dspy.jsonl import JsonlLog
from fusion_dspy.testing import ScriptedLM

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "synthetic_demos.py"


def load_example():
    spec = importlib.util.spec_from_file_location("synthetic_demos", EXAMPLE)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_student_answers_are_stored_and_rescored_without_lm_calls(tmp_path):
    example = load_example()
    held_out = [dspy.Example(question=f"q{i}", answer="1000").with_inputs("question") for i in range(3)]
    lm = ScriptedLM({"reasoning": "so 1 000 in all", "answer": "1 000 (250 × 4)"})
    store = JsonlLog(tmp_path / "answers.jsonl", example.StudentAnswer, key=lambda a: f"{a.arm}|{a.id}")
    answers = example.student_answers("zero_shot", [], held_out, lm, store)
    assert example.accuracy(answers, held_out) == 1.0  # the old last-number parse read "4" here
    again = JsonlLog(tmp_path / "answers.jsonl", example.StudentAnswer, key=lambda a: f"{a.arm}|{a.id}")
    assert example.student_answers("zero_shot", [], held_out, lm, again) == answers
    assert len(lm.calls) == 3
