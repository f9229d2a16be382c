"""What every command checks before it imports or starts anything heavy: model names, the task and its languages.

`friendly_errors` runs it on a command's arguments, so an unknown `--model`, `--fusor-model`, `--teachers` entry,
`--task` or `--lang(s)` is one line on stderr and exit 2 within the command's first milliseconds.
"""

from __future__ import annotations

from typing import Any

from fusion_dspy.errors import ConfigurationError
from fusion_dspy.lm.names import check_model_name
from fusion_dspy.lm.resolve import MODEL_FORMS

MODEL_OPTIONS = ("model", "fusor_model", "judge_model", "metric_judge_model", "reflection_model", "fusor",
                 "teachers", "fusor_models")  # fmt: skip
"""A command's parameters that name models (comma-separated lists included)."""
LANGUAGE_OPTIONS = ("lang", "langs")


def precheck(arguments: dict[str, Any]) -> None:
    """Raise `ConfigurationError` naming the option to fix when an argument cannot be right."""
    for option in MODEL_OPTIONS:
        value = arguments.get(option)
        if isinstance(value, str):
            for name in value.split(","):
                if name.strip() or "," not in value:
                    check_model_name(name.strip(), MODEL_FORMS, f"--{option.replace('_', '-')}")
    task = arguments.get("task")
    if not isinstance(task, str):
        return
    from fusion_dspy.programs import task_by_name

    languages = task_by_name(task).languages
    for option in LANGUAGE_OPTIONS:
        value = arguments.get(option)
        if not isinstance(value, str):
            continue
        unknown = [code for code in (c.strip() for c in value.split(",")) if code and code not in languages]
        if unknown:
            raise ConfigurationError(
                f"--{option} {','.join(unknown)}: task {task!r} has no language {', '.join(unknown)}; "
                f"choose from {', '.join(languages)}."
            )
