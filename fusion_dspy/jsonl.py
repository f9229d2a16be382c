"""Append-only JSONL files of pydantic rows keyed by id: what makes long jobs resumable.

Every row is flushed as it is written, so a killed job loses at most the row in flight; a torn last line
(a kill mid-write) is cut off on open, so the next row starts cleanly.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Generic, TypeVar

from pydantic import BaseModel, ValidationError

from fusion_dspy.files import write_atomically

Row = TypeVar("Row", bound=BaseModel)


class JsonlLog(Generic[Row]):
    """Rows of `model` in `path`, indexed by `key(row)` (default: the row's `id`)."""

    def __init__(self, path: Path, model: type[Row], key: Callable[[Row], str] | None = None) -> None:
        self.path = path
        self.model = model
        self.key = key or (lambda row: str(getattr(row, "id")))  # noqa: B009
        self._drop_torn_tail()
        self.rows: dict[str, Row] = self._read()

    def __contains__(self, key: str) -> bool:
        return key in self.rows

    def _drop_torn_tail(self) -> None:
        if not self.path.is_file() or self.path.stat().st_size == 0:
            return
        data = self.path.read_bytes()
        if not data.endswith(b"\n"):
            self.path.write_bytes(data[: data.rfind(b"\n") + 1])

    def _read(self) -> dict[str, Row]:
        rows: dict[str, Row] = {}
        if not self.path.is_file():
            return rows
        with self.path.open(encoding="utf-8") as handle:
            for line in handle:
                try:
                    row = self.model.model_validate(json.loads(line))
                except (json.JSONDecodeError, ValidationError):
                    continue
                rows[self.key(row)] = row
        return rows

    def compact(self, order: list[str] | None = None) -> None:
        """Rewrite the file with one row per key (the latest), atomically; with `order`, those keys first in that
        order (then the rest). A no-op when there are no repeats and the rows are already in order."""
        if not self.path.is_file():
            return
        keys = list(self.rows)
        if order is not None:
            rank = {key: i for i, key in enumerate(dict.fromkeys(order))}
            keys.sort(key=lambda key: rank.get(key, len(rank)))
        with self.path.open(encoding="utf-8") as handle:
            lines = sum(1 for _ in handle)
        if lines == len(self.rows) and keys == list(self.rows):
            return
        self.rows = {key: self.rows[key] for key in keys}
        write_atomically(self.path, "".join(row.model_dump_json() + "\n" for row in self.rows.values()))

    def append(self, row: Row) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        with self.path.open("a", encoding="utf-8") as handle:
            handle.write(row.model_dump_json() + "\n")
            handle.flush()
        self.rows[self.key(row)] = row
