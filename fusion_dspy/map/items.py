"""One answer in the map: which method gave it, what it scored and cost, and whether the fusor really fused."""

from __future__ import annotations

from pydantic import BaseModel, Field

from fusion_dspy.candidates import Candidate, CandidatePool
from fusion_dspy.map.cost import ItemCost

CANDIDATE_FREE = ("single",)
"""Methods that use one candidate only (their cost is what getting that one answer cost: `single_attempts`)."""
FUSING = ("fusion", "adaptive")


def single_attempts(pool: CandidatePool) -> list[Candidate]:
    """What a single sample costs a user who retries a failed call: every sample up to and including the first
    that answered (the answer eval's `single` method takes), or all of them when none did."""
    for position, candidate in enumerate(pool.candidates):
        if candidate.ok:
            return pool.candidates[: position + 1]
    return list(pool.candidates)


class ItemResult(BaseModel):
    """One method's answer to one item in one cell, with what it cost and how much the pool agreed."""

    id: str
    language: str
    score: float | None
    second: dict[str, float] = Field(default_factory=dict, description="The task's second metrics (e.g. BLEU).")
    cost: ItemCost
    agreement: float = Field(description="Support of the pool's best candidate under the task's consensus.")
    path: str | None = None
    fell_back: bool = Field(default=False, description="A fusing method whose fusor failed here: the selection's "
                            "answer stands in its place.")  # fmt: skip
    named: bool = Field(default=False, description="A fusing method whose fusor pointed at a candidate instead of "
                        "answering (\"Candidate 2\", or its answer inside a candidate's tags): resolved to that "
                        "text (`fuse.resolve_candidate_references`).")  # fmt: skip
