"""Adaptive fusion: spend a fusor call only where it can help, and keep the candidates as a floor under it."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, ClassVar, Final, Literal

from pydantic import BaseModel

from fusion_dspy.aggregator import Aggregation, Aggregator, Path
from fusion_dspy.answer_thresholds import A_PRIORI_FLOOR_MARGIN, A_PRIORI_SKIP_AGREEMENT, Thresholds, answer_thresholds
from fusion_dspy.candidates import CandidatePool
from fusion_dspy.errors import ConfigurationError
from fusion_dspy.select.answer_consensus import AnswerConsensus
from fusion_dspy.select.answer_fields import AnswerKind
from fusion_dspy.select.base import pick_best
from fusion_dspy.select.consensus import ConsensusScorer, FusedSupport, Unit, describe_support
from fusion_dspy.signatures import SignatureType

TOLERANCE = 1e-9
DEFAULT_SKIP_AGREEMENT = A_PRIORI_SKIP_AGREEMENT
DEFAULT_FLOOR_MARGIN = A_PRIORI_FLOOR_MARGIN
BY_ANSWER_TYPE: Final = "by answer type"
Threshold = float | None | Literal["by answer type"]


class Evidence(BaseModel):
    """What the pool says before any fusor call: do the candidates agree, and which one does the pool back most."""

    alive: int
    identical: bool
    best: int
    agreement: float
    scores: list[float | None]
    answer_type: AnswerKind = "text"
    measure: str = ""
    votes: bool = False
    unit: Unit = "support"

    def describe(self, value: float) -> str:
        return describe_support(self.unit, value, self.alive)


class AdaptiveFusion(Aggregator):
    """Fuses only when the candidates disagree, and falls back to the best selection when fusion goes astray.

    1. **Skip**: when the candidates agree — identical answers (`skip_identical`), or the best candidate's
       consensus support reaching `skip_agreement` — that candidate is the answer and no fusor call is made.
    2. **Fuse** with `fuser` (a `Fuser`, or any aggregator that fuses, e.g. a `LanguageRouter`).
    3. **Floor**: a fused value that no candidate gives, where more than half of the pool agrees on another, is
       an invention and the best candidate is returned instead (`floor_invention`, for verifiable answers:
       numbers, exact values). Otherwise, when the fused answer's support falls more than `floor_margin` below
       the best candidate's, it is an unsupported outlier and the best candidate is returned. A negative margin
       asks more: the fused answer stands only when its support *exceeds* the best candidate's by that much (a
       blend of free-text candidates is central by construction, so equal support is weak evidence); -1 keeps
       no fused answer. Under a vote no answer outpolls the majority, so there a negative margin floors every
       fused answer: the fusor is not called. `floor_outvoted` (on by default, also under plain `FusionOfN`)
       floors a voted answer (numbers, exact values, short strings) backed by fewer candidates than a majority
       of the pool gives for another: a fusor that followed one injected or stray candidate against a pool that
       agrees. Where no value has a majority the candidates genuinely differ, and the fused answer stands.

    Support is measured by `consensus`, with no LM: by default `AnswerConsensus`, which reads the signature's
    answer fields (never the reasoning) by kind: numbers by value, exact values, short strings normalised, long
    text by symmetric-chrF consensus. The thresholds default to the ones chosen for the pool's kind of answer
    (`BY_ANSWER_TYPE`, from `fusion_dspy/answer_thresholds.json`); a number sets them for every pool, `None`
    turns a step off; they are plain attributes, so optimisers can set them. The best candidate is the one
    with the most support; a tie is broken at random, seeded by `seed` and the input, as `Selector` does. The
    result says which path was taken (`path`: fused, skipped, floored, or selected when the fuser fell back)
    and why (`reason`, naming the consensus used).
    """

    tunable: ClassVar[tuple[str, ...]] = (
        "skip_identical", "skip_agreement", "floor_margin", "floor_invention", "floor_outvoted", "seed",
        "thresholds_by_type",
    )  # fmt: skip
    """Saved with the program's state (`fusion_dspy.state`)."""

    def __init__(
        self,
        fuser: Aggregator | None = None,
        *,
        consensus: ConsensusScorer | None = None,
        skip_identical: bool = True,
        skip_agreement: Threshold = BY_ANSWER_TYPE,
        floor_margin: Threshold = BY_ANSWER_TYPE,
        floor_invention: bool = True,
        floor_outvoted: bool = True,
        seed: int = 0,
        thresholds_by_type: Mapping[AnswerKind, Thresholds] | None = None,
    ) -> None:
        super().__init__()
        from fusion_dspy.fuse import Fuser

        _check("skip_agreement", skip_agreement, 0.0, "to turn that step off")
        _check("floor_margin", floor_margin, -1.0, "to turn the floor off; negative: the fused answer must beat "
               "the best candidate's support by that much")  # fmt: skip
        self.fuser = fuser if fuser is not None else Fuser()
        self.consensus = consensus if consensus is not None else AnswerConsensus()
        self.skip_identical = skip_identical
        self.skip_agreement = skip_agreement
        self.floor_margin = floor_margin
        self.floor_invention = floor_invention
        self.floor_outvoted = floor_outvoted
        self.seed = seed
        self.thresholds_by_type = dict(thresholds_by_type if thresholds_by_type is not None else answer_thresholds())

    @classmethod
    def identical_only(cls, fuser: Aggregator | None = None) -> AdaptiveFusion:
        """Plain fusion that only skips the fusor when every candidate gives the same answer, and keeps the no-LM
        check that a fused answer is not outvoted by a majority of the pool (`floor_outvoted`)."""
        return cls(fuser, skip_agreement=None, floor_margin=None, floor_invention=False, floor_outvoted=True)

    def bind(self, task: SignatureType) -> AdaptiveFusion:
        if self.bound_elsewhere(task):
            return self.unbound_copy().bind(task)
        self.task = task
        self.fuser = self.fuser.bind(task)  # a fuser bound to another signature comes back as a bound copy
        return self

    @property
    def policy(self) -> dict[str, Any]:
        """The settings that decide every path: stored with results so stale ones can be recomputed."""
        policy: dict[str, Any] = {
            "consensus": self.consensus.label,
            "skip_identical": self.skip_identical,
            "skip_agreement": self.skip_agreement,
            "floor_margin": self.floor_margin,
            "floor_invention": self.floor_invention,
            "floor_outvoted": self.floor_outvoted,
            "tie_break": f"seeded random, seed {self.seed}",
            "futile_fusion": "not called",  # how a fusor call the floor must reject is handled (`futile_reason`)
        }
        if BY_ANSWER_TYPE in (self.skip_agreement, self.floor_margin):
            policy["by_answer_type"] = {kind: [t.skip_agreement, t.floor_margin]
                                        for kind, t in sorted(self.thresholds_by_type.items())}  # fmt: skip
        return policy

    def thresholds(self, answer_type: AnswerKind) -> tuple[float | None, float | None]:
        """(skip_agreement, floor_margin) for a pool whose answers are of `answer_type`: the numbers set on this
        policy, or the stored ones for that kind where a threshold is `BY_ANSWER_TYPE`."""
        by_type = BY_ANSWER_TYPE in (self.skip_agreement, self.floor_margin)
        stored = self.thresholds_by_type.get(answer_type)
        if by_type and stored is None:
            raise ConfigurationError(
                f"no thresholds for {answer_type!r} answers in thresholds_by_type; add them, or set skip_agreement "
                "and floor_margin to numbers."
            )
        skip = self.skip_agreement
        floor = self.floor_margin
        return (
            stored.skip_agreement if stored is not None and isinstance(skip, str) else _number(skip),
            stored.floor_margin if stored is not None and isinstance(floor, str) else _number(floor),
        )

    async def aaggregate(self, inputs: dict[str, Any], pool: CandidatePool) -> Aggregation:
        evidence = await self.aevidence(inputs, pool)
        without_fusor = self.without_fusor(pool, evidence)
        if without_fusor is not None:
            return without_fusor
        fused = await self.fuser.aaggregate(inputs, pool)
        return self.floor(inputs, pool, evidence, fused)

    async def aevidence(self, inputs: dict[str, Any], pool: CandidatePool) -> Evidence:
        """The pool's agreement, measured without an LM; the best candidate, ties broken by the seeded rule."""
        measured = await self.consensus.aagreement(self._bound_task(), inputs, pool)
        best = pick_best(measured.scores, pool, self.seed, inputs)
        score = next(s for s, c in zip(measured.scores, pool, strict=True) if c.index == best)
        return Evidence(alive=len(pool.succeeded), identical=measured.identical, best=best, agreement=score or 0.0,
                        scores=measured.scores, answer_type=measured.answer_type, measure=measured.measure,
                        votes=measured.votes, unit=measured.unit)  # fmt: skip

    def can_outvote(self, inputs: dict[str, Any], pool: CandidatePool) -> bool:
        """Whether the outvoted check could floor a fused answer on this pool (some voted value has a majority)."""
        return self.consensus.can_outvote(self._bound_task(), inputs, pool)

    def fused_support(self, inputs: dict[str, Any], pool: CandidatePool, outputs: dict[str, Any]) -> FusedSupport:
        """How the pool backs a fused answer, measured as its candidates were."""
        return self.consensus.fused_support(self._bound_task(), inputs, pool, outputs)

    def _named(self, name: str, value: float, evidence: Evidence) -> str:
        by_type = getattr(self, name) == BY_ANSWER_TYPE
        return f"{name} {value:g}" + (f" for {evidence.answer_type} answers" if by_type else "")

    def skip_reason(self, evidence: Evidence) -> str | None:
        """Why the fusor call can be skipped, or None when it should be made."""
        if evidence.alive < 2:
            return None
        skip, _ = self.thresholds(evidence.answer_type)
        if self.skip_identical and evidence.identical:
            return f"all {evidence.alive} candidates give the same answer (consensus: {evidence.measure})"
        if skip is not None and evidence.agreement >= skip - TOLERANCE:
            said = evidence.describe(evidence.agreement)
            return (
                f"the candidates agree ({said} back the best one; {self._named('skip_agreement', skip, evidence)}; "
                f"consensus: {evidence.measure})"
            )
        return None

    def floor_reason(self, evidence: Evidence, support: FusedSupport) -> str | None:
        """Why the fused answer is an invention or an unsupported outlier, or None when it stands."""
        if evidence.alive < 2:
            return None
        if self.floor_invention and support.invented is not None:
            return f"the fused answer invents a value: {support.invented} (consensus: {evidence.measure})"
        if self.floor_outvoted and support.outvoted is not None:
            return f"the pool outvotes the fused answer: {support.outvoted} (consensus: {evidence.measure})"
        _, floor = self.thresholds(evidence.answer_type)
        if floor is not None and evidence.agreement - support.share > floor + TOLERANCE:
            fused, best = evidence.describe(support.share), evidence.describe(evidence.agreement)
            verdict = "is unsupported" if support.share < evidence.agreement else "does not beat by the margin"
            return (
                f"the fused answer {verdict} ({fused}) against the best candidate ({best}); "
                f"{self._named('floor_margin', floor, evidence)}; consensus: {evidence.measure}"
            )
        return None

    def futile_reason(self, evidence: Evidence) -> str | None:
        """Why the floor would reject any fused answer (so a fusor call cannot change the result), or None."""
        _, floor = self.thresholds(evidence.answer_type)
        if evidence.alive < 2 or floor is None or floor >= -TOLERANCE or not evidence.votes:
            return None
        return (
            f"{self._named('floor_margin', floor, evidence)} keeps a fused answer only when it has more support "
            f"than the best candidate, which no answer can have under {evidence.measure}: selected without a "
            "fusor call"
        )

    def decide(self, evidence: Evidence, support: FusedSupport | None = None) -> tuple[Path, str | None]:
        """The path these thresholds take, and why: `skipped` (the candidates agree), `floored` (the floor rejects
        any fused answer, or this one with `support`: an invention or an outlier), else `fused`. With `support`
        None (before a fusor call) `fused` means "call the fusor". The one place the order of the steps is
        written; threshold tuning replays it on stored pools."""
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

    def floor(self, inputs: dict[str, Any], pool: CandidatePool, evidence: Evidence, fused: Aggregation) -> Aggregation:
        """The fused answer, or the best candidate when the pool does not back the fused answer."""
        if fused.method != "fused":
            return fused.model_copy(update={"agreement": evidence.agreement})
        support = self.fused_support(inputs, pool, fused.outputs)
        path, reason = self.decide(evidence, support)
        if reason is not None:
            floored = self._select(pool, evidence, path, reason)
            return floored.model_copy(update={"support": support.share})
        return fused.model_copy(
            update={"agreement": evidence.agreement, "support": support.share,
                    "reason": self.fused_reason(evidence, support)}
        )  # fmt: skip

    def fused_reason(self, evidence: Evidence, support: FusedSupport) -> str:
        """Why a fused answer stands, worded from the numbers it quotes (the fused answer's support against the
        best candidate's, and the check or margin that let it pass)."""
        numbers = f"{evidence.describe(support.share)}; best candidate: {evidence.describe(evidence.agreement)}"
        consensus = f"consensus: {evidence.measure}"
        if support.share > evidence.agreement + TOLERANCE:
            return f"the pool backs the fused answer more than any candidate ({numbers}; {consensus})"
        if support.share >= evidence.agreement - TOLERANCE:
            return f"the pool backs the fused answer as much as its best candidate ({numbers}; {consensus})"
        less = f"the pool backs the fused answer less than its best candidate ({numbers}"
        _, floor = self.thresholds(evidence.answer_type)
        if floor is not None:
            return f"fused within the margin: {less}; {self._named('floor_margin', floor, evidence)}; {consensus})"
        if not self.floor_outvoted or evidence.alive < 2:
            return f"fused with no support check: {less}; {consensus})"
        if evidence.answer_type == "text":  # free text has no votes, so nothing can outvote it
            return f"fused with no margin set for free text: {less}; {consensus})"
        return f"fused, not outvoted: {less}; no value has a majority of the pool; {consensus})"

    def _select(self, pool: CandidatePool, evidence: Evidence, path: Path, reason: str) -> Aggregation:
        chosen = next(c for c in pool if c.index == evidence.best)
        outputs = {**{name: None for name in self._bound_task().output_fields}, **chosen.outputs}  # its reasoning too
        return Aggregation(outputs=outputs, method="selected", chosen=chosen.index, scores=evidence.scores,
                           path=path, reason=reason, agreement=evidence.agreement)  # fmt: skip


def _number(value: Threshold) -> float | None:
    return None if isinstance(value, str) else value


def _check(name: str, value: Threshold, low: float, off: str) -> None:
    if isinstance(value, str):
        if value != BY_ANSWER_TYPE:
            raise ConfigurationError(f"{name} must be a number, None or {BY_ANSWER_TYPE!r}; got {value!r}.")
        return
    if value is not None and not low <= value <= 1.0:
        raise ConfigurationError(f"{name} must be in [{low:g}, 1], or None {off}; got {value}.")
