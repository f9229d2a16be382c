"""Task metrics: chrF++, numeric exact match, answer-list match, pairwise judge win-rate."""

from fusion_dspy.metrics.answers import answer_list_match, normalise_answer
from fusion_dspy.metrics.judge import PairwiseJudge
from fusion_dspy.metrics.measurement import JudgementFailedError, Measurement
from fusion_dspy.metrics.numeric import answer_text, numeric_match, parse_number
from fusion_dspy.metrics.text import chrf_pp, corpus_chrf_pp, rouge_l

__all__ = [
    "JudgementFailedError",
    "Measurement",
    "PairwiseJudge",
    "answer_list_match",
    "answer_text",
    "chrf_pp",
    "corpus_chrf_pp",
    "normalise_answer",
    "numeric_match",
    "parse_number",
    "rouge_l",
]
