"""Language models: the embedded local model and model-string resolution."""

from fusion_dspy.lm.resolve import local_lm, resolve_lm
from fusion_dspy.lm.weights import EMBEDDED_MODELS, EmbeddedModel

__all__ = ["EMBEDDED_MODELS", "EmbeddedModel", "local_lm", "resolve_lm"]
