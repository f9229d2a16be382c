"""Pointwise LLM judge: a bounded integer score per candidate, all candidates judged concurrently."""

from __future__ import annotations

import asyncio
from typing import Any

import dspy

from fusion_dspy.candidates import Candidate, CandidatePool
from fusion_dspy.errors import JudgeError
from fusion_dspy.lm.failures import permanent_failure
from fusion_dspy.lm.resolve import lm_context
from fusion_dspy.prompts import load_prompt
from fusion_dspy.render import candidate_body, pool_caps
from fusion_dspy.select.lm_judged import LMJudgedScorer, select_instead
from fusion_dspy.signatures import SignatureType, describe_inputs

_PROMPT = load_prompt("judge")
MIN_SCORE, MAX_SCORE = 1, 10


class _JudgeFields(dspy.Signature):
    task: str = dspy.InputField(desc=_PROMPT["task_description"])
    response: str = dspy.InputField(desc=_PROMPT["response_description"])
    score: int = dspy.OutputField(desc=_PROMPT["score_description"], ge=MIN_SCORE, le=MAX_SCORE)


JudgeResponse = _JudgeFields.with_instructions(_PROMPT["instructions"])


class JudgeScorer(LMJudgedScorer):
    """An LM rates each candidate from 1 to 10; out-of-range scores are clamped, unparseable ones score None.

    A judge that can never answer (bad API key, unknown model) raises `JudgeError` naming the fix; with
    `on_permanent_error="select"` its scores count as missing and one warning per cause is logged.
    """

    pointwise = True

    def _add_predictors(self) -> None:
        self.judge = dspy.Predict(JudgeResponse)

    async def ascore(self, task: SignatureType, inputs: dict[str, Any], pool: CandidatePool) -> list[float | None]:
        description = describe_inputs(task, inputs)
        caps = pool_caps(pool, self.render)
        return list(await asyncio.gather(*(self._score_one(description, c, caps.get(c.index)) for c in pool)))

    async def _score_one(
        self, description: str, candidate: Candidate, caps: dict[str, int | None] | None
    ) -> float | None:
        if not candidate.ok:
            return None
        try:
            with dspy.context(**lm_context(self.lm, self.judge)):
                response = candidate_body(candidate, self.render, caps)
                verdict = await self.judge.acall(task=description, response=response)
            return float(min(MAX_SCORE, max(MIN_SCORE, int(verdict.score))))
        except Exception as exc:  # noqa: BLE001 - an unjudgeable candidate ranks last; a judge that can never run raises
            permanent_failure(exc, "judge", self.on_permanent_error, JudgeError, select_instead("JudgeScorer"))
            return None
