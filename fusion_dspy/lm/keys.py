"""API keys a model needs and the environment lacks, known before any call (so a job fails before it samples)."""

from __future__ import annotations

from fusion_dspy.lm.weights import EMBEDDED_MODELS


def missing_keys(model: str, api_base: str | None = None) -> list[str]:
    """The environment variables holding secrets (`*_KEY`, `*_TOKEN`) that litellm says `model` needs and that are
    not set; none for an embedded model or a model behind an explicit `api_base` (a server of the user's own)."""
    if model in EMBEDDED_MODELS or api_base:
        return []
    import litellm

    found = litellm.validate_environment(model=model)
    return [key for key in found.get("missing_keys") or [] if key.endswith(("_KEY", "_TOKEN"))]
