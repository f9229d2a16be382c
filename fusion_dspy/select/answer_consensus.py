"""Consensus on any signature's answer: each answer field measured the way its kind allows, reasoning left out."""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping
from typing import Any

from fusion_dspy.candidates import CandidatePool, as_text
from fusion_dspy.errors import ConfigurationError
from fusion_dspy.lang import detect_language
from fusion_dspy.select.answer_fields import (
    ANSWER_KINDS,
    VERIFIABLE,
    AnswerKind,
    answer_fields,
    content_kind,
    declared_kind,
    vote_key,
)
from fusion_dspy.select.consensus import Agreement, ConsensusScorer, FusedSupport, Unit
from fusion_dspy.select.mbr import Similarity, consensus_support, symmetric_chrf
from fusion_dspy.signatures import SignatureType

Plan = dict[str, AnswerKind]
_VERBS: dict[AnswerKind, str] = {
    "number": "votes on the number in",
    "exact": "exact votes on",
    "short text": "votes on the normalised",
    "json": "votes on the canonical JSON of",
    "text": "chrF consensus on",
}


class AnswerConsensus(ConsensusScorer):
    """Support measured on the answer fields (never `reasoning` or other chain-of-thought fields), field by field:

    - `int` / `float` fields, and `str` fields whose values are mostly numbers (in any numeral style the math
      metric reads: `1,234`, `1.000` in German, `十八`, `$18`), vote by value;
    - `bool`, `Literal` and enum fields vote exactly; pydantic models, lists and dicts vote on canonical JSON;
    - short strings (at most `SHORT_UNITS` words) vote on a normalised form (case, spacing, punctuation);
    - long free text gets the symmetric-chrF consensus (mean similarity to the other candidates, as `MBRScorer`).

    A candidate's score is the mean of its fields' support. `kinds={"answer": "text"}` overrides the kind of a
    field. The default consensus of `AdaptiveFusion`; `measure` in its reasons names what was used.
    """

    def __init__(self, kinds: Mapping[str, AnswerKind] | None = None, similarity: Similarity = symmetric_chrf) -> None:
        super().__init__()
        unknown = {kind for kind in (kinds or {}).values() if kind not in ANSWER_KINDS}
        if unknown:
            raise ConfigurationError(f"unknown answer kind(s) {sorted(unknown)}; use one of {list(ANSWER_KINDS)}.")
        self.kinds: dict[str, AnswerKind] = dict(kinds or {})
        self._similarity = similarity

    @property
    def label(self) -> str:
        overrides = ", ".join(f"{name}={kind}" for name, kind in sorted(self.kinds.items()))
        return f"AnswerConsensus({overrides})"

    def field_of(self, task: SignatureType) -> str:
        return answer_fields(task)[-1]

    def plan(self, task: SignatureType, pool: CandidatePool) -> Plan:
        """Each answer field's kind on this pool: the override, else the declared type, else the values."""
        fields = answer_fields(task)
        missing = sorted(set(self.kinds) - set(fields))
        if missing:
            raise ConfigurationError(f"AnswerConsensus(kinds=...) names {missing}, not answer fields of {fields}.")
        return {
            name: self.kinds.get(name)
            or declared_kind(task.output_fields[name].annotation)
            or content_kind([c.text(name) for c in pool.succeeded])
            for name in fields
        }

    def support(self, answer: str, texts: list[str]) -> float:
        """One field's support, its kind read from `texts` (for callers that compare a single field)."""
        return self._field_support(content_kind(texts), answer, texts, None)

    def _field_support(self, kind: AnswerKind, mine: Any, values: list[Any], language: str | None) -> float:
        if not values:
            return 0.0
        if kind == "text":
            return consensus_support(as_text(mine), [as_text(v) for v in values], self._similarity)
        key = vote_key(kind, mine, language)
        if key is None:
            return 0.0
        return sum(vote_key(kind, v, language) == key for v in values) / len(values)

    @staticmethod
    def _language(plan: Plan, inputs: dict[str, Any]) -> str | None:
        """The inputs' language when a number is read (`1.000` is a thousand in German, one in English)."""
        if "number" not in plan.values():
            return None
        return detect_language(" ".join(v for v in inputs.values() if isinstance(v, str)))

    def _outputs_support(
        self, plan: Plan, outputs: dict[str, Any], pool: CandidatePool, language: str | None
    ) -> list[float]:
        alive = pool.succeeded
        return [self._field_support(k, outputs.get(n), [c.outputs.get(n) for c in alive], language)
                for n, k in plan.items()]  # fmt: skip

    def _scores(self, plan: Plan, pool: CandidatePool, language: str | None) -> list[float | None]:
        """Each candidate's support: the mean over the answer fields (None for failed candidates)."""
        scores: list[float | None] = []
        for candidate in pool:
            fields = self._outputs_support(plan, candidate.outputs, pool, language) if candidate.ok else None
            scores.append(sum(fields) / len(fields) if fields else None)
        return scores

    async def ascore(self, task: SignatureType, inputs: dict[str, Any], pool: CandidatePool) -> list[float | None]:
        plan = self.plan(task, pool)
        return self._scores(plan, pool, self._language(plan, inputs))

    async def aagreement(self, task: SignatureType, inputs: dict[str, Any], pool: CandidatePool) -> Agreement:
        plan = self.plan(task, pool)
        language = self._language(plan, inputs)
        alive = pool.succeeded
        keys = {tuple(vote_key(k, c.outputs.get(n), language) for n, k in plan.items()) for c in alive}
        identical = len(alive) >= 2 and len(keys) == 1 and None not in next(iter(keys))
        kinds = list(plan.values())
        single = len(kinds) == 1
        unit: Unit = ("candidates" if kinds[0] != "text" else "consensus") if single else "support"
        return Agreement(
            scores=self._scores(plan, pool, language),
            identical=identical,
            answer_type=_answer_type(kinds),
            measure="; ".join(f"{_VERBS[kind]} `{name}`" for name, kind in plan.items()),
            votes=single and kinds[0] != "text",
            unit=unit,
        )

    def can_outvote(self, task: SignatureType, inputs: dict[str, Any], pool: CandidatePool) -> bool:
        plan = self.plan(task, pool)
        language = self._language(plan, inputs)
        return any(kind != "text" and _majority(name, kind, pool, language) is not None for name, kind in plan.items())

    def fused_support(
        self, task: SignatureType, inputs: dict[str, Any], pool: CandidatePool, outputs: dict[str, Any]
    ) -> FusedSupport:
        plan = self.plan(task, pool)
        language = self._language(plan, inputs)
        shares = self._outputs_support(plan, outputs, pool, language)
        inventions = [
            said
            for (name, kind), share in zip(plan.items(), shares, strict=True)
            if kind in VERIFIABLE and share == 0.0
            and (said := _invention(name, kind, outputs.get(name), pool, language)) is not None
        ]  # fmt: skip
        outvoted = [
            said
            for name, kind in plan.items()
            if kind != "text" and (said := _outvoted(name, kind, outputs.get(name), pool, language)) is not None
        ]
        return FusedSupport(
            share=sum(shares) / len(shares),
            invented="; ".join(inventions) or None,
            outvoted="; ".join(outvoted) or None,
        )


