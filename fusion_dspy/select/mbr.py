"""Minimum Bayes risk: the candidate most similar to all the others (consensus without an LM)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from sacrebleu.metrics import CHRF

from fusion_dspy.candidates import CandidatePool
from fusion_dspy.select.base import Scorer
from fusion_dspy.signatures import SignatureType

Similarity = Callable[[str, str], float]

_CHRF = CHRF()


def chrf(hypothesis: str, reference: str) -> float:
    """Sentence-level chrF in [0, 1]."""
    return float(_CHRF.sentence_score(hypothesis, [reference]).score) / 100.0


class MBRScorer(Scorer):
    """Score = mean similarity of a candidate's `field` to every other successful candidate's (chrF by default)."""

    def __init__(self, field: str | None = None, similarity: Similarity = chrf) -> None:
        super().__init__()
        self.field = field
        self._similarity = similarity

    async def ascore(self, task: SignatureType, inputs: dict[str, Any], pool: CandidatePool) -> list[float | None]:
        field = self.field or list(task.output_fields)[-1]
        texts = {c.index: c.text(field) for c in pool.succeeded}
        scores: list[float | None] = []
        for candidate in pool:
            if not candidate.ok:
                scores.append(None)
                continue
            others = [t for i, t in texts.items() if i != candidate.index]
            mine = texts[candidate.index]
            scores.append(sum(self._similarity(mine, o) for o in others) / len(others) if others else 1.0)
        return scores
