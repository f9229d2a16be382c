"""Synthetic data from a pool of teachers: fused (and best-of-N) answers, resumable, exportable, scalable."""

from fusion_dspy.synth.config import SynthConfig
from fusion_dspy.synth.export import SynthStats, export
from fusion_dspy.synth.job import build_pipeline, checkpoint, pending, run_job
from fusion_dspy.synth.prompts import PromptRow, load_prompts

__all__ = [
    "PromptRow",
    "SynthConfig",
    "SynthStats",
    "build_pipeline",
    "checkpoint",
    "export",
    "load_prompts",
    "pending",
    "run_job",
]
