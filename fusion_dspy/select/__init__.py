"""Selection (Best-of-N): scorers and the selector that keeps the best candidate."""

from fusion_dspy.select.answer_consensus import AnswerConsensus
from fusion_dspy.select.base import Scorer, Selector
from fusion_dspy.select.consensus import ConsensusScorer
from fusion_dspy.select.judge import JudgeScorer
from fusion_dspy.select.majority import MajorityVote
from fusion_dspy.select.mbr import MBRScorer, chrf, symmetric_chrf
from fusion_dspy.select.normalize import final_number, normalize_text
from fusion_dspy.select.pairwise import PairwiseScorer
from fusion_dspy.select.reward import RewardFn

__all__ = [
    "AnswerConsensus",
    "ConsensusScorer",
    "JudgeScorer",
    "MBRScorer",
    "MajorityVote",
    "PairwiseScorer",
    "RewardFn",
    "Scorer",
    "Selector",
    "chrf",
    "final_number",
    "normalize_text",
    "symmetric_chrf",
]
