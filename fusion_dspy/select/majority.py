"""Self-consistency: the answer most candidates agree on wins."""

from __future__ import annotations

from collections import Counter
from typing import Any

from fusion_dspy.candidates import CandidatePool
from fusion_dspy.select.base import Scorer
from fusion_dspy.select.normalize import NORMALIZERS, Normalizer
from fusion_dspy.signatures import SignatureType


class MajorityVote(Scorer):
    """Score = share of candidates whose normalised `field` (default: the task's last output) equals this one's.

    `normalize` is "text" (case, spacing, punctuation), "number" (the final number; for math) or a callable.
    """

    def __init__(self, field: str | None = None, normalize: str | Normalizer = "text") -> None:
        super().__init__()
        if isinstance(normalize, str) and normalize not in NORMALIZERS:
            raise ValueError(f"unknown normalize={normalize!r}; use one of {sorted(NORMALIZERS)} or a callable")
        self.field = field
        self._normalize = NORMALIZERS[normalize] if isinstance(normalize, str) else normalize

    async def ascore(self, task: SignatureType, inputs: dict[str, Any], pool: CandidatePool) -> list[float | None]:
        field = self.field or list(task.output_fields)[-1]
        keys = [self._normalize(c.text(field)) if c.ok else None for c in pool]
        counts = Counter(k for k in keys if k is not None)
        voters = sum(counts.values()) or 1
        return [None if k is None else counts[k] / voters for k in keys]
