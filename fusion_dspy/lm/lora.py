"""A base model and its LoRA adapters on one llama.cpp server: the base stays quantised, each tuned fusor is the
base plus its adapter, chosen per request.

The adapters are loaded without being applied (`lora_init_without_apply`), so a request without a `lora` field is
answered by the base model; a tuned fusor's requests carry `lora: [{"id": i, "scale": 1.0}]`, llama.cpp's
per-request adapter selection. Adapters are LoRA GGUF files (`optimizers.lora_gguf`), checked by sha256 before
loading when a digest is given.
"""

from __future__ import annotations

import hashlib
import threading
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import dspy
from pydantic import BaseModel

from fusion_dspy.errors import ConfigurationError
from fusion_dspy.lm.embedded import LOCAL_API_KEY, EmbeddedLM, local_options
from fusion_dspy.lm.names import tuned_parts
from fusion_dspy.lm.server import ServerSettings, base_params, start_server
from fusion_dspy.lm.weights import EMBEDDED_MODELS, assemble


def file_sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


class Adapter(BaseModel):
    """A LoRA GGUF file and, when known, the sha256 it must have."""

    path: Path
    sha256: str | None = None

    def checked(self) -> Path:
        """The file's path once it exists and matches its sha256 (raises naming the file otherwise)."""
        if not self.path.is_file():
            raise ConfigurationError(
                f"no LoRA adapter at {self.path}; train it with `fusion-dspy optimize --optimizer finetune` or "
                "restore the file beside its registry entry."
            )
        if self.sha256 is not None and file_sha256(self.path) != self.sha256:
            raise ConfigurationError(
                f"the LoRA adapter {self.path} does not match the sha256 its registry entry records "
                f"({self.sha256[:12]}…); it was changed or damaged: train it again or restore it."
            )
        return self.path


def base_path(model: str | Path) -> tuple[str, str | None]:
    """The GGUF file of an embedded model name (assembled if needed) or of a path, and its chat template."""
    if isinstance(model, str) and model in EMBEDDED_MODELS:
        embedded = EMBEDDED_MODELS[model]
        return str(assemble(embedded)), embedded.chat_template
    path = Path(model)
    if not path.is_file():
        raise ConfigurationError(f"{model!r} is neither an embedded model ({sorted(EMBEDDED_MODELS)}) nor a GGUF file.")
    return str(path), None


class AdapterServer:
    """One llama.cpp server holding a base model and LoRA adapters (none applied unless a request asks)."""

    def __init__(self, model: str | Path, adapters: Sequence[Adapter], settings: ServerSettings) -> None:
        import xllamacpp

        path, template = base_path(model)
        params = base_params(path, settings, template)
        params.lora_adapters = [xllamacpp.CommonAdapterLoraInfo(str(a.checked()), 0.0) for a in adapters]
        params.lora_init_without_apply = True
        self.model = str(model)
        self.adapters = [a.path.resolve() for a in adapters]
        self._server, self.base_url = start_server(params, self.model)

    def index(self, adapter: Path) -> int:
        """llama.cpp's id of `adapter` on this server."""
        try:
            return self.adapters.index(adapter.resolve())
        except ValueError:
            raise ConfigurationError(f"{adapter} is not loaded on this server ({self.adapters}).") from None

    def close(self) -> None:
        self._server = None


_servers: dict[tuple[str, tuple[str, ...]], AdapterServer] = {}
_lock = threading.Lock()


def adapter_server(model: str | Path, adapters: Sequence[Adapter]) -> AdapterServer:
    """The process-wide server for `model` with exactly these adapters, started on first use. Every adapter is
    checked against its sha256 on every call (a file changed under a running server is refused too)."""
    for adapter in adapters:
        adapter.checked()
    key = (str(model), tuple(str(a.path.resolve()) for a in adapters))
    with _lock:
        if key not in _servers:
            _servers[key] = AdapterServer(model, adapters, ServerSettings.from_env())
        return _servers[key]


def lora_request(index: int | None) -> dict[str, Any]:
    """The request field that applies adapter `index` alone (None: none, the base model)."""
    return {"lora": [] if index is None else [{"id": index, "scale": 1.0}]}


def tuned_name(base: str, adapter: Adapter) -> str:
    """The name a model serving `adapter` goes by (`local-small+adapter-1a2b3c4d`): its base's and the adapter's
    digest, so stores and caches keep two adapters of the same file name apart; a map's cost reads the base's
    speed from the part before `+`."""
    return f"{base}+{adapter.path.stem}-{(adapter.sha256 or file_sha256(adapter.checked()))[:8]}"


def lora_lm(server: AdapterServer, adapter: Adapter | None, **kwargs: Any) -> dspy.LM:
    """A DSPy LM for the base model with `adapter` applied (None: the base model alone), on `server`. Its name
    carries the adapter's digest (`…+adapter-1a2b3c4d`), as `TunedLM`'s does: an adapter trained again into the
    same file is another model to DSPy's cache and to the score stores, never answered from the old one's."""
    index = None if adapter is None else server.index(adapter.path)
    name = Path(server.model).stem if adapter is None else tuned_name(Path(server.model).stem, adapter)
    return dspy.LM(f"openai/{name}", api_base=server.base_url, api_key=LOCAL_API_KEY,
                   extra_body=lora_request(index), **local_options(**kwargs))  # fmt: skip


class TunedLM(EmbeddedLM):
    """An embedded model with one LoRA adapter applied, on the base's adapter server, started at the first request
    like any `EmbeddedLM` (a map or eval whose tuned answers are all stored starts nothing). Its model name carries
    the adapter's digest (`openai/local-small+adapter-1a2b3c4d`), so stores and caches keep two adapters of the
    same file name apart, and a map's cost reads the base model's speed."""

    def __init__(self, base: str, adapter: Path, **kwargs: Any) -> None:
        self.adapter = Adapter(path=adapter, sha256=file_sha256(Adapter(path=adapter).checked()))
        super().__init__(base, served_as=tuned_name(base, self.adapter), extra_body=lora_request(0),
                         **local_options(**kwargs))  # fmt: skip

    def server_url(self) -> str:
        return adapter_server(self.embedded, [self.adapter]).base_url  # its one adapter has id 0


def tuned_lm(spec: str, **kwargs: Any) -> TunedLM:
    """The LM of `base@adapter.gguf` (`is_tuned(spec)` said it is one)."""
    return TunedLM(*tuned_parts(spec), **kwargs)
