"""Ready task programs built from fusion-dspy's parts (installed as `fusion_dspy.programs`)."""

from fusion_dspy.errors import ConfigurationError
from fusion_dspy.programs.base import LANGUAGE_NAMES, Task
from fusion_dspy.programs.chat import Respond, respond_program
from fusion_dspy.programs.factual import FactualTask
from fusion_dspy.programs.gsm8k import Gsm8kTask
from fusion_dspy.programs.math_reasoning import MathTask
from fusion_dspy.programs.open_ended import MtBenchTask, OpenEndedTask
from fusion_dspy.programs.summarization import SummarizationTask, XlsumSummarizationTask
from fusion_dspy.programs.translation import NtrexTranslationTask, TranslationTask

TASKS: dict[str, type[Task]] = {
    task.name: task
    for task in [
        TranslationTask, NtrexTranslationTask, MathTask, Gsm8kTask, FactualTask, OpenEndedTask, MtBenchTask,
        SummarizationTask, XlsumSummarizationTask,
    ]
}  # fmt: skip


def task_by_name(name: str) -> type[Task]:
    if name not in TASKS:
        raise ConfigurationError(f"unknown task {name!r}; choose one of {', '.join(TASKS)}.")
    return TASKS[name]


__all__ = ["LANGUAGE_NAMES", "TASKS", "Respond", "Task", "respond_program", "task_by_name"]
