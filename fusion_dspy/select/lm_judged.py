"""What every LM-judged scorer shares: the judge's LM, how candidates are cut, what a judge that never answers does."""

from __future__ import annotations

from abc import abstractmethod
from typing import ClassVar

import dspy

from fusion_dspy.lm.failures import OnPermanentError
from fusion_dspy.render import RenderOptions
from fusion_dspy.select.base import Scorer


class LMJudgedScorer(Scorer):
    """A scorer whose scores come from an LM's verdicts (pointwise or pairwise).

    Candidates are cut as the fusor's rendering of the same pool cuts them, so selection and fusion see the same
    text; `render` and `on_permanent_error` travel with `save`/`load`.
    """

    tunable: ClassVar[tuple[str, ...]] = ("render", "on_permanent_error")

    def __init__(
        self,
        lm: dspy.BaseLM | str | None = None,
        render: RenderOptions | None = None,
        on_permanent_error: OnPermanentError = "raise",
    ) -> None:
        super().__init__()
        self.lm = lm
        self.render = render or RenderOptions(shuffle=False)
        self.on_permanent_error = on_permanent_error
        self._add_predictors()

    @abstractmethod
    def _add_predictors(self) -> None:
        """Set the judge's `dspy.Predict` attributes (their names are what saved programs load into)."""


def select_instead(scorer: str) -> str:
    """The fix a permanent judge failure names: rank without the judge."""
    return (
        f"To rank without the judge instead (its scores count as missing), pass {scorer}(on_permanent_error='select')."
    )
