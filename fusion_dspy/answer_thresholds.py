"""Adaptive fusion's thresholds as data: per kind of answer for any signature (`answer_thresholds.json`, beside
this module), per task in `programs/adaptive.json`. Both are written by `fusion-dspy thresholds --write`, with how
and on which tuning slice they were chosen.

A kind with no stored entry gets an a priori default; the vote kinds with no data of their own in this project
(exact values, short strings, JSON) take the number thresholds, since they are votes too, and say so.
"""

from __future__ import annotations

from pathlib import Path

from pydantic import BaseModel, Field

from fusion_dspy.files import write_atomically
from fusion_dspy.select.answer_fields import ANSWER_KINDS, AnswerKind

A_PRIORI_SKIP_AGREEMENT = 0.9
A_PRIORI_FLOOR_MARGIN = 0.2


class Thresholds(BaseModel):
    """The two knobs of `AdaptiveFusion` (None turns a step off) and the evidence they were chosen on."""

    skip_agreement: float | None = Field(description="Skip the fusor when the best candidate's support reaches this.")
    floor_margin: float | None = Field(
        description="Floor when the fused answer's support is this far below the best candidate's (negative: "
        "unless it is this far above)."
    )
    basis: str = Field(default="a priori default", description="How these values were chosen, and on which data.")


A_PRIORI: dict[str, Thresholds] = {
    "text": Thresholds(skip_agreement=A_PRIORI_SKIP_AGREEMENT, floor_margin=A_PRIORI_FLOOR_MARGIN,
                       basis="a priori default for free text (not tuned)"),
    "number": Thresholds(skip_agreement=0.6, floor_margin=0.0, basis="a priori default for votes (not tuned)"),
}  # fmt: skip
BORROWS_NUMBER: tuple[AnswerKind, ...] = ("exact", "short text", "json")


class AnswerTypeFile(BaseModel):
    answer_types: dict[AnswerKind, Thresholds] = Field(default_factory=dict)


def default_path() -> Path:
    """`answer_thresholds.json` beside this module."""
    return Path(__file__).resolve().parent / "answer_thresholds.json"


def _stored(path: Path | None) -> dict[AnswerKind, Thresholds]:
    path = path or default_path()
    if not path.is_file():
        return {}
    return AnswerTypeFile.model_validate_json(path.read_text(encoding="utf-8")).answer_types


def answer_thresholds(path: Path | None = None) -> dict[AnswerKind, Thresholds]:
    """The thresholds for every kind of answer: stored ones, else borrowed from numbers, else a priori."""
    stored = _stored(path)
    table: dict[AnswerKind, Thresholds] = {}
    for kind in ANSWER_KINDS:
        if kind in stored:
            table[kind] = stored[kind]
        elif kind in BORROWS_NUMBER:
            number = stored.get("number") or A_PRIORI["number"]
            basis = f"the number thresholds (a vote too; none chosen on {kind} answers): {number.basis}"
            table[kind] = number.model_copy(update={"basis": basis})
        else:
            table[kind] = A_PRIORI[kind]
    return table


def save_answer_thresholds(kind: AnswerKind, thresholds: Thresholds, path: Path | None = None) -> Path:
    """Store (or replace) the thresholds of one kind of answer, atomically; returns the file."""
    path = path or default_path()
    stored = AnswerTypeFile(answer_types=_stored(path))
    stored.answer_types[kind] = thresholds
    write_atomically(path, stored.model_dump_json(indent=2) + "\n")
    return path
