"""A scripted math model for the eval tests: candidates cycle through five numbers, the fusor answers 18, the
judges prefer the first response. The `scripted_math` fixture (a plugin of tests/conftest.py) routes every model
the harness resolves to it."""

import itertools

import pytest

from fusion_dspy.eval import runner as runner_module
from fusion_dspy.testing import ScriptedLM
from tests.conftest import is_fusor_prompt


def math_model(fused: dict | None = None) -> ScriptedLM:
    """`fused`: what the fusor answers (default: reasoning and 18)."""
    numbers = itertools.cycle(["18", "7", "18", "3", "42"])

    def respond(prompt: str) -> dict:
        if "[[ ## response_a ## ]]" in prompt:
            return {"verdict": "A"}
        if "[[ ## response ## ]]" in prompt:
            return {"score": 5}
        if is_fusor_prompt(prompt):
            return fused or {"reasoning": "combined", "answer": "18"}
        return {"reasoning": "step by step", "answer": next(numbers)}

    return ScriptedLM(respond)


@pytest.fixture
def scripted_math(monkeypatch):
    lm = math_model()
    monkeypatch.setattr(runner_module, "resolve_lm", lambda spec=None, **kw: lm)
    return lm
