"""Where benchmark files are: --data-dir, $FUSION_DSPY_DATA_DIR, or a `shared/data` folder beside the project."""

from __future__ import annotations

import os
from pathlib import Path

from fusion_dspy.errors import ConfigurationError

DATA_DIR_ENV = "FUSION_DSPY_DATA_DIR"


class DataNotFoundError(ConfigurationError):
    """Neither a local copy nor the hub could provide a dataset."""


def find_data_dir(explicit: str | Path | None = None) -> Path | None:
    """The data folder to read local copies from, or None when there is none (the hub is tried then)."""
    if explicit is not None:
        path = Path(explicit)
        if not path.is_dir():
            raise DataNotFoundError(f"--data-dir {path} is not a folder; point it at a folder holding e.g. mgsm/.")
        return path
    if os.environ.get(DATA_DIR_ENV):
        return find_data_dir(os.environ[DATA_DIR_ENV])
    for base in [Path.cwd(), *Path.cwd().parents]:
        candidate = base / "shared" / "data"
        if candidate.is_dir():
            return candidate
        if (base / "pyproject.toml").is_file():
            sibling = base.parent / "shared" / "data"
            return sibling if sibling.is_dir() else None
    return None
