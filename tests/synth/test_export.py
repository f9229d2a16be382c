from fusion_dspy.synth.export import _cost
from fusion_dspy.usage import TokenUsage


def test_an_unpriced_model_has_no_cost_and_prints_nothing(capfd):
    import litellm

    litellm.suppress_debug_info = False  # as a fresh process has it
    assert _cost("local", TokenUsage(prompt_tokens=10, completion_tokens=5)) is None
    captured = capfd.readouterr()
    assert "Provider List" not in captured.out + captured.err
