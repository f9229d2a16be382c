"""LLM-judge win-rate of an answer against a baseline answer, judged in both orders to cancel position bias."""

from __future__ import annotations

import asyncio

import dspy

from fusion_dspy.render import neutralise
from fusion_dspy.select.pairwise import ComparePair, compare_pair


class PairwiseJudge(dspy.Module):
    """`await judge.awin_rate(task, answer, baseline)` → 1 (wins both orders) … 0 (loses both).

    Each order scores 1 for a win, ½ for a tie or a failed judgement, 0 for a loss; the result is their mean.
    """

    def __init__(self, lm: dspy.BaseLM | str | None = None) -> None:
        super().__init__()
        self.lm = lm
        self.compare = dspy.Predict(ComparePair)

    async def awin_rate(self, task: str, answer: str, baseline: str) -> float:
        answer, baseline = neutralise(answer), neutralise(baseline)
        first, second = await asyncio.gather(
            compare_pair(self.compare, self.lm, task, answer, baseline),
            compare_pair(self.compare, self.lm, task, baseline, answer),
        )
        points = {"A": 1.0, "B": 0.0}.get(first or "tie", 0.5) + {"A": 0.0, "B": 1.0}.get(second or "tie", 0.5)
        return points / 2
