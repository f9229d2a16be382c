"""Abstract base classes that are also DSPy modules (so their predictors stay visible to optimisers)."""

from abc import ABCMeta

from dspy.primitives.module import ProgramMeta


class ABCModuleMeta(ProgramMeta, ABCMeta):
    """Metaclass for abstract `dspy.Module` subclasses."""
