"""The examples run end to end against the real embedded model (the small one, few tokens)."""

import os
import subprocess
import sys
from pathlib import Path

import pytest

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
    assert "Fused answer (from 2 candidates):" in out
    summary = out.split("Summary:")[-1].strip()
    assert summary


def test_five_line_script_uses_the_default_model():
    out = run_example(str(EXAMPLES / "five_lines.py"), env={"FUSION_DSPY_MODEL": "local-small"})
    answer, how = out.strip().splitlines()
    assert "mars" in answer.lower()
    assert how.split(":")[0] in ("fused", "skipped", "floored", "selected") and len(how.split(": ", 1)[1]) > 10
