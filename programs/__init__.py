"""Ready task programs built from fusion-dspy's parts (installed as `fusion_dspy.programs`)."""

from fusion_dspy.programs.chat import Respond, respond_program

__all__ = ["Respond", "respond_program"]
