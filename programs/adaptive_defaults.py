"""Per-task adaptive-fusion thresholds as data: a priori defaults on each Task, tuned values in `adaptive.json`
(the thresholds for any other signature, per kind of answer, are in `fusion_dspy/answer_thresholds.json`).

`fusion-dspy thresholds --write` stores the thresholds it chose on a tuning slice here, with how they were
chosen; a task with no entry uses the defaults on its class.
"""

from __future__ import annotations

from pathlib import Path

from pydantic import BaseModel, Field

from fusion_dspy.answer_thresholds import Thresholds
from fusion_dspy.files import write_atomically

__all__ = ["ThresholdFile", "Thresholds", "default_path", "load_thresholds", "save_thresholds"]


class ThresholdFile(BaseModel):
    tasks: dict[str, Thresholds] = Field(default_factory=dict)


def default_path() -> Path:
    """`adaptive.json` beside the programs package (the repository's `programs/adaptive.json`)."""
    return Path(__file__).resolve().parent / "adaptive.json"


def load_thresholds(task: str, path: Path | None = None) -> Thresholds | None:
    """The stored thresholds of `task`, or None when none were stored."""
    path = path or default_path()
    if not path.is_file():
        return None
    return ThresholdFile.model_validate_json(path.read_text(encoding="utf-8")).tasks.get(task)


def save_thresholds(task: str, thresholds: Thresholds, path: Path | None = None) -> Path:
    """Store (or replace) `task`'s thresholds, atomically; returns the file."""
    path = path or default_path()
    stored = ThresholdFile.model_validate_json(path.read_text(encoding="utf-8")) if path.is_file() else ThresholdFile()
    stored.tasks[task] = thresholds
    write_atomically(path, stored.model_dump_json(indent=2) + "\n")
    return path
