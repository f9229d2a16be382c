"""The fusor: an LM that reads every candidate and writes one better answer (Fusion-of-N)."""

from __future__ import annotations

import logging
import re
import time
from typing import Any, ClassVar, Self

import dspy

from fusion_dspy.aggregator import Aggregation, Aggregator
from fusion_dspy.candidates import Candidate, CandidatePool, as_text
from fusion_dspy.errors import ConfigurationError, FusorError
from fusion_dspy.lm.failures import OnPermanentError, detail_of, permanent_failure
from fusion_dspy.lm.resolve import lm_context
from fusion_dspy.markers import clean
from fusion_dspy.not_an_answer import not_an_answer
from fusion_dspy.prompts import load_prompt
from fusion_dspy.render import RenderOptions, label_for, render_pool, salt_for
from fusion_dspy.select.base import Scorer
from fusion_dspy.select.reward import RewardCallable
from fusion_dspy.signatures import SignatureType, fusion_signature

logger = logging.getLogger(__name__)
SELECT_INSTEAD = "To select from the pool instead, pass Fuser(on_permanent_error='select')."

ECHO_SIMILARITY = 0.5  # chrF at or above which an output counts as "what a candidate said", not an echo
DEFAULT_CANDIDATES_FIELD = "candidates"
CANDIDATES_FIELDS = (DEFAULT_CANDIDATES_FIELD, "fusion_candidates", "fusion_candidates_")
FUSION_VERSION = 2
"""Bumped when the same pool and fusor reply can give a different answer (2: an answer that only echoes an input
field falls back to a flagged selection). Stored evaluation answers record it."""

_WHOLE_REFERENCE = re.compile(r"^\W*(?:candidate|answer|response)\s*#?\s*(\d+)\W*$", re.IGNORECASE)
_PREFIX_REFERENCE = re.compile(r"^\s*(?:candidate\s*)?#?(\d+)\s*[.):]\s+(.+)$", re.IGNORECASE | re.DOTALL)
_BLOCK_TAG = re.compile(r"</?\s*candidate\s*\d*\s*>", re.IGNORECASE)


class Fuser(Aggregator):
    """Writes one answer from all candidates, with the task's own output fields.

    Its predictor (`predict`, or `predict.predict` with chain of thought) sees the task's inputs plus the
    rendered candidates, so DSPy optimisers can tune its instructions and demos like any other predictor.
    When the fusor's output cannot be parsed (or its call fails for a passing reason: timeout, rate limit,
    server error), `fallback` selects a candidate instead and the result says so. A failure that will not go
    away (bad API key, unknown model, rejected request) raises `FusorError`, or, with
    `on_permanent_error="select"`, selects too and logs one warning per cause.
    """

    tunable: ClassVar[tuple[str, ...]] = ("render", "on_permanent_error")
    """Saved with the state of a program that uses it (`fusion_dspy.state`)."""

    def __init__(
        self,
        signature: str | SignatureType | None = None,
        *,
        chain_of_thought: bool = False,
        instructions: str | None = None,
        render: RenderOptions | None = None,
        lm: dspy.BaseLM | str | None = None,
        candidates_field: str | None = None,
        fallback: Scorer | RewardCallable | None = None,
        on_permanent_error: OnPermanentError = "raise",
    ) -> None:
        super().__init__()
        from fusion_dspy.select.mbr import MBRScorer
        from fusion_dspy.select.reward import as_scorer

        if on_permanent_error not in ("raise", "select"):
            raise ConfigurationError(f"on_permanent_error must be 'raise' or 'select'; got {on_permanent_error!r}.")

        self.chain_of_thought = chain_of_thought
        self.instructions = instructions
        self.render = render or RenderOptions()
        self.lm = lm
        self._candidates_field = candidates_field
        self.candidates_field = candidates_field or DEFAULT_CANDIDATES_FIELD
        self.fallback = as_scorer(fallback) or MBRScorer()
        self.on_permanent_error = on_permanent_error
        self.predict: dspy.Module | None = None
        if signature is not None:
            self.bind(dspy.ensure_signature(signature))

    def bind(self, task: SignatureType) -> Fuser:
        """Build the fusion predictor for `task`. A fusor already bound to an equal signature keeps its state; one
        bound to a different signature (shared by two programs) binds a fresh copy instead of re-binding in place."""
        if self.bound_elsewhere(task):
            return self.unbound_copy().bind(task)
        if self.task is not None and self.predict is not None:
            return self
        prompt = load_prompt("fuser")
        if self._candidates_field is None:  # not chosen by the user: step aside when the task uses the name
            self.candidates_field = next(
                (f for f in CANDIDATES_FIELDS if f not in task.fields), DEFAULT_CANDIDATES_FIELD
            )
        derived = fusion_signature(
            task,
            instructions=self.instructions or prompt["instructions"],
            task_header=prompt["task_header"],
            candidates_field=self.candidates_field,
            candidates_description=prompt["candidates_description"],
        )
        self.task = task
        self.predict = dspy.ChainOfThought(derived) if self.chain_of_thought else dspy.Predict(derived)
        return self

    def unbound_copy(self) -> Self:
        clone = super().unbound_copy()
        clone.predict = None
        if self._candidates_field is None:
            clone.candidates_field = DEFAULT_CANDIDATES_FIELD
        return clone

    async def aaggregate(self, inputs: dict[str, Any], pool: CandidatePool) -> Aggregation:
        task = self._bound_task()
        assert self.predict is not None
        rendered, shown = render_pool(pool, self.render, salt=salt_for(inputs))
        logger.info("fusor call: %d candidates, %d characters", len(shown), len(rendered))
        start = time.perf_counter()
        try:
            with dspy.context(**lm_context(self.lm, self.predict)):
                prediction = await self.predict.acall(**inputs, **{self.candidates_field: rendered})
            logger.info("fusor answered in %.1f s", time.perf_counter() - start)
        except Exception as exc:  # noqa: BLE001 - raised again by permanent_failure when it will not pass
            cause = permanent_failure(exc, "fusor", self.on_permanent_error, FusorError, SELECT_INSTEAD)
            if cause is None:
                return await self._fall_back(inputs, pool, f"fusor failed ({detail_of(exc)})")
            return await self._fall_back(inputs, pool, f"fusor cannot run: {cause} ({detail_of(exc)})")
        outputs = clean({name: prediction[name] for name in task.output_fields})
        own = {name: value for name, value in prediction.items() if name not in outputs}  # e.g. its reasoning
        empty = [name for name, value in outputs.items() if value is None or not as_text(value).strip()]
        if empty:  # nothing written is a failure of the fusor, not an answer
            return await self._fall_back(inputs, pool, f"fusor wrote an empty {', '.join(map(repr, empty))}")
        nonsense = not_an_answer(outputs, _instructions(self.predict), shown)
        if nonsense is not None:  # template residue or the prompt written back is a failure, never an answer
            return await self._fall_back(inputs, pool, nonsense)
        echoed = echoed_input(outputs, inputs, shown)
        if echoed is not None:
            return await self._fall_back(inputs, pool, f"fusor echoed the input field {echoed!r} instead of answering")
        outputs, resolved = resolve_candidate_references(outputs, shown, inputs)
        return Aggregation(
            outputs={**own, **outputs},
            method="fused",
            fallback="the fusor referred to candidates instead of answering; references were resolved"
            if resolved
            else None,
        )

    async def _fall_back(self, inputs: dict[str, Any], pool: CandidatePool, reason: str) -> Aggregation:
        from fusion_dspy.select.base import Selector

        logger.info("fusor fell back to selection: %s", reason)
        selection = await Selector(self.fallback).bind(self._bound_task()).aaggregate(inputs, pool)
        return selection.model_copy(update={"fallback": f"{reason}; selected by {type(self.fallback).__name__}"})


