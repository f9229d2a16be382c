"""A DSPy LM for an embedded model whose server starts at its first request, not when it is created: a run whose
answers are all stored (a finished eval, map or study) loads no weights and starts no server."""

from __future__ import annotations

import asyncio
from typing import Any

import dspy

from fusion_dspy.errors import LocalModelError
from fusion_dspy.lm.weights import EMBEDDED_MODELS
from fusion_dspy.markers import END_MARKERS

LOCAL_API_KEY = "local"
LOCAL_MAX_TOKENS = 512
NOT_STARTED = "embedded://not-started"


def local_options(**kwargs: Any) -> dict[str, Any]:
    """Request settings of the embedded models. They stop at DSPy's end marker, as the small models often write it
    inline (`Mars [[ ## completed ## ]]`) where DSPy's parser keeps it, and sometimes ramble on after it."""
    return {"max_tokens": LOCAL_MAX_TOKENS, "num_retries": 1, "stop": list(END_MARKERS), **kwargs}


class EmbeddedLM(dspy.LM):
    """`openai/<name>` served in-process by llama.cpp, started on first use (once per process: copies share it)."""

    def __init__(self, name: str, *, served_as: str | None = None, **kwargs: Any) -> None:
        """`served_as`: the model name after `openai/` when it is not `name` (a tuned fusor's)."""
        if name not in EMBEDDED_MODELS:
            raise LocalModelError(f"unknown embedded model {name!r}; choose one of {sorted(EMBEDDED_MODELS)}.")
        super().__init__(f"openai/{served_as or name}", api_base=NOT_STARTED, api_key=LOCAL_API_KEY, **kwargs)
        self.embedded = name

    @property
    def started(self) -> bool:
        """Whether this LM has reached its server (a request went out, or `start()` was called)."""
        return self.kwargs.get("api_base") != NOT_STARTED

    def start(self) -> str:
        """The server's base URL, starting the model if no LM of this process has yet (seconds: load the weights)."""
        if not self.started:
            self.kwargs["api_base"] = self.server_url()
        return str(self.kwargs["api_base"])

    def server_url(self) -> str:
        """The base URL of the server this LM is answered by, started on first use (once per process)."""
        from fusion_dspy.lm.server import local_server

        return local_server(self.embedded).base_url

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        self.start()
        return super().__call__(*args, **kwargs)

    async def acall(self, *args: Any, **kwargs: Any) -> Any:
        if not self.started:
            await asyncio.to_thread(self.start)
        return await super().acall(*args, **kwargs)

    def forward(self, *args: Any, **kwargs: Any) -> Any:
        self.start()
        return super().forward(*args, **kwargs)

    async def aforward(self, *args: Any, **kwargs: Any) -> Any:
        if not self.started:
            await asyncio.to_thread(self.start)
        return await super().aforward(*args, **kwargs)
