"""Prompts are data: YAML files beside this module, loaded by name."""

from __future__ import annotations

import hashlib
from functools import cache
from importlib.resources import files

import yaml


def _text(name: str) -> str:
    resource = files(__package__).joinpath(f"{name}.yaml")
    if not resource.is_file():
        raise FileNotFoundError(f"no prompt named {name!r} in fusion_dspy/prompts")
    return resource.read_text(encoding="utf-8")


@cache
def load_prompt(name: str) -> dict[str, str]:
    """Load `prompts/<name>.yaml` as a mapping of prompt parts."""
    data = yaml.safe_load(_text(name))
    return {str(k): str(v).strip() for k, v in data.items()}


@cache
def prompt_digest(name: str) -> str:
    """A short hash of the prompt's parts: stored answers and scores record it, so an edited prompt makes them
    stale (formatting-only edits of the YAML do not)."""
    parts = "\x00".join(f"{k}\x01{v}" for k, v in sorted(load_prompt(name).items()))
    return hashlib.sha256(parts.encode()).hexdigest()[:8]
