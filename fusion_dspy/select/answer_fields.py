"""Which output fields are the answer, what kind of value each holds, and the form a value votes in.

Agreement is measured on the answer, never on the reasoning: chain-of-thought fields differ in every sample even
when the answers agree. Each answer field is read by its kind: numbers by value (`18`, `18.0`, `$18`, `1.000` in
German, `十八` are one vote), bool / Literal / enum values exactly, short strings in a normalised form, structured
values (pydantic models, lists, dicts) as canonical JSON, and long free text by graded similarity (chrF).
"""

from __future__ import annotations

import json
import types
from enum import Enum
from typing import Any, Literal, Union, get_args, get_origin

from pydantic import BaseModel
from pydantic_core import to_jsonable_python

from fusion_dspy.candidates import as_text
from fusion_dspy.numbers import parse_number
from fusion_dspy.provenance import units
from fusion_dspy.select.normalize import canonical_number, normalize_text
from fusion_dspy.signatures import SignatureType

AnswerKind = Literal["number", "exact", "short text", "text", "json"]
ANSWER_KINDS: tuple[AnswerKind, ...] = ("number", "exact", "short text", "text", "json")
VERIFIABLE: frozenset[AnswerKind] = frozenset({"number", "exact"})
"""Kinds whose values are right or wrong as a whole: a fused value no candidate gave is an invention there."""

CHAIN_OF_THOUGHT_FIELDS = frozenset(
    {"reasoning", "rationale", "thought", "thoughts", "thinking", "chain_of_thought", "scratchpad"}
)
"""Output fields that hold the way to an answer, not the answer: they never count towards agreement."""

SHORT_UNITS = 5
"""A string of at most this many words (CJK characters count one each) is a short answer: it votes."""
NUMBER_UNITS = 6
"""A string holding a number in at most this many words (`The answer is 18 apples.`) is read as that number."""


def answer_fields(task: SignatureType) -> list[str]:
    """The task's output fields without chain-of-thought ones (all of them when every field is one)."""
    fields = [name for name in task.output_fields if name.lower() not in CHAIN_OF_THOUGHT_FIELDS]
    return fields or list(task.output_fields)


def declared_kind(annotation: Any) -> AnswerKind | None:
    """The kind a field's type fixes (`int` → number, `bool` / `Literal` / enum → exact, pydantic / list / dict →
    json); None for `str` and anything else, whose kind is read from the values (`content_kind`)."""
    origin = get_origin(annotation)
    if origin in (Union, types.UnionType):
        present = [arg for arg in get_args(annotation) if arg is not type(None)]
        return declared_kind(present[0]) if len(present) == 1 else None
    if annotation is bool or origin is Literal or (isinstance(annotation, type) and issubclass(annotation, Enum)):
        return "exact"
    if annotation in (int, float):
        return "number"
    if origin in (list, dict, tuple, set) or annotation in (list, dict, tuple, set):
        return "json"
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return "json"
    return None


def reads_as_number(text: str) -> bool:
    """True when the text is a number, in any style the metrics read, with at most a few words around it."""
    return parse_number(text) is not None and len(units(text)) <= NUMBER_UNITS


def content_kind(values: list[str]) -> AnswerKind:
    """The kind of a `str` field from the candidates' values: a number when most of them read as one, short text
    when most are short, else (long) free text. Empty values have no say."""
    filled = [v for v in values if v.strip()]
    if not filled:
        return "text"
    if 2 * sum(reads_as_number(v) for v in filled) > len(filled):
        return "number"
    if 2 * sum(len(units(v)) <= SHORT_UNITS for v in filled) > len(filled):
        return "short text"
    return "text"


def _plain(value: Any) -> Any:
    """A value as JSON data (pydantic models, enums, sets...), strings normalised, keys sorted when dumped."""
    if isinstance(value, str):
        try:
            value = json.loads(value)
        except ValueError:
            return normalize_text(value)
    data = to_jsonable_python(value, fallback=str)
    if isinstance(data, dict):
        return {str(k): _plain(v) for k, v in data.items()}
    if isinstance(data, list):
        return [_plain(v) for v in data]
    return normalize_text(data) if isinstance(data, str) else data


def vote_key(kind: AnswerKind, value: Any, language: str | None = None) -> str | None:
    """The form `value` votes in under `kind` (for `text`, the normalised text: equal texts are identical);
    None for an empty value, which backs nothing. Numbers are read by `language`'s conventions."""
    if value is None or (isinstance(value, str) and not value.strip()):
        return None
    if kind == "number":
        if isinstance(value, int | float) and not isinstance(value, bool):
            return canonical_number(float(value))
        text = as_text(value)
        number = parse_number(text, language) if reads_as_number(text) else None
        return canonical_number(number) if number is not None else f"text:{normalize_text(text)}"
    if kind == "exact":
        data = to_jsonable_python(value.strip() if isinstance(value, str) else value, fallback=str)
        return json.dumps(data, sort_keys=True, ensure_ascii=False)
    if kind == "json":
        return json.dumps(_plain(value), sort_keys=True, ensure_ascii=False)
    return normalize_text(as_text(value)) or None
