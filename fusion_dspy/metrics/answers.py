"""Short-answer match against a list of accepted answers (GeoFactX)."""

from __future__ import annotations

import re
import unicodedata

_PARENTHESES = re.compile(r"\([^)]*\)")
_PUNCTUATION = re.compile(r"[^\w\s]", re.UNICODE)


def normalise_answer(text: str) -> str:
    """NFKC, lower case, no punctuation, single spaces; Thai/Japanese/Chinese keep their characters."""
    text = unicodedata.normalize("NFKC", text).lower()
    return " ".join(_PUNCTUATION.sub(" ", text).split())


def _variants(accepted: str) -> set[str]:
    """An accepted answer and, for `Name (Romanisation)` entries, each part on its own."""
    forms = {accepted, _PARENTHESES.sub(" ", accepted)}
    forms.update(m.strip("()") for m in _PARENTHESES.findall(accepted))
    return {n for n in (normalise_answer(f) for f in forms) if n}


def answer_list_match(predicted: str, accepted: list[str]) -> float:
    """1.0 when the normalised prediction equals an accepted answer or contains it as a whole word/phrase."""
    got = normalise_answer(predicted)
    if not got:
        return 0.0
    padded = f" {got} "
    for answer in accepted:
        for variant in _variants(answer):
            if got == variant or f" {variant} " in padded or (not variant.isascii() and variant in got):
                return 1.0
    return 0.0
