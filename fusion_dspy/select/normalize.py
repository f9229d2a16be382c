"""Answer normalisers for voting: text that differs only in case, spacing or punctuation counts as one."""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Callable

from fusion_dspy.numbers import parse_number

Normalizer = Callable[[str], str]

_PUNCTUATION = re.compile(r"[^\w\s]", re.UNICODE)


def normalize_text(text: str) -> str:
    """Unicode-normalised, lower-cased, punctuation-free, single-spaced."""
    text = unicodedata.normalize("NFKC", text).lower()
    return " ".join(_PUNCTUATION.sub(" ", text).split())


def canonical_number(value: float) -> str:
    """One spelling per value (`1234.50` → `1234.5`, `18.0` → `18`), so equal numbers vote together."""
    return str(int(value)) if float(value).is_integer() else repr(float(value))


def final_number(text: str) -> str:
    """The final number, canonical (`1,234.50` → `1234.5`), read as the math metric reads it; the normalised text
    when there is none."""
    value = parse_number(text)
    if value is None:
        return normalize_text(text)
    return canonical_number(value)


NORMALIZERS: dict[str, Normalizer] = {"text": normalize_text, "number": final_number}
