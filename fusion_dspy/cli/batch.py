"""Batch I/O for the CLI: prompts in (text lines or JSONL), results out as resumable, append-only JSONL."""

from __future__ import annotations

import json
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any, TextIO

from pydantic import BaseModel

from fusion_dspy.errors import ConfigurationError


class PromptItem(BaseModel):
    """One prompt of a batch, with a stable id so a resumed run can tell what is done."""

    id: str
    prompt: str


def read_prompts(source: str, field: str = "prompt") -> list[PromptItem]:
    """Prompts from a file path or `-` (stdin): JSONL objects (`field` holds the prompt) or plain lines."""
    if source == "-":
        return list(_parse(sys.stdin, field, "stdin"))
    if not Path(source).is_file():
        raise ConfigurationError(f"input file {source!r} does not exist; pass a text or JSONL file, or '-' for stdin.")
    with open(source, encoding="utf-8") as handle:
        return list(_parse(handle, field, source))


def _parse(handle: TextIO, field: str, source: str) -> Iterator[PromptItem]:
    for number, raw in enumerate(handle, start=1):
        line = raw.strip()
        if not line:
            continue
        if line.startswith("{"):
            try:
                row: dict[str, Any] = json.loads(line)
            except json.JSONDecodeError as exc:
                raise ConfigurationError(
                    f"{source}:{number}: invalid JSON ({exc.msg}); fix the line or use plain text lines."
                ) from exc
            if not isinstance(row.get(field), str) or not row[field].strip():
                raise ConfigurationError(
                    f"{source}:{number}: no non-empty string field {field!r}; choose it with --field."
                )
            yield PromptItem(id=str(row.get("id", number)), prompt=row[field])
        else:
            yield PromptItem(id=str(number), prompt=line)
