"""Task metrics: chrF++, numeric exact match, answer-list match, pairwise judge win-rate."""

from fusion_dspy.metrics.answers import answer_list_match, normalise_answer
from fusion_dspy.metrics.judge import PairwiseJudge
from fusion_dspy.metrics.numeric import numeric_match, parse_number
from fusion_dspy.metrics.text import chrf_pp, rouge_l

__all__ = [
    "PairwiseJudge",
    "answer_list_match",
    "chrf_pp",
    "normalise_answer",
    "numeric_match",
    "parse_number",
    "rouge_l",
]
