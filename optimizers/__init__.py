"""Recipes that tune fusion programs (installed as `fusion_dspy.optimizers`): DSPy optimisers for the fusor,
and an Optuna study per (task, language) over the fusion knobs."""

from fusion_dspy.optimizers.bootstrap import bootstrap_fusor
from fusion_dspy.optimizers.compile import OPTIMIZERS, compile_fusor, evaluate
from fusion_dspy.optimizers.feedback import feedback_metric
from fusion_dspy.optimizers.finetune import FinetuneFusor, FinetuneSettings
from fusion_dspy.optimizers.fusor_data import Splits, fusor_examples, split
from fusion_dspy.optimizers.fusor_only import FusorOnly
from fusion_dspy.optimizers.strata import strata_of, stratified_ids
from fusion_dspy.optimizers.study import FusorStudy
from fusion_dspy.optimizers.study_config import StudyConfig, StudyResult

__all__ = [
    "OPTIMIZERS",
    "FinetuneFusor",
    "FinetuneSettings",
    "FusorOnly",
    "FusorStudy",
    "Splits",
    "StudyConfig",
    "StudyResult",
    "bootstrap_fusor",
    "compile_fusor",
    "evaluate",
    "feedback_metric",
    "fusor_examples",
    "split",
    "strata_of",
    "stratified_ids",
]
