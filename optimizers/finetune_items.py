"""Training items for a weight-tuned fusor that no reported number was measured on.

MGSM and WMT24++ are parallel (row i is the same problem or source segment in every language), so an item is
excluded in every language once any language of it was reported: training on the German copy of a reported
English problem would leak it. Items are named by `Task.item_key`.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

import dspy

from fusion_dspy.programs.base import Task

REPORTED_SUBSETS: dict[str, tuple[tuple[str, int], ...]] = {
    "math": (("en", 40), ("de", 40), ("fr", 40), ("en", 100), ("en", 150), ("es", 30)),
    "translation": (("de", 100), ("de", 150), ("es", 50), ("ja", 50), ("fr", 30)),
}
"""The seeded `--limit` subsets (seed 0) behind results/realsize, results/optimize and the map (reported, tuning
and fresh-replication items alike), per task: (language, limit)."""


def reported_items(task: Task, subsets: Iterable[tuple[str, int]], seed: int = 0) -> set[str]:
    """The item keys of every example in these seeded subsets."""
    return {task.item_key(e.id, language) for language, limit in subsets for e in task.load(language, limit, seed)}


def unreported(task: Task, examples: Sequence[dspy.Example], language: str, reported: set[str]) -> list[dspy.Example]:
    """The examples of `language` whose item is in no reported subset (in any language)."""
    return [e for e in examples if task.item_key(e.id, language) not in reported]
