"""Model names checked before anything heavy is imported or started: a typo fails in milliseconds, not after
litellm's import (seconds) or an embedded model's start.

The providers and bare model names litellm knows are read from its installed files (never imported); when they
cannot be read, the check is left to `remote_lm`, which asks litellm itself.
"""

from __future__ import annotations

import difflib
import functools
import importlib.util
import json
import re
from pathlib import Path

from fusion_dspy.errors import ConfigurationError
from fusion_dspy.lm.weights import EMBEDDED_MODELS

TUNED_SEPARATOR = "@"


def is_tuned(spec: str) -> bool:
    """Whether a model string names an embedded model with a LoRA adapter: `local-small@path/to/adapter.gguf`
    (what `fusion-dspy optimize --optimizer finetune` writes)."""
    base, _, adapter = spec.partition(TUNED_SEPARATOR)
    return base in EMBEDDED_MODELS and adapter.endswith(".gguf")


def tuned_parts(spec: str) -> tuple[str, Path]:
    """The embedded base model and the adapter file of a tuned spec (`is_tuned(spec)` said it is one)."""
    base, _, adapter = spec.partition(TUNED_SEPARATOR)
    return base, Path(adapter)


_PROVIDER = re.compile(r'^\s+[A-Z][A-Z_0-9]*\s*=\s*"([\w.\-]+)"', re.MULTILINE)


@functools.cache
def _litellm_root() -> Path | None:
    spec = importlib.util.find_spec("litellm")
    return Path(spec.origin).parent if spec is not None and spec.origin else None


@functools.cache
def known_providers() -> frozenset[str]:
    """litellm's provider prefixes (`openai`, `anthropic`, `hosted_vllm`, ...), read from its source; empty when
    that file cannot be read."""
    root = _litellm_root()
    try:
        source = (root / "types" / "utils.py").read_text(encoding="utf-8") if root else ""
    except OSError:
        return frozenset()
    start = source.find("class LlmProviders")
    if start < 0:
        return frozenset()
    end = source.find("\nclass ", start + 1)
    return frozenset(_PROVIDER.findall(source[start : end if end > 0 else None]))


@functools.cache
def known_bare_models() -> frozenset[str]:
    """Model names litellm accepts without a provider prefix (`gpt-4o-mini`), from its bundled price map."""
    root = _litellm_root()
    try:
        text = (root / "model_prices_and_context_window_backup.json").read_text(encoding="utf-8") if root else "{}"
        return frozenset(json.loads(text))
    except (OSError, ValueError):
        return frozenset()


def check_model_name(name: str, forms: str, option: str = "--model") -> None:
    """Raise `ConfigurationError` naming `option` when `name` is certainly not a model litellm or fusion-dspy can
    run (a provider prefix litellm does not know, a typo of an embedded model's name); pass when it may be
    (litellm's own check follows when the model is resolved)."""
    if name in EMBEDDED_MODELS or is_tuned(name):
        return
    if not name.strip():
        raise ConfigurationError(f"{option}: empty model name; use one of: {forms}.")
    provider, slash, _ = name.partition("/")
    if slash:
        providers = known_providers()
        if providers and provider not in providers:
            close = difflib.get_close_matches(provider, sorted(providers), n=1)
            hint = f" (did you mean {close[0]!r}?)" if close else ""
            raise ConfigurationError(
                f"{option}: unknown model {name!r}: litellm knows no provider {provider!r}{hint}. Accepted: {forms}."
            )
        return
    close = difflib.get_close_matches(name, list(EMBEDDED_MODELS), n=1, cutoff=0.75)
    if close and name not in known_bare_models():  # `locall`, `local-smal`: a typo of an embedded model
        raise ConfigurationError(f"{option}: unknown model {name!r} (did you mean {close[0]!r}?). Accepted: {forms}.")