def _majority(name: str, kind: AnswerKind, pool: CandidatePool, language: str | None) -> tuple[str, int, str] | None:
    """The value more than half of the pool gives for `name` (its vote key, backers, one candidate's text)."""
    alive = pool.succeeded
    votes = Counter(key for c in alive if (key := vote_key(kind, c.outputs.get(name), language)) is not None)
    if not votes:
        return None
    key, backers = votes.most_common(1)[0]
    if 2 * backers <= len(alive):
        return None
    return key, backers, next(c.text(name) for c in alive if vote_key(kind, c.outputs.get(name), language) == key)


def _invention(name: str, kind: AnswerKind, value: Any, pool: CandidatePool, language: str | None) -> str | None:
    """Why a fused value that no candidate gives is an invention: more than half the pool agrees on another."""
    majority = _majority(name, kind, pool, language)
    if majority is None:
        return None
    _, backers, example = majority
    return f"`{name}` {as_text(value)!r} is given by no candidate; {backers} of {len(pool.succeeded)} give {example!r}"


def _outvoted(name: str, kind: AnswerKind, value: Any, pool: CandidatePool, language: str | None) -> str | None:
    """Why a fused value is outvoted: more than half of the pool gives another value, which has more backers.
    (A fusor that sides with a minority, or with one injected candidate, against a pool that agrees.)"""
    majority = _majority(name, kind, pool, language)
    mine = vote_key(kind, value, language)
    if majority is None or mine == majority[0]:
        return None
    key, backers, example = majority
    if kind == "short text" and mine is not None and _within(mine, key):
        return None  # `Paris, the capital` or `Kilimanjaro` says what the majority says, in more or fewer words
    alive = pool.succeeded
    own = sum(vote_key(kind, c.outputs.get(name), language) == mine for c in alive) if mine is not None else 0
    return (
        f"`{name}` {as_text(value)!r} is backed by {own} of {len(alive)} candidates; {backers} of {len(alive)} "
        f"give {example!r}"
    )


def _within(a: str, b: str) -> bool:
    """One normalised short answer holds the other as whole words."""
    return f" {a} " in f" {b} " or f" {b} " in f" {a} "


def _answer_type(kinds: list[AnswerKind]) -> AnswerKind:
    """The kind that picks the thresholds: the field's own; for several fields, free text when one of them is,
    else a number when one of them is, else the first field's."""
    if len(kinds) == 1:
        return kinds[0]
    return "text" if "text" in kinds else "number" if "number" in kinds else kinds[0]
