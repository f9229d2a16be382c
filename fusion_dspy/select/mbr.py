"""Minimum Bayes risk: the candidate most similar to all the others (consensus without an LM)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from sacrebleu.metrics import CHRF

from fusion_dspy.candidates import CandidatePool
from fusion_dspy.select.consensus import ConsensusScorer
from fusion_dspy.signatures import SignatureType

Similarity = Callable[[str, str], float]

_CHRF = CHRF()
_CHRF_F1 = CHRF(beta=1)


def chrf(hypothesis: str, reference: str) -> float:
    """Sentence-level chrF in [0, 1] (β=2: recall counts twice; one direction, so not symmetric)."""
    return float(_CHRF.sentence_score(hypothesis, [reference]).score) / 100.0


def symmetric_chrf(a: str, b: str) -> float:
    """chrF with β=1 in [0, 1]: precision and recall weigh the same, so sim(a, b) == sim(b, a); equal texts score 1.

    With the one-directional β=2 chrF a candidate that adds text around two identical ones (quotes, a preamble)
    recalls all of theirs and outscores them; with a symmetric similarity identical candidates back each other.
    """
    if a.strip() == b.strip():
        return 1.0
    return float(_CHRF_F1.sentence_score(a, [b]).score) / 100.0


def consensus_support(answer: str, texts: list[str], similarity: Similarity = symmetric_chrf) -> float:
    """Mean similarity of `answer` to `texts`, leaving out the one closest to it (the candidate itself, when
    `answer` is one): a fused answer that copies a candidate gets exactly that candidate's score."""
    if len(texts) < 2:
        return similarity(answer, texts[0]) if texts else 0.0
    similarities = sorted(similarity(answer, t) for t in texts)
    return sum(similarities[:-1]) / (len(similarities) - 1)


class MBRScorer(ConsensusScorer):
    """Score = mean similarity of a candidate's `field` to every other successful candidate's (symmetric chrF)."""

    unit = "consensus"

    def __init__(self, field: str | None = None, similarity: Similarity = symmetric_chrf) -> None:
        super().__init__()
        self.field = field
        self._similarity = similarity

    def support(self, answer: str, texts: list[str]) -> float:
        """Mean similarity to `texts` without the closest one (see `consensus_support`)."""
        return consensus_support(answer, texts, self._similarity)

    @property
    def label(self) -> str:
        return f"MBRScorer({getattr(self._similarity, '__name__', 'custom')})"

    async def ascore(self, task: SignatureType, inputs: dict[str, Any], pool: CandidatePool) -> list[float | None]:
        field = self.field_of(task)
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
