"""What a LoRA adapter was trained on, kept beside it (`<adapter stem>.trained_items.json`): the item keys
(`Task.item_key`) of every pool offered to its training, per task, so an evaluation of the tuned fusor leaves them
out (seeded subsets nest: `gsm8k:en:40` lies inside `gsm8k:en:300`, and a fresh-item check on it would test on
training items)."""

from __future__ import annotations

import json
import logging
from collections.abc import Iterable, Mapping
from pathlib import Path

from fusion_dspy.files import beside, write_atomically
from fusion_dspy.lm.names import is_tuned, tuned_parts

logger = logging.getLogger(__name__)

ITEMS_SUFFIX = ".trained_items.json"


def items_path(adapter: Path) -> Path:
    """Where the training items of `adapter` are kept (also before the adapter file exists)."""
    return beside(adapter, ITEMS_SUFFIX)


def write_trained_items(adapter: Path, items: Mapping[str, Iterable[str]]) -> Path:
    """Record `items` (task name → item keys) as what `adapter` trains on."""
    adapter.parent.mkdir(parents=True, exist_ok=True)
    path = items_path(adapter)
    write_atomically(path, json.dumps({task: sorted(set(keys)) for task, keys in items.items()}, indent=1) + "\n")
    return path


def trained_items(adapter: Path) -> dict[str, frozenset[str]] | None:
    """Task name → the item keys the adapter trained on, or None when nothing was recorded beside it (an adapter
    made elsewhere, or before this record existed)."""
    path = items_path(adapter)
    if not path.is_file():
        return None
    return {task: frozenset(keys) for task, keys in json.loads(path.read_text()).items()}


def trained_on(task: str, models: Iterable[str | None]) -> frozenset[str]:
    """The item keys of `task` that any tuned fusor among `models` (`base@adapter.gguf`) trained on; other model
    strings add nothing. A tuned fusor with no record is logged: what it trained on cannot be left out."""
    keys: set[str] = set()
    for spec in {m for m in models if m and is_tuned(m)}:
        adapter = tuned_parts(spec)[1]
        found = trained_items(adapter)
        if found is None:
            logger.warning("%s has no %s beside it: the items it trained on cannot be left out of this evaluation, "
                           "so a score on them may be inflated", adapter, items_path(adapter).name)  # fmt: skip
            continue
        keys |= found.get(task, frozenset())
    return frozenset(keys)
