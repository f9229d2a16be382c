"""The embedded model served in-process by llama.cpp's OpenAI-compatible server (via xllamacpp).

Going through HTTP keeps one code path for the embedded model and for production servers
(vLLM, llama.cpp, Ollama, hosted APIs): everything is an `openai/...` model behind litellm.
"""

from __future__ import annotations

import atexit
import os
import threading
from typing import Any

from pydantic import BaseModel

from fusion_dspy.errors import ConfigurationError, LocalModelError
from fusion_dspy.lm.speculative import SpeculativeSettings
from fusion_dspy.lm.weights import EMBEDDED_MODELS, assemble


class ServerSettings(BaseModel):
    """llama.cpp server knobs; defaults suit a small CPU box. Environment variables override them."""

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


class LocalServer:
    """One running llama.cpp server for one embedded model."""

    def __init__(self, name: str, settings: ServerSettings) -> None:
        import xllamacpp

        model = EMBEDDED_MODELS[name]
        params = xllamacpp.CommonParams()
        params.model.path = str(assemble(model))
        if model.chat_template:
            params.chat_template = model.chat_template
        params.n_parallel = settings.parallel_slots
        params.n_ctx = settings.context_per_slot * settings.parallel_slots
        params.kv_unified = True
        threads = settings.threads or os.cpu_count() or 1
        params.cpuparams.n_threads = threads
        params.cpuparams_batch.n_threads = threads
        params.cache_ram_mib = settings.cache_ram_mib
        drafter = settings.speculative.drafter_for(name)
        if drafter is not None and drafter not in EMBEDDED_MODELS:
            raise ConfigurationError(
                f"unknown draft model {drafter!r}; choose one of {sorted(EMBEDDED_MODELS)} (a smaller model of the "
                f"same family, e.g. local-small for local)."
            )
        settings.speculative.apply(params, name, str(assemble(EMBEDDED_MODELS[drafter])) if drafter else None)
        params.port = 0
        params.verbosity = 0
        self.name = name
        self.settings = settings
        try:
            self._server = xllamacpp.Server(params)
        except Exception as exc:
            raise LocalModelError(f"could not start the embedded model {name!r}: {exc}") from exc
        self.base_url = f"{self._server.listening_address}/v1"

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
