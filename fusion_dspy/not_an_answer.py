"""Fusor outputs that are not answers: template placeholders and copies of the fusor's own instructions.

A small fusor sometimes writes `{response}`, `[[ ## answer ## ]]` or its prompt back instead of an answer. Such an
output is a failure of the fusor (the caller falls back to a flagged selection), never an answer, unless a
candidate said the same: then it is what the task asked for (e.g. a template-writing task).
"""

from __future__ import annotations

import re
from typing import Any

from fusion_dspy.candidates import Candidate, as_text
from fusion_dspy.select.normalize import normalize_text

_TEMPLATE_PARTS = re.compile(
    r"\{\{?\s*[\w .\-]{0,40}\s*\}?\}"  # {response}, {{ answer }}, {}
    r"|\$\{\s*\w*\s*\}"  # ${answer}
    r"|\[\[\s*#*\s*[\w ]{0,40}#*\s*\]\]"  # [[ ## answer ## ]]
    r"|<\s*/?\s*[\w .\-]{1,40}\s*/?>"  # <answer>, </response>
    r"|\[\s*(?:answer|response|output|your answer|insert[\w ]{0,30})\s*\]",  # [answer], [insert answer here]
    re.IGNORECASE,
)
COPY_SHARE = 0.6
"""Share of an output's word trigrams found in the instructions at which it is a copy of them."""
COPY_MIN_WORDS = 8
"""Shorter outputs are never called a copy: a few shared words are a coincidence."""


def placeholder(value: Any) -> bool:
    """True when `value` is only template residue: placeholders, field markers or tags, with no text of its own."""
    if not isinstance(value, str) or not _TEMPLATE_PARTS.search(value):
        return False
    return not re.sub(r"\W+", "", _TEMPLATE_PARTS.sub(" ", value))


def copies_instructions(value: Any, instructions: str) -> bool:
    """True when `value` is (mostly) the instructions the fusor was given, written back."""
    if not isinstance(value, str) or not instructions.strip():
        return False
    words = normalize_text(value).split()
    if len(words) < COPY_MIN_WORDS:
        return False
    given = set(_trigrams(normalize_text(instructions).split()))
    mine = _trigrams(words)
    return sum(t in given for t in mine) >= COPY_SHARE * len(mine)


def not_an_answer(outputs: dict[str, Any], instructions: str, shown: list[Candidate]) -> str | None:
    """Why the fusor's `outputs` are not an answer (naming the field), or None. A value some candidate gave for
    the same field is an answer whatever it looks like."""
    for name, value in outputs.items():
        said = {normalize_text(c.text(name)) for c in shown if name in c.outputs}
        if normalize_text(as_text(value)) in said:
            continue
        if placeholder(value):
            return f"fusor wrote a template placeholder for {name!r} ({value.strip()[:40]!r}) instead of an answer"
        if copies_instructions(value, instructions):
            return f"fusor copied its instructions into {name!r} instead of answering"
    return None


def _trigrams(words: list[str]) -> list[tuple[str, ...]]:
    return [tuple(words[i : i + 3]) for i in range(max(len(words) - 2, 0))]
