"""Self-consistency: the answer most candidates agree on wins."""

from __future__ import annotations

from fusion_dspy.select.answer_fields import AnswerKind
from fusion_dspy.select.consensus import ConsensusScorer
from fusion_dspy.select.normalize import NORMALIZERS, Normalizer


class MajorityVote(ConsensusScorer):
    """Score = share of candidates whose normalised `field` (default: the task's last output) equals this one's.

    `normalize` is "text" (case, spacing, punctuation), "number" (the final number; for math) or a callable.
    """

    bounded_by_best = True  # an answer's votes never exceed the majority's
    unit = "candidates"

    def __init__(self, field: str | None = None, normalize: str | Normalizer = "text") -> None:
        super().__init__()
        if isinstance(normalize, str) and normalize not in NORMALIZERS:
            raise ValueError(f"unknown normalize={normalize!r}; use one of {sorted(NORMALIZERS)} or a callable")
        self.field = field
        self.normalize_name = normalize if isinstance(normalize, str) else getattr(normalize, "__name__", "custom")
        self._normalize = NORMALIZERS[normalize] if isinstance(normalize, str) else normalize

    def key(self, text: str) -> str:
        """The normalised answer votes are counted on."""
        return self._normalize(text)

    def support(self, answer: str, texts: list[str]) -> float:
        """The share of `texts` that give the same normalised answer."""
        if not texts:
            return 0.0
        mine = self.key(answer)
        return sum(self.key(t) == mine for t in texts) / len(texts)

    @property
    def answer_type(self) -> AnswerKind:
        return "number" if self.normalize_name == "number" else "short text"

    @property
    def label(self) -> str:
        return f"MajorityVote({self.normalize_name})"
