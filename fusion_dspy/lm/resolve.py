"""Turn what a user wrote (`local`, a litellm model string, an LM object, nothing) into a DSPy LM."""

from __future__ import annotations

import hashlib
import json
import os
import re
import threading
from typing import Any

import dspy

from fusion_dspy.errors import ConfigurationError
from fusion_dspy.lm.embedded import LOCAL_API_KEY, EmbeddedLM, local_options
from fusion_dspy.lm.lora import tuned_lm
from fusion_dspy.lm.names import is_tuned
from fusion_dspy.lm.weights import EMBEDDED_MODELS
from fusion_dspy.predictors import predictors

MODEL_ENV = "FUSION_DSPY_MODEL"
API_BASE_ENV = "FUSION_DSPY_API_BASE"

MODEL_FORMS = (
    "'local' (embedded Qwen2.5-1.5B), 'local-small' (embedded Qwen2.5-0.5B), a litellm model string such as "
    "'openai/gpt-4o-mini' or 'anthropic/claude-3-5-haiku-latest', or 'openai/<name>' with --api-base URL "
    "for any OpenAI-compatible server (vLLM, llama.cpp, Ollama), or 'local-small@<adapter.gguf>' for an embedded "
    "model with a LoRA adapter from `optimize --optimizer finetune`"
)


def local_lm(name: str = "local", **kwargs: Any) -> EmbeddedLM:
    """A DSPy LM backed by the embedded model, served in-process on CPU (started at its first request). No API key,
    no network."""
    return EmbeddedLM(name, **local_options(**kwargs))


def remote_lm(model: str, api_base: str | None = None, **kwargs: Any) -> dspy.LM:
    """A DSPy LM for a litellm model string, checked up front so a typo fails before any call."""
    if not model.strip():
        raise ConfigurationError(f"empty model name; use one of: {MODEL_FORMS}.")
    import litellm

    litellm.suppress_debug_info = True
    try:
        litellm.get_llm_provider(model, api_base=api_base)
    except Exception as exc:  # litellm raises its own BadRequestError subclasses
        provider = model.split("/")[0] if "/" in model else model
        raise ConfigurationError(
            f"unknown model {model!r}: litellm knows no provider {provider!r}. Accepted: {MODEL_FORMS}."
        ) from exc
    options: dict[str, Any] = dict(kwargs)
    if api_base:
        options["api_base"] = api_base
        options.setdefault("api_key", os.environ.get("OPENAI_API_KEY") or LOCAL_API_KEY)
    return dspy.LM(model, **options)


_RESOLVED: dict[str, dspy.BaseLM] = {}
_RESOLVED_LOCK = threading.Lock()


def resolve_lm(spec: str | dspy.BaseLM | None = None, *, api_base: str | None = None, **kwargs: Any) -> dspy.BaseLM:
    """An LM object as is; a name resolved; nothing → dspy's LM in context, then $FUSION_DSPY_MODEL, then `local`.

    A name is resolved once per process and settings: the same string always gives the same LM object, so
    components that name a model share its connection pool (and pay no set-up per call). The settings include the
    environment's API keys and bases (as a digest): set a new key and the next resolution sees it.
    """
    if isinstance(spec, dspy.BaseLM):
        return spec
    if spec is not None and not isinstance(spec, str):
        raise ConfigurationError(f"a model must be a string or a dspy LM; got {type(spec).__name__}.")
    if spec is None:
        if dspy.settings.lm is not None:  # the LM in context (dspy.context / dspy.configure) beats the default
            return dspy.settings.lm
        spec = os.environ.get(MODEL_ENV) or None
        api_base = api_base or os.environ.get(API_BASE_ENV) or None
    if spec is None and api_base:
        raise ConfigurationError(
            f"an API base ({api_base}) needs a model name too, e.g. --model openai/<served-model>."
        )
    key = json.dumps([spec, api_base, kwargs, _credentials()], sort_keys=True, default=repr)
    with _RESOLVED_LOCK:
        known = _RESOLVED.get(key)
    if known is not None:
        return known
    if spec is None or spec in EMBEDDED_MODELS:
        lm = local_lm(spec or "local", **kwargs)
    elif is_tuned(spec):
        lm = tuned_lm(spec, **kwargs)
    else:
        lm = remote_lm(spec, api_base, **kwargs)
    with _RESOLVED_LOCK:
        return _RESOLVED.setdefault(key, lm)


_CREDENTIAL_SUFFIXES = ("_API_KEY", "_KEY", "_TOKEN", "_API_BASE", "_BASE_URL", "_API_VERSION")


def _credentials() -> str:
    """A digest of the environment variables that say which key and endpoint a provider uses (never the values)."""
    found = sorted((k, v) for k, v in os.environ.items() if k.upper().endswith(_CREDENTIAL_SUFFIXES))
    return hashlib.sha256(json.dumps(found).encode()).hexdigest()[:16]


def lm_options(api_base: str | None = None, max_tokens: int | None = None, **extra: Any) -> dict[str, Any]:
    """`resolve_lm` keyword arguments from the usual command-line settings; unset ones keep the model's defaults."""
    options: dict[str, Any] = {"api_base": api_base, **extra}
    if max_tokens is not None:
        options["max_tokens"] = max_tokens
    return options


_SAMPLED_ONLY = re.compile(r"^(?:[\w-]+/)?(?:o[1345]|gpt-5)(?![\w.-]*-chat)")
"""OpenAI's reasoning models: they take no temperature but their own (DSPy refuses any other at construction)."""


def greedy(lm: dspy.BaseLM) -> dspy.BaseLM:
    """`lm` at temperature 0: how every fusor, judge and baseline here is measured, so also how `run` fuses (an
    unset temperature is the server's default, 0.8 for llama.cpp). A reasoning model keeps its own."""
    model = str(getattr(lm, "model", ""))
    return lm.copy() if _SAMPLED_ONLY.match(model) else lm.copy(temperature=0.0)


def pins_every_lm(module: dspy.Module | None) -> bool:
    """Whether every predictor of `module` has its own LM (`set_lm`, `predictor.lm`): no LM in context is used."""
    found = predictors(module) if module is not None else []
    return bool(found) and all(getattr(p, "lm", None) is not None for p in found)


def lm_context(lm: str | dspy.BaseLM | None, module: dspy.Module | None = None) -> dict[str, Any]:
    """`dspy.context(**...)` overrides that route a component to its own LM, or to the default one. Nothing to
    resolve (so the embedded model is never started for nothing) when `module`'s predictors all pin their own."""
    if lm is not None:
        return {"lm": resolve_lm(lm)}
    if dspy.settings.lm is not None or pins_every_lm(module):
        return {}
    return {"lm": resolve_lm(None)}
