"""Prompts are data: YAML files beside this module, loaded by name."""

from __future__ import annotations

from functools import cache
from importlib.resources import files

import yaml


@cache
def load_prompt(name: str) -> dict[str, str]:
    """Load `prompts/<name>.yaml` as a mapping of prompt parts."""
    resource = files(__package__).joinpath(f"{name}.yaml")
    if not resource.is_file():
        raise FileNotFoundError(f"no prompt named {name!r} in fusion_dspy/prompts")
    data = yaml.safe_load(resource.read_text(encoding="utf-8"))
    return {str(k): str(v).strip() for k, v in data.items()}
