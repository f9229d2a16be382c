"""Small file helpers shared by everything that must not leave a half-written file behind."""

from __future__ import annotations

from pathlib import Path


def write_atomically(path: Path, text: str) -> None:
    """Write `text` to a sibling file, then rename it over `path`: readers see the old file or the new, never half."""
    partial = path.with_suffix(path.suffix + ".partial")
    partial.write_text(text, encoding="utf-8")
    partial.replace(path)


def beside(path: Path, suffix: str) -> Path:
    """A record kept beside `path` in its folder, named by its stem: `adapter.gguf` → `adapter.cost.json`
    (also before `path` itself exists)."""
    return path.with_name(path.stem + suffix)
