"""Exact match of the final number (math benchmarks such as MGSM and GSM8K)."""

from __future__ import annotations

import re
import unicodedata

_NUMBER = re.compile(r"-?\d+(?:[.,]\d{3})*(?:\.\d+)?|-?\d+(?:\.\d+)?")


def parse_number(text: str) -> float | None:
    """The last number in `text`; thousands separators (`1,234`, `1.234.567`) are understood, `1.5` is decimal."""
    matches = _NUMBER.findall(unicodedata.normalize("NFKC", str(text)))
    if not matches:
        return None
    raw = matches[-1]
    if "," in raw:
        raw = raw.replace(",", "")
    elif raw.count(".") > 1:
        raw = raw.replace(".", "")
    try:
        return float(raw)
    except ValueError:
        return None


def numeric_match(predicted: str, reference: str) -> float:
    """1.0 when the final numbers agree (to 1e-6), else 0.0."""
    got, want = parse_number(predicted), parse_number(reference)
    return float(got is not None and want is not None and abs(got - want) < 1e-6)
