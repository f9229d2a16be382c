"""Candidate sources: N samples of one program, or one sample from each of several teachers."""

from fusion_dspy.sources.base import CandidateSource
from fusion_dspy.sources.repeat import RepeatSampler
from fusion_dspy.sources.teachers import TeacherPool

__all__ = ["CandidateSource", "RepeatSampler", "TeacherPool"]
