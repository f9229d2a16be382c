"""Prompts for a synthetic-data job, read through `datasets` from a local file or a hub id."""

from __future__ import annotations

from pathlib import Path

import datasets
from pydantic import BaseModel

from fusion_dspy.data.loaders import hub_reachable
from fusion_dspy.errors import ConfigurationError

BUILDERS = {".jsonl": "json", ".json": "json", ".csv": "csv", ".parquet": "parquet", ".txt": "text"}


class PromptRow(BaseModel):
    id: str
    prompt: str


def load_prompts(
    source: str, column: str = "prompt", split: str = "train", limit: int | None = None
) -> list[PromptRow]:
    """Rows with a stable id (the dataset's `id` column, else the row number) and a non-empty prompt."""
    path = Path(source)
    if path.is_file():
        builder = BUILDERS.get(path.suffix.lower())
        if builder is None:
            raise ConfigurationError(f"cannot read {path.name}: use one of {', '.join(BUILDERS)} or a hub dataset id.")
        if builder in ("json", "text", "csv") and not path.read_text(encoding="utf-8", errors="replace").strip():
            raise ConfigurationError(f"no prompts in {source}: the file is empty; write one prompt per row.")
        try:
            dataset = datasets.load_dataset(builder, data_files=str(path), split="train")
        except Exception as exc:  # datasets wraps parse errors in its own generic ones
            cause = exc.__cause__ or exc
            raise ConfigurationError(f"could not read {source} as {builder}: {str(cause)[:200]}") from exc
        if builder == "text":
            column = "text"
    elif "/" in source and not path.suffix and hub_reachable():
        try:
            dataset = datasets.load_dataset(source, split=split)
        except Exception as exc:
            raise ConfigurationError(f"could not load hub dataset {source!r}: {exc}") from exc
    else:
        raise ConfigurationError(
            f"--prompts {source!r} is neither a file here nor a reachable hub dataset id; "
            "pass a JSONL/CSV/Parquet/text file (offline, only files work)."
        )
    if column not in dataset.column_names:
        raise ConfigurationError(f"no column {column!r} in {source}; it has {dataset.column_names}. Use --column.")
    rows: list[PromptRow] = []
    ids = dataset["id"] if "id" in dataset.column_names else None
    for number, prompt in enumerate(dataset[column]):
        if isinstance(prompt, str) and prompt.strip():
            rows.append(PromptRow(id=str(ids[number]) if ids is not None else str(number), prompt=prompt))
        if limit is not None and len(rows) >= limit:
            break
    if not rows:
        raise ConfigurationError(f"no prompts in {source}: every {column!r} value is empty; check --column.")
    if len({r.id for r in rows}) != len(rows):
        raise ConfigurationError(f"the 'id' column of {source} has duplicates; ids must be unique to resume safely.")
    return rows