def _instructions(predict: dspy.Module) -> str:
    """The instructions the fusor's predictor was given (as an optimiser may have rewritten them)."""
    return "\n".join(str(p.signature.instructions or "") for p in predict.predictors())


def echoed_input(outputs: dict[str, Any], inputs: dict[str, Any], shown: list[Candidate]) -> str | None:
    """The input field a small fusor copied into an output (e.g. answering a translation with "German", the value
    of `target_language`, or with the untranslated source), when the output resembles no candidate; None when the
    outputs are its own. An output equal to an input that the candidates also (nearly) gave is an answer: a
    correction task whose input was already correct."""
    from fusion_dspy.select.mbr import chrf

    for value in outputs.values():
        if not isinstance(value, str) or not value.strip():
            continue
        texts = [c.text(field) for c in shown for field in c.outputs]
        if any(_same(value, t) or chrf(value, t) >= ECHO_SIMILARITY for t in texts):
            continue
        for name, given in inputs.items():
            if isinstance(given, str) and _same(value, given):
                return name
    return None


def resolve_candidate_references(
    outputs: dict[str, Any], shown: list[Candidate], inputs: dict[str, Any] | None = None
) -> tuple[dict[str, Any], bool]:
    """Undo a small fusor's habit of answering "Candidate 2" or "2. Au" instead of the answer itself.

    A value that is itself an answer is never rewritten: one that a candidate gave for the same field, or
    that the inputs mention ("Response 2" for "Which is better, Response 1 or Response 2?").
    """
    resolved = False
    fixed: dict[str, Any] = {}
    given = " ".join(v.lower() for v in (inputs or {}).values() if isinstance(v, str))
    for name, value in outputs.items():
        fixed[name] = value
        if not isinstance(value, str):
            continue
        if any(name in c.outputs and _same(value, c.text(name)) for c in shown):
            continue
        if value.strip() and " ".join(value.lower().split()).strip(" .") in " ".join(given.split()):
            continue
        cleaned = _BLOCK_TAG.sub("", value).strip()
        whole = _WHOLE_REFERENCE.match(cleaned)
        prefix = _PREFIX_REFERENCE.match(cleaned)
        if whole and (candidate := _by_label(shown, whole.group(1))) and name in candidate.outputs:
            fixed[name], resolved = candidate.text(name), True
        elif (
            prefix and (candidate := _by_label(shown, prefix.group(1))) and _same(prefix.group(2), candidate.text(name))
        ):
            fixed[name], resolved = prefix.group(2).strip(), True
        elif cleaned != value.strip():
            fixed[name], resolved = cleaned, True
    return fixed, resolved


def _by_label(shown: list[Candidate], label: str) -> Candidate | None:
    for position, candidate in enumerate(shown):
        if label_for(position) == label:
            return candidate
    return None


def _same(a: str, b: str) -> bool:
    return " ".join(a.lower().split()).strip(" .") == " ".join(b.lower().split()).strip(" .")
