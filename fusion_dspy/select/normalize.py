"""Answer normalisers for voting: text that differs only in case, spacing or punctuation counts as one."""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Callable

Normalizer = Callable[[str], str]

_NUMBER = re.compile(r"-?\d[\d,]*(?:\.\d+)?")
_PUNCTUATION = re.compile(r"[^\w\s]", re.UNICODE)


def normalize_text(text: str) -> str:
    """Unicode-normalised, lower-cased, punctuation-free, single-spaced."""
    text = unicodedata.normalize("NFKC", text).lower()
    return " ".join(_PUNCTUATION.sub(" ", text).split())


def final_number(text: str) -> str:
    """The last number in the text, canonical (`1,234.50` → `1234.5`); the normalised text when there is none."""
    numbers = _NUMBER.findall(unicodedata.normalize("NFKC", text))
    if not numbers:
        return normalize_text(text)
    value = float(numbers[-1].replace(",", ""))
    return str(int(value)) if value.is_integer() else repr(value)


NORMALIZERS: dict[str, Normalizer] = {"text": normalize_text, "number": final_number}
