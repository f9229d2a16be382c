import dspy
import pytest

from fusion_dspy.errors import SignatureError
from fusion_dspy.signatures import fusion_signature, input_values, task_signature_of


class Translate(dspy.Signature):
    """Translate the text into the target language."""

    text: str = dspy.InputField()
    target_language: str = dspy.InputField()
    translation: str = dspy.OutputField()


def derive(task):
    return fusion_signature(
        task, instructions="FUSE", task_header="The task:", candidates_field="candidates", candidates_description="d"
    )


def test_predict_and_chain_of_thought_expose_the_task_signature():
    assert list(task_signature_of(dspy.Predict(Translate)).fields) == ["text", "target_language", "translation"]
    cot = task_signature_of(dspy.ChainOfThought("question -> answer"))
    assert list(cot.input_fields) == ["question"]
    assert list(cot.output_fields) == ["answer"]


def test_fusion_signature_keeps_inputs_adds_candidates_keeps_outputs():
    fused = derive(Translate)
    assert list(fused.input_fields) == ["text", "target_language", "candidates"]
    assert list(fused.output_fields) == ["translation"]
    assert fused.instructions.startswith("FUSE")
    assert "Translate the text into the target language." in fused.instructions


def test_typed_outputs_survive_derivation():
    class Count(dspy.Signature):
        question: str = dspy.InputField()
        count: int = dspy.OutputField()

    assert derive(Count).output_fields["count"].annotation is int


def test_multi_predictor_module_needs_an_explicit_signature():
    class TwoStep(dspy.Module):
        def __init__(self):
            super().__init__()
            self.a = dspy.Predict("q -> draft")
            self.b = dspy.Predict("draft -> answer")

    with pytest.raises(SignatureError, match="signature="):
        task_signature_of(TwoStep())


def test_candidates_field_collision_names_the_fix():
    with pytest.raises(SignatureError, match="candidates_field"):
        derive(dspy.ensure_signature("candidates -> answer"))


def test_input_values_reports_missing_and_empty_inputs():
    sig = dspy.ensure_signature("question -> answer")
    assert input_values(sig, {"question": "q", "extra": 1}) == {"question": "q"}
    with pytest.raises(SignatureError, match="missing input"):
        input_values(sig, {})
    with pytest.raises(SignatureError, match="empty"):
        input_values(sig, {"question": "  "})
