"""Exact match of the final number (math benchmarks such as MGSM and GSM8K)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from fusion_dspy.numbers import parse_number


def numeric_match(predicted: str, reference: str, language: str | None = None) -> float:
    """1.0 when the final numbers agree (to 1e-6), else 0.0; `predicted` is read by `language`'s conventions."""
    got, want = parse_number(predicted, language), parse_number(reference)
    return float(got is not None and want is not None and abs(got - want) < 1e-6)


def answer_text(outputs: Mapping[str, Any], fields: Sequence[str] = ("answer", "reasoning")) -> str:
    """The first of `fields` that holds a number: the answer field, else the reasoning's last number."""
    texts = [str(outputs.get(name) or "") for name in fields]
    return next((t for t in texts if parse_number(t) is not None), texts[0])


__all__ = ["answer_text", "numeric_match", "parse_number"]
