"""The embedded model served in-process by llama.cpp's OpenAI-compatible server (via xllamacpp).

Going through HTTP keeps one code path for the embedded model and for production servers
(vLLM, llama.cpp, Ollama, hosted APIs): everything is an `openai/...` model behind litellm.
"""

from __future__ import annotations

import atexit
import logging
import os
import threading
import time
from typing import Any

from pydantic import BaseModel, ConfigDict

from fusion_dspy.errors import ConfigurationError, LocalModelError
from fusion_dspy.lm.speculative import SpeculativeSettings
from fusion_dspy.lm.weights import EMBEDDED_MODELS, assemble

logger = logging.getLogger(__name__)


class ServerSettings(BaseModel):
    """llama.cpp server knobs; defaults suit a small CPU box. Environment variables override them."""

    model_config = ConfigDict(extra="forbid")  # a misspelt option is an error, not silently ignored

    parallel_slots: int = 5
    context_per_slot: int = 4096
    threads: int | None = None
    cache_ram_mib: int = 256
    speculative: SpeculativeSettings = SpeculativeSettings()

    @classmethod
    def from_env(cls) -> ServerSettings:
        values: dict[str, Any] = {"speculative": SpeculativeSettings.from_env()}
        for field, variable in [
            ("parallel_slots", "FUSION_DSPY_LOCAL_PARALLEL"),
            ("context_per_slot", "FUSION_DSPY_LOCAL_CTX"),
            ("threads", "FUSION_DSPY_LOCAL_THREADS"),
        ]:
            if os.environ.get(variable):
                values[field] = int(os.environ[variable])
        return cls(**values)


def local_threads(settings: ServerSettings | None = None) -> int:
    """CPU threads a local model job uses (the server, LoRA training): `FUSION_DSPY_LOCAL_THREADS`, else every
    core. Two jobs at once with 1 each share a 2-core machine without oversubscribing it."""
    settings = settings or ServerSettings.from_env()
    return settings.threads or os.cpu_count() or 1


def base_params(model_path: str, settings: ServerSettings, chat_template: str | None = None) -> Any:
    """llama.cpp server parameters for the GGUF file at `model_path` with these settings (no speculative decoding,
    no adapters: callers add them)."""
    import xllamacpp

    params = xllamacpp.CommonParams()
    params.model.path = model_path
    if chat_template:
        params.chat_template = chat_template
    params.n_parallel = settings.parallel_slots
    params.n_ctx = settings.context_per_slot * settings.parallel_slots
    params.kv_unified = True
    threads = local_threads(settings)
    params.cpuparams.n_threads = threads
    params.cpuparams_batch.n_threads = threads
    params.cache_ram_mib = settings.cache_ram_mib
    params.port = 0
    params.verbosity = 0
    return params


def start_server(params: Any, label: str) -> tuple[Any, str]:
    """The running server and its OpenAI-compatible base URL (`.../v1`)."""
    import xllamacpp

    try:
        server = xllamacpp.Server(params)
    except Exception as exc:
        raise LocalModelError(f"could not start the embedded model {label!r}: {exc}") from exc
    return server, f"{server.listening_address}/v1"


class LocalServer:
    """One running llama.cpp server for one embedded model."""

    def __init__(self, name: str, settings: ServerSettings) -> None:
        model = EMBEDDED_MODELS[name]
        drafter = settings.speculative.drafter_for(name)
        if drafter is not None and drafter not in EMBEDDED_MODELS:
            raise ConfigurationError(
                f"unknown draft model {drafter!r}; choose one of {sorted(EMBEDDED_MODELS)} (a smaller model of the "
                f"same family, e.g. local-small for local)."
            )
        params = base_params(str(assemble(model)), settings, model.chat_template)
        settings.speculative.apply(params, name, str(assemble(EMBEDDED_MODELS[drafter])) if drafter else None)
        self.name = name
        self.settings = settings
        logger.info("starting the embedded model %s (%s threads)", name, params.cpuparams.n_threads)
        start = time.perf_counter()
        self._server, self.base_url = start_server(params, name)
        logger.info("embedded model %s ready in %.1f s at %s", name, time.perf_counter() - start, self.base_url)

    def close(self) -> None:
        self._server = None


_servers: dict[str, LocalServer] = {}
_lock = threading.Lock()


def local_server(name: str) -> LocalServer:
    """The process-wide server for `name`, started on first use (seconds: load the weights)."""
    if name not in EMBEDDED_MODELS:
        raise LocalModelError(f"unknown embedded model {name!r}; choose one of {sorted(EMBEDDED_MODELS)}.")
    with _lock:
        if name not in _servers:
            _servers[name] = LocalServer(name, ServerSettings.from_env())
        return _servers[name]


@atexit.register
def _stop_all() -> None:
    for server in _servers.values():
        server.close()
    _servers.clear()
