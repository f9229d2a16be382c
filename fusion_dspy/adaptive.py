"""Adaptive fusion: spend a fusor call only where it can help, and keep the candidates as a floor under it."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel

from fusion_dspy.aggregator import Aggregation, Aggregator, Path
from fusion_dspy.candidates import CandidatePool
from fusion_dspy.errors import ConfigurationError
from fusion_dspy.select.consensus import ConsensusScorer
from fusion_dspy.select.normalize import normalize_text
from fusion_dspy.signatures import SignatureType

TOLERANCE = 1e-9
DEFAULT_SKIP_AGREEMENT = 0.9
DEFAULT_FLOOR_MARGIN = 0.2


class Evidence(BaseModel):
    """What the pool says before any fusor call: do the candidates agree, and which one does the pool back most."""

    alive: int
    identical: bool
    best: int
    agreement: float
    scores: list[float | None]


class AdaptiveFusion(Aggregator):
    """Fuses only when the candidates disagree, and falls back to the best selection when fusion goes astray.

    1. **Skip**: when the candidates agree — identical answers (`skip_identical`), or the best candidate's
       consensus support reaching `skip_agreement` — that candidate is the answer and no fusor call is made.
    2. **Fuse** with `fuser` (a `Fuser`, or any aggregator that fuses, e.g. a `LanguageRouter`).
    3. **Floor**: when the fused answer's support from the pool falls more than `floor_margin` below the best
       candidate's, the fused answer is an unsupported outlier and the best candidate is returned instead. A
       negative margin asks more: the fused answer stands only when its support *exceeds* the best candidate's
       by that much (a blend of free-text candidates is central by construction, so equal support is weak
       evidence); -1 keeps no fused answer, so adaptive fusion returns its selection. Under a vote no answer
       outpolls the majority, so there a negative margin floors every fused answer: the fusor is not called.

    Support is measured by `consensus`, with no LM call: `MajorityVote` for verifiable answers (the share of
    candidates giving the same normalised answer), `MBRScorer` for free text (mean symmetric chrF to the
    others). The thresholds are plain attributes; `None` turns a step off, so optimisers can set them.
    The result says which path was taken (`path`: fused, skipped, floored, or selected when the fuser fell
    back) and why (`reason`).
    """

    def __init__(
        self,
        fuser: Aggregator | None = None,
        *,
        consensus: ConsensusScorer | None = None,
        skip_identical: bool = True,
        skip_agreement: float | None = DEFAULT_SKIP_AGREEMENT,
        floor_margin: float | None = DEFAULT_FLOOR_MARGIN,
    ) -> None:
        super().__init__()
        from fusion_dspy.fuse import Fuser
        from fusion_dspy.select.mbr import MBRScorer

        if skip_agreement is not None and not 0.0 <= skip_agreement <= 1.0:
            raise ConfigurationError(
                f"skip_agreement must be in [0, 1], or None to turn that step off; got {skip_agreement}."
            )
        if floor_margin is not None and not -1.0 <= floor_margin <= 1.0:
            raise ConfigurationError(
                f"floor_margin must be in [-1, 1] (negative: the fused answer must beat the best candidate's "
                f"support by that much), or None to turn the floor off; got {floor_margin}."
            )
        self.fuser = fuser if fuser is not None else Fuser()
        self.consensus = consensus if consensus is not None else MBRScorer()
        self.skip_identical = skip_identical
        self.skip_agreement = skip_agreement
        self.floor_margin = floor_margin

    @classmethod
    def identical_only(cls, fuser: Aggregator | None = None) -> AdaptiveFusion:
        """Plain fusion that only skips the fusor when every candidate gives the same answer."""
        return cls(fuser, skip_agreement=None, floor_margin=None)

    def bind(self, task: SignatureType) -> AdaptiveFusion:
        if self.bound_elsewhere(task):
            return self.unbound_copy().bind(task)
        self.task = task
        self.fuser = self.fuser.bind(task)  # a fuser bound to another signature comes back as a bound copy
        return self

    @property
    def policy(self) -> dict[str, Any]:
        """The settings that decide every path: stored with results so stale ones can be recomputed."""
        return {
            "consensus": self.consensus.label,
            "skip_identical": self.skip_identical,
            "skip_agreement": self.skip_agreement,
            "floor_margin": self.floor_margin,
            "futile_fusion": "not called",  # how a fusor call the floor must reject is handled (`futile_reason`)
        }

    async def aaggregate(self, inputs: dict[str, Any], pool: CandidatePool) -> Aggregation:
        evidence = await self.aevidence(inputs, pool)
        without_fusor = self.without_fusor(pool, evidence)
        if without_fusor is not None:
            return without_fusor
        fused = await self.fuser.aaggregate(inputs, pool)
        return self.floor(pool, evidence, fused)

    async def aevidence(self, inputs: dict[str, Any], pool: CandidatePool) -> Evidence:
        """The pool's agreement, measured without an LM."""
        task = self._bound_task()
        alive = pool.succeeded
        scores = await self.consensus.ascore(task, inputs, pool)
        scored = [(s, c.index) for s, c in zip(scores, pool, strict=True) if c.ok and s is not None]
        agreement, best = max(scored, key=lambda pair: (pair[0], -pair[1])) if scored else (0.0, alive[0].index)
        keys = {tuple(normalize_text(c.text(name)) for name in task.output_fields) for c in alive}
        return Evidence(alive=len(alive), identical=len(alive) >= 2 and len(keys) == 1, best=best,
                        agreement=agreement, scores=scores)  # fmt: skip

    def skip_reason(self, evidence: Evidence) -> str | None:
        """Why the fusor call can be skipped, or None when it should be made."""
        if evidence.alive < 2:
            return None
        if self.skip_identical and evidence.identical:
            return f"all {evidence.alive} candidates give the same answer"
        if self.skip_agreement is not None and evidence.agreement >= self.skip_agreement - TOLERANCE:
            said = self.consensus.describe(evidence.agreement, evidence.alive)
            return f"the candidates agree ({said} back the best one; skip_agreement {self.skip_agreement:g})"
        return None

    def floor_reason(self, evidence: Evidence, support: float) -> str | None:
        """Why the fused answer is an unsupported outlier, or None when it stands."""
        if evidence.alive < 2 or self.floor_margin is None:
            return None
        if evidence.agreement - support > self.floor_margin + TOLERANCE:
            fused = self.consensus.describe(support, evidence.alive)
            best = self.consensus.describe(evidence.agreement, evidence.alive)
            verdict = "is unsupported" if support < evidence.agreement else "does not beat by the margin"
            return (
                f"the fused answer {verdict} ({fused}) against the best candidate ({best}); "
                f"floor_margin {self.floor_margin:g}"
            )
        return None

    def futile_reason(self, evidence: Evidence) -> str | None:
        """Why the floor would reject any fused answer (so a fusor call cannot change the result), or None."""
        if evidence.alive < 2 or self.floor_margin is None or self.floor_margin >= -TOLERANCE:
            return None
        if not self.consensus.bounded_by_best:
            return None
        return (
            f"floor_margin {self.floor_margin:g} keeps a fused answer only when it has more support than the best "
            f"candidate, which no answer can have under {self.consensus.label}: selected without a fusor call"
        )

    def decide(self, evidence: Evidence, support: float | None = None) -> tuple[Path, str | None]:
        """The path these thresholds take, and why: `skipped` (the candidates agree), `floored` (the floor rejects
        any fused answer, or this one with `support`), else `fused`. With `support` None (before a fusor call)
        `fused` means "call the fusor". The one place the order of the steps is written; threshold tuning
        replays it on stored pools."""
        reason = self.skip_reason(evidence)
        if reason is not None:
            return "skipped", reason
        reason = self.futile_reason(evidence)
        if reason is None and support is not None:
            reason = self.floor_reason(evidence, support)
        return ("fused", None) if reason is None else ("floored", reason)

    def without_fusor(self, pool: CandidatePool, evidence: Evidence) -> Aggregation | None:
        """The answer when a fusor call cannot help: the consensus candidate when the candidates agree
        (`skipped`), the best candidate when the floor would reject any fused answer (`floored`); None when
        fusion should go ahead."""
        path, reason = self.decide(evidence)
        return None if reason is None else self._select(pool, evidence, path, reason)

    def floor(self, pool: CandidatePool, evidence: Evidence, fused: Aggregation) -> Aggregation:
        """The fused answer, or the best candidate when the pool does not back the fused answer."""
        if fused.method != "fused":
            return fused.model_copy(update={"agreement": evidence.agreement})
        field = self.consensus.field_of(self._bound_task())
        texts = [c.text(field) for c in pool.succeeded]
        support = self.consensus.support(str(fused.outputs.get(field, "")), texts)
        reason = self.floor_reason(evidence, support)
        if reason is not None:
            floored = self._select(pool, evidence, "floored", reason)
            return floored.model_copy(update={"support": support})
        said = self.consensus.describe(support, evidence.alive)
        best = self.consensus.describe(evidence.agreement, evidence.alive)
        return fused.model_copy(
            update={"agreement": evidence.agreement, "support": support,
                    "reason": f"the pool backs the fused answer ({said}; best candidate: {best})"}
        )  # fmt: skip

    def _select(self, pool: CandidatePool, evidence: Evidence, path: Path, reason: str) -> Aggregation:
        chosen = next(c for c in pool if c.index == evidence.best)
        outputs = {**{name: None for name in self._bound_task().output_fields}, **chosen.outputs}  # its reasoning too
        return Aggregation(outputs=outputs, method="selected", chosen=chosen.index, scores=evidence.scores,
                           path=path, reason=reason, agreement=evidence.agreement)  # fmt: skip
