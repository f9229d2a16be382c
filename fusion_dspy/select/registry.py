"""Scorers by name, for the CLI and for configuration files."""

from __future__ import annotations

from collections.abc import Callable

import dspy

from fusion_dspy.errors import ConfigurationError
from fusion_dspy.select.base import Scorer
from fusion_dspy.select.judge import JudgeScorer
from fusion_dspy.select.majority import MajorityVote
from fusion_dspy.select.mbr import MBRScorer
from fusion_dspy.select.pairwise import PairwiseScorer

ScorerFactory = Callable[[dspy.BaseLM | str | None], Scorer]

SCORERS: dict[str, ScorerFactory] = {
    "mbr": lambda lm: MBRScorer(),
    "majority": lambda lm: MajorityVote(),
    "judge": lambda lm: JudgeScorer(lm=lm),
    "pairwise": lambda lm: PairwiseScorer(lm=lm),
}


def scorer_by_name(name: str, lm: dspy.BaseLM | str | None = None) -> Scorer:
    """A scorer from its short name; LLM scorers judge with `lm` (default: the configured model)."""
    if name not in SCORERS:
        raise ConfigurationError(f"unknown scorer {name!r}; choose one of {', '.join(SCORERS)}.")
    return SCORERS[name](lm)
