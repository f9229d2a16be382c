"""A metric's verdict on one answer: its score, and how many LM judgements behind it failed."""

from __future__ import annotations

from pydantic import BaseModel

from fusion_dspy.errors import FusionError


class Measurement(BaseModel):
    """`score` in [0, 1], or None when no judgement behind it succeeded (the answer is then left unscored, not
    given a tie's ½). `failed_judgements` counts the judge calls that failed or answered off-format."""

    score: float | None
    failed_judgements: int = 0


class JudgementFailedError(FusionError):
    """Every judgement of an answer failed, so it has no score (a report counts it instead of guessing one)."""
