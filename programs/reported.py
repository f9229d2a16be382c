"""The items every reported number was measured on, so training data can leave them out (issue 29).

MGSM and WMT24++ are parallel (row i is the same problem or source segment in every language), so an item is
excluded in every language once any language of it was reported: training on the German copy of a reported
English problem would leak it. Items are named by `Task.item_key`.
"""

from __future__ import annotations

import random
from collections.abc import Collection, Iterable, Sequence

import dspy

from fusion_dspy.errors import ConfigurationError
from fusion_dspy.programs.base import Task

REPORTED_SUBSETS: dict[str, tuple[tuple[str, int], ...]] = {
    "math": (("en", 40), ("de", 40), ("fr", 40), ("en", 100), ("en", 150), ("es", 30), ("de", 4), ("en", 4)),
    "translation": (("de", 100), ("de", 150), ("es", 50), ("ja", 50), ("fr", 30), ("de", 3), ("de", 12)),
    "gsm8k": (),  # nothing reported: its MGSM rows (0-249) are not in the task at all
}
"""The seeded `--limit` subsets (seed 0) behind results/realsize, results/optimize, results/eval and the map
(reported, tuning and fresh-replication items alike), per task: (language, limit)."""

REPORTED_KEYS: dict[str, frozenset[str]] = {
    "math": frozenset(str(i) for i in random.Random(0).sample(range(250), 20)),
}
"""Items reported outside a seeded `--limit` subset, by item key: the 20 MGSM-en problems that
`examples/synthetic_demos.py --full` scores its student on (`random.Random(0).sample` of the 250 rows)."""


def reported_subsets(task: Task) -> tuple[tuple[str, int], ...]:
    """The task's reported subsets; a task with no entry fails, since nothing says which of its items are safe."""
    if task.name not in REPORTED_SUBSETS:
        raise ConfigurationError(
            f"no record of which {task.name!r} items reported numbers used (programs/reported.py lists "
            f"{', '.join(REPORTED_SUBSETS)}); add its (language, limit) subsets there first."
        )
    return REPORTED_SUBSETS[task.name]


def reported_items(task: Task, subsets: Iterable[tuple[str, int]] | None = None, seed: int = 0) -> frozenset[str]:
    """The item keys of every example in these seeded subsets (default: the task's `REPORTED_SUBSETS` and its
    `REPORTED_KEYS`), read with no exclusion whatever `task` excludes."""
    plain = task.excluding(()).dropping(())
    chosen = reported_subsets(task) if subsets is None else subsets
    keys = {plain.item_key(e.id, lang) for lang, limit in chosen for e in plain.load(lang, limit, seed)}
    return frozenset(keys | (REPORTED_KEYS.get(task.name, frozenset()) if subsets is None else frozenset()))


def unreported(
    task: Task, examples: Sequence[dspy.Example], language: str, reported: Collection[str]
) -> list[dspy.Example]:
    """The examples of `language` whose item is in no reported subset (in any language)."""
    return [e for e in examples if task.item_key(e.id, language) not in reported]
