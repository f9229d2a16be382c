"""Where a fused answer came from, without an LM: the share of it each candidate supports, and the share that is new.

The answer is split into units: words, numbers with their separators (`6,100` is one unit), and each CJK
ideograph or kana on its own (those scripts use no spaces). A unit is *supported* by a candidate when an
n-gram of up to `NGRAM` units around it also occurs in that candidate (shorter answers and candidates use
their own length); a unit no candidate supports is *new*: made by the fusor, not taken from the pool.
"""

from __future__ import annotations

import re
import unicodedata

from pydantic import BaseModel, Field

from fusion_dspy.candidates import CandidatePool

NGRAM = 3
_UNITS = re.compile(r"[\u3040-\u30ff\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff]|\d+(?:[.,]\d+)*|[^\W_]+", re.UNICODE)


class Provenance(BaseModel):
    """Per-candidate support (pool order; None for failed candidates) and the new share of one answer."""

    field: str
    units: int = Field(description="How many units (words, or CJK characters) the answer has.")
    support: list[float | None] = Field(description="Per candidate: the share of the answer's units it supports.")
    new: float = Field(description="The share of the answer's units that no candidate supports.")

    @property
    def taken(self) -> float:
        """The share of the answer found in at least one candidate."""
        return 1.0 - self.new


def units(text: str) -> list[str]:
    """Words (lower-cased, NFKC) and single CJK characters, punctuation dropped."""
    return _UNITS.findall(unicodedata.normalize("NFKC", text).lower())


def _ngrams(tokens: list[str], n: int) -> set[tuple[str, ...]]:
    return {tuple(tokens[i : i + n]) for i in range(len(tokens) - n + 1)}


def covered(answer: list[str], candidate: list[str], ngram: int = NGRAM) -> list[bool]:
    """For each unit of `answer`: does an n-gram containing it occur in `candidate`?"""
    n = min(ngram, len(answer), len(candidate))
    if n == 0:
        return [False] * len(answer)
    shared = _ngrams(candidate, n)
    marks = [False] * len(answer)
    for start in range(len(answer) - n + 1):
        if tuple(answer[start : start + n]) in shared:
            for position in range(start, start + n):
                marks[position] = True
    return marks


def provenance_of(answer: str, pool: CandidatePool, field: str) -> Provenance:
    """How much of `answer` each candidate's `field` supports, and how much is in none of them."""
    tokens = units(answer)
    if not tokens:
        return Provenance(field=field, units=0, support=[None if not c.ok else 0.0 for c in pool], new=0.0)
    support: list[float | None] = []
    anywhere = [False] * len(tokens)
    for candidate in pool:
        if not candidate.ok:
            support.append(None)
            continue
        marks = covered(tokens, units(candidate.text(field)))
        support.append(sum(marks) / len(tokens))
        anywhere = [a or m for a, m in zip(anywhere, marks, strict=True)]
    return Provenance(field=field, units=len(tokens), support=support, new=1.0 - sum(anywhere) / len(tokens))
