import dspy

from fusion_dspy.programs import Respond, respond_program
from fusion_dspy.signatures import task_signature_of


def test_chat_program_signature():
    assert list(Respond.input_fields) == ["prompt"]
    assert list(Respond.output_fields) == ["response"]
    assert "language of the request" in Respond.instructions
    assert task_signature_of(respond_program()) is Respond
    assert list(task_signature_of(respond_program(chain_of_thought=True)).output_fields) == ["response"]
    assert isinstance(respond_program(chain_of_thought=True), dspy.ChainOfThought)
