"""Pairwise LLM judge: every pair compared in both orders (cancels position bias); score = share of wins."""

from __future__ import annotations

import asyncio
from itertools import permutations
from typing import Any, Literal

import dspy

from fusion_dspy.candidates import Candidate, CandidatePool
from fusion_dspy.errors import JudgeError
from fusion_dspy.lm.failures import OnPermanentError, permanent_failure
from fusion_dspy.lm.resolve import lm_context
from fusion_dspy.prompts import load_prompt
from fusion_dspy.render import candidate_body, pool_caps
from fusion_dspy.select.lm_judged import LMJudgedScorer, select_instead
from fusion_dspy.signatures import SignatureType, describe_inputs

_PROMPT = load_prompt("pairwise")
Verdict = Literal["A", "B", "tie"]


class _PairFields(dspy.Signature):
    task: str = dspy.InputField(desc=_PROMPT["task_description"])
    response_a: str = dspy.InputField(desc=_PROMPT["response_a_description"])
    response_b: str = dspy.InputField(desc=_PROMPT["response_b_description"])
    verdict: Verdict = dspy.OutputField(desc=_PROMPT["verdict_description"])


ComparePair = _PairFields.with_instructions(_PROMPT["instructions"])


class PairwiseScorer(LMJudgedScorer):
    """Each ordered pair (i, j) of successful candidates is judged once: a win is 1, a tie ½ to each.

    With k candidates that is k·(k−1) concurrent judge calls. A comparison that fails counts for neither side;
    a judge that can never answer (bad API key, unknown model) raises `JudgeError`, or, with
    `on_permanent_error="select"`, counts for neither side and logs one warning per cause.
    """

    def _add_predictors(self) -> None:
        self.compare = dspy.Predict(ComparePair)

    async def ascore(self, task: SignatureType, inputs: dict[str, Any], pool: CandidatePool) -> list[float | None]:
        description = describe_inputs(task, inputs)
        alive = pool.succeeded
        pairs = list(permutations(alive, 2))
        caps = pool_caps(pool, self.render)
        verdicts = await asyncio.gather(*(self._judge(description, a, b, caps) for a, b in pairs))
        if pairs and all(verdict is None for verdict in verdicts):  # no judgement at all: no scores, not all zeros
            return [None for _ in pool]
        wins = {c.index: 0.0 for c in alive}
        for (a, b), verdict in zip(pairs, verdicts, strict=True):
            if verdict == "A":
                wins[a.index] += 1.0
            elif verdict == "B":
                wins[b.index] += 1.0
            elif verdict == "tie":
                wins[a.index] += 0.5
                wins[b.index] += 0.5
        games = max(1, 2 * (len(alive) - 1))
        return [wins[c.index] / games if c.ok else None for c in pool]

    async def _judge(
        self, description: str, a: Candidate, b: Candidate, caps: dict[int, dict[str, int | None]]
    ) -> Verdict | None:
        body_a, body_b = candidate_body(a, self.render, caps[a.index]), candidate_body(b, self.render, caps[b.index])
        return await compare_pair(self.compare, self.lm, description, body_a, body_b, self.on_permanent_error)


async def compare_pair(
    compare: dspy.Predict,
    lm: dspy.BaseLM | str | None,
    task: str,
    response_a: str,
    response_b: str,
    on_permanent_error: OnPermanentError = "raise",
) -> Verdict | None:
    """One judgement of A against B; None when the judge fails or answers off-format (a judge that can never
    answer raises `JudgeError`, unless `on_permanent_error="select"`)."""
    try:
        with dspy.context(**lm_context(lm, compare)):
            result = await compare.acall(task=task, response_a=response_a, response_b=response_b)
        verdict: Verdict = result.verdict
        return verdict
    except Exception as exc:  # noqa: BLE001 - a failed comparison counts for neither side; a broken judge raises
        permanent_failure(exc, "judge", on_permanent_error, JudgeError, select_instead("PairwiseScorer"))
        return None
