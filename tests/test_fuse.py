import dspy
import pytest

import fusion_dspy as fd
from fusion_dspy.candidates import Candidate
from fusion_dspy.fuse import resolve_candidate_references
from fusion_dspy.testing import ScriptedLM
from tests.conftest import pool_of

QA = dspy.ensure_signature("question -> answer")
SHOWN = [Candidate(index=0, outputs={"answer": "Au"}), Candidate(index=1, outputs={"answer": "Ag"})]


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("Candidate 2", "Ag"),
        ("candidate #1.", "Au"),
        ("2. Ag", "Ag"),
        ("Candidate 1: Au", "Au"),
        ("<candidate 1>\nAu\n</candidate 1>", "Au"),
    ],
)
def test_candidate_references_are_resolved(raw, expected):
    outputs, resolved = resolve_candidate_references({"answer": raw}, SHOWN)
    assert outputs == {"answer": expected}
    assert resolved


@pytest.mark.parametrize("raw", ["2", "2. Silver is the answer", "Candidate 7", "Gold (Au)"])
def test_real_answers_are_left_alone(raw):
    outputs, resolved = resolve_candidate_references({"answer": raw}, SHOWN)
    assert outputs == {"answer": raw}
    assert not resolved


def test_default_instructions_cover_the_job_and_keep_the_task():
    fuser = fd.Fuser().bind(dspy.ensure_signature("question -> answer", instructions="Answer in one word."))
    instructions = fuser.predict.signature.instructions
    for phrase in ["strongest, correct parts", "drop parts that are wrong", "contradict", "language of the task",
                   "never mention", "Answer in one word."]:  # fmt: skip
        assert phrase in instructions


def test_custom_instructions_and_chain_of_thought():
    fuser = fd.Fuser(QA, instructions="Merge them.", chain_of_thought=True)
    assert list(fuser.predict.predict.signature.output_fields) == ["reasoning", "answer"]
    assert fuser.predict.predict.signature.instructions.startswith("Merge them.")


def test_fusor_uses_its_own_lm_and_renders_the_pool():
    fusor_lm = ScriptedLM({"answer": "Au"})
    fuser = fd.Fuser(QA, lm=fusor_lm, render=fd.RenderOptions(shuffle=False))
    result = fuser.aggregate({"question": "Symbol of gold?"}, pool_of("Au", None, "Gold"))
    assert result.outputs == {"answer": "Au"} and result.method == "fused"
    prompt = fusor_lm.calls[0].prompt
    assert "<candidate 1>\nAu\n</candidate 1>" in prompt and "<candidate 2>\nGold\n</candidate 2>" in prompt
    assert "Symbol of gold?" in prompt


def test_unbound_fuser_says_how_to_bind():
    with pytest.raises(RuntimeError, match="bind"):
        fd.Fuser().aggregate({"question": "q"}, pool_of("x"))


def test_an_output_that_echoes_an_input_field_falls_back_to_selection():
    signature = dspy.ensure_signature("source_text, target_language -> translation")
    fuser = fd.Fuser(signature, lm=ScriptedLM({"translation": "German"}))
    pool = pool_of("Der Hund schläft.", "Der Hund schlaeft.", field="translation")
    result = fuser.aggregate({"source_text": "The dog sleeps.", "target_language": "German"}, pool)
    assert result.method == "selected" and result.outputs["translation"] in {"Der Hund schläft.", "Der Hund schlaeft."}
    assert "echoed the input field 'target_language'" in result.fallback


def test_an_output_that_a_candidate_also_gave_is_not_an_echo():
    fuser = fd.Fuser("question -> answer", lm=ScriptedLM({"answer": "Paris"}))
    result = fuser.aggregate({"question": "Paris"}, pool_of("Paris", "Lyon"))
    assert result.method == "fused" and result.outputs == {"answer": "Paris"}
