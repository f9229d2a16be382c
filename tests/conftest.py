"""Shared fixtures: scripted LMs from fusion_dspy.testing, the embedded model for integration tests, and benchmark
files: every test reads a tiny synthetic benchmark folder (tests/benchmark_files.py); tests that need the real
files ask for `real_data_dir` and are skipped, with the reason, when those are absent."""

from __future__ import annotations

import itertools
import os
from collections.abc import Callable, Iterator
from pathlib import Path

import dspy
import pytest

from fusion_dspy.candidates import Candidate, CandidatePool
from fusion_dspy.data.locate import DATA_DIR_ENV
from fusion_dspy.testing import ScriptedLM
from tests.benchmark_files import write_benchmark_folder

pytest_plugins = ["tests.eval.scripted_math"]  # the `scripted_math` fixture

PROJECT_ROOT = Path(__file__).resolve().parents[1]
_REAL_DATA_DIR_SETTING = os.environ.get(DATA_DIR_ENV)


def pytest_configure(config: pytest.Config) -> None:
    dspy.configure_cache(enable_disk_cache=False)


@pytest.fixture(scope="session")
def benchmark_folder(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The synthetic benchmark folder, written once per session."""
    return write_benchmark_folder(tmp_path_factory.mktemp("benchmark-data"))


@pytest.fixture(autouse=True)
def synthetic_benchmarks(benchmark_folder: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """Loaders (and subprocesses) read the synthetic folder, so no test depends on ../shared/data."""
    monkeypatch.setenv(DATA_DIR_ENV, str(benchmark_folder))
    yield benchmark_folder


def real_data_folder() -> Path | None:
    """The real benchmark folder as the library would find it from the project root, or None."""
    if _REAL_DATA_DIR_SETTING:
        return Path(_REAL_DATA_DIR_SETTING) if Path(_REAL_DATA_DIR_SETTING).is_dir() else None
    sibling = PROJECT_ROOT.parent / "shared" / "data"
    return sibling if sibling.is_dir() else None


@pytest.fixture
def real_data_dir(monkeypatch: pytest.MonkeyPatch) -> Path:
    """The real benchmark files, for the few tests that check the loaders against them; skips when absent."""
    found = real_data_folder()
    if found is None:
        pytest.skip(
            f"the real benchmark files are absent (no shared/data beside the project and {DATA_DIR_ENV} unset); "
            "the same code paths run on the synthetic fixture folder"
        )
    monkeypatch.setenv(DATA_DIR_ENV, str(found))
    return found


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
