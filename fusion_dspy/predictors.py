"""A module's predictors, found without walking its call history.

`dspy.Module.named_predictors()` walks every attribute, including each module's `history` list, which grows with
every call (up to dspy's 10,000 entries). Sampling asks which predictors pin an LM for every pool and every
sample, so it uses this walk instead: the same predictors in the same order, at a cost that does not grow.
"""

from __future__ import annotations

from typing import Any

import dspy


def predictors(module: dspy.Module) -> list[dspy.Predict]:
    """The module's predictors in `named_predictors()` order, by the same walk minus each module's call `history`:
    that list grows with every call (up to dspy's 10,000 entries) and never holds a predictor, and this runs for
    every sample, so it must not grow with them."""
    seen: set[int] = set()
    found: list[dspy.Predict] = []

    def walk(value: Any) -> None:
        if id(value) in seen or not isinstance(value, dspy.Module):
            return
        seen.add(id(value))
        if isinstance(value, dspy.Predict):
            found.append(value)
            return
        if getattr(value, "_compiled", False) and value is not module:
            return
        for name, attribute in vars(value).items():
            if name == "history":
                continue
            members = attribute.values() if isinstance(attribute, dict) else attribute
            for member in members if isinstance(attribute, list | tuple | dict) else [attribute]:
                walk(member)

    walk(module)
    return found
