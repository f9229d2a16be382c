"""LLM-judge win-rate of an answer against a baseline answer, judged in both orders to cancel position bias.

This is a *metric* judge. Keep it apart from the judges that select candidates (`bon:judge`, `bon:pairwise`):
a selection judge that is also the metric's judge optimises the metric itself, and looks near-oracle.
"""

from __future__ import annotations

import asyncio

import dspy

from fusion_dspy.metrics.measurement import JudgementFailedError, Measurement
from fusion_dspy.render import neutralise
from fusion_dspy.select.pairwise import ComparePair, compare_pair


class PairwiseJudge(dspy.Module):
    """`await judge.ameasure(task, answer, baseline)` → score 1 (wins both orders) … 0 (loses both).

    Each order scores 1 for a win, ½ for a tie, 0 for a loss; the score is the mean over the orders the judge
    answered. A failed judgement is counted, never scored as a tie; with both failed there is no score.
    """

    def __init__(self, lm: dspy.BaseLM | str | None = None) -> None:
        super().__init__()
        self.lm = lm
        self.compare = dspy.Predict(ComparePair)

    async def ameasure(self, task: str, answer: str, baseline: str) -> Measurement:
        answer, baseline = neutralise(answer), neutralise(baseline)
        first, second = await asyncio.gather(
            compare_pair(self.compare, self.lm, task, answer, baseline),
            compare_pair(self.compare, self.lm, task, baseline, answer),
        )
        points = [{"A": 1.0, "tie": 0.5, "B": 0.0}[first]] if first is not None else []
        points += [{"A": 0.0, "tie": 0.5, "B": 1.0}[second]] if second is not None else []
        failed = 2 - len(points)
        return Measurement(score=sum(points) / len(points) if points else None, failed_judgements=failed)

    async def awin_rate(self, task: str, answer: str, baseline: str) -> float:
        """The score alone; raises JudgementFailedError when neither order could be judged."""
        measured = await self.ameasure(task, answer, baseline)
        if measured.score is None:
            raise JudgementFailedError(
                "the metric judge failed both judgements (errors or off-format verdicts); "
                "use a stronger --metric-judge-model or check its server."
            )
        return measured.score
