"""Recipes that tune fusion programs with DSPy optimisers (installed as `fusion_dspy.optimizers`)."""

from fusion_dspy.optimizers.bootstrap import bootstrap_fusor

__all__ = ["bootstrap_fusor"]
