"""fusion-dspy: turn N LLM generations into one better answer — Fusion-of-N and Best-of-N as DSPy modules."""

import os as _os

# litellm otherwise fetches its model price map from the network at import time.
_os.environ.setdefault("LITELLM_LOCAL_MODEL_COST_MAP", "True")

from fusion_dspy.adaptive import AdaptiveFusion
from fusion_dspy.aggregator import Aggregation, Aggregator
from fusion_dspy.candidates import Candidate, CandidatePool
from fusion_dspy.compose import BestOfN, FusionOfN, NofN
from fusion_dspy.errors import (
    AllCandidatesFailedError,
    ConfigurationError,
    FusionError,
    FusorError,
    JudgeError,
    LocalModelError,
    SignatureError,
    TooManyFailuresError,
)
from fusion_dspy.fuse import Fuser
from fusion_dspy.hedge import Hedged
from fusion_dspy.lm import EMBEDDED_MODELS, local_lm, resolve_lm
from fusion_dspy.prediction import FusedPrediction
from fusion_dspy.progress import tracked
from fusion_dspy.provenance import Provenance, provenance_of
from fusion_dspy.registry import FusorRegistry, RegistryEntry
from fusion_dspy.render import RenderOptions, render_pool
from fusion_dspy.routing import LanguageRouter
from fusion_dspy.select import (
    AnswerConsensus,
    ConsensusScorer,
    JudgeScorer,
    MajorityVote,
    MBRScorer,
    PairwiseScorer,
    RewardFn,
    Scorer,
    Selector,
)
from fusion_dspy.sources import CandidateSource, RepeatSampler, TeacherPool
from fusion_dspy.usage import RunUsage, TokenUsage

__version__ = "0.1.0"

__all__ = [
    "EMBEDDED_MODELS",
    "AdaptiveFusion",
    "Aggregation",
    "Aggregator",
    "AllCandidatesFailedError",
    "AnswerConsensus",
    "BestOfN",
    "Candidate",
    "CandidatePool",
    "CandidateSource",
    "ConfigurationError",
    "ConsensusScorer",
    "FusedPrediction",
    "Fuser",
    "FusionError",
    "FusionOfN",
    "FusorError",
    "FusorRegistry",
    "Hedged",
    "JudgeError",
    "JudgeScorer",
    "LanguageRouter",
    "LocalModelError",
    "MBRScorer",
    "MajorityVote",
    "NofN",
    "PairwiseScorer",
    "Provenance",
    "RegistryEntry",
    "RenderOptions",
    "RepeatSampler",
    "RewardFn",
    "RunUsage",
    "Scorer",
    "Selector",
    "SignatureError",
    "TeacherPool",
    "TokenUsage",
    "TooManyFailuresError",
    "local_lm",
    "provenance_of",
    "render_pool",
    "resolve_lm",
    "tracked",
]
