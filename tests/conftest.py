"""Shared fixtures: scripted LMs from fusion_dspy.testing, and the embedded model for integration tests."""

from __future__ import annotations

import itertools
from collections.abc import Callable

import dspy
import pytest

from fusion_dspy.candidates import Candidate, CandidatePool
from fusion_dspy.testing import ScriptedLM


def pytest_configure(config: pytest.Config) -> None:
    dspy.configure_cache(enable_disk_cache=False)


def is_fusor_prompt(prompt: str) -> bool:
    return "<candidate 1>" in prompt


def sampler_then_fusor(samples: list[dict], fused: dict) -> Callable[[str], dict]:
    """Answer candidate calls from `samples` in turn and fusor calls with `fused`."""
    cycle = itertools.cycle(samples)

    def respond(prompt: str) -> dict:
        return fused if is_fusor_prompt(prompt) else next(cycle)

    return respond


def pool_of(*answers: str | None, field: str = "answer") -> CandidatePool:
    """A crafted pool; None makes a failed candidate."""
    return CandidatePool(
        candidates=[
            Candidate(index=i, outputs={field: a}, source=f"m{i}") if a is not None
            else Candidate(index=i, source=f"m{i}", error="ConnectionError: down")
            for i, a in enumerate(answers)
        ]
    )  # fmt: skip


@pytest.fixture
def qa_signature() -> type[dspy.Signature]:
    return dspy.ensure_signature("question -> answer")


@pytest.fixture
def scripted() -> Callable[..., ScriptedLM]:
    return ScriptedLM


@pytest.fixture(scope="session")
def small_local_lm() -> dspy.LM:
    """The real embedded 0.5B model with a tiny token budget (started once per test session)."""
    from fusion_dspy.lm import local_lm

    return local_lm("local-small", max_tokens=48, temperature=0.7)
