"""The fusor as a program of its own: inputs + rendered candidates in, the task's outputs out, one LM call."""

from __future__ import annotations

from typing import Any

import dspy

from fusion_dspy.fuse import Fuser
from fusion_dspy.lm.resolve import lm_context


class FusorOnly(dspy.Module):
    """Wraps a bound `Fuser` so DSPy optimisers tune exactly its predictor (`fuser.predict`)."""

    def __init__(self, fuser: Fuser) -> None:
        super().__init__()
        if fuser.predict is None:
            raise ValueError("bind the Fuser to the task signature first: Fuser(...).bind(task.signature)")
        self.fuser = fuser

    def forward(self, **kwargs: Any) -> dspy.Prediction:
        assert self.fuser.predict is not None
        with dspy.context(**lm_context(self.fuser.lm, self.fuser.predict)):
            return self.fuser.predict(**kwargs)

    async def aforward(self, **kwargs: Any) -> dspy.Prediction:
        assert self.fuser.predict is not None
        with dspy.context(**lm_context(self.fuser.lm, self.fuser.predict)):
            return await self.fuser.predict.acall(**kwargs)
