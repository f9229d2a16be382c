"""LM responses kept in a JSONL file beside a long run's results, so the run continues on another machine.

DSPy caches every LM response in the user's home (`~/.dspy_cache`), which is what lets a killed optimiser run
(MIPROv2, GEPA, BootstrapFewShot) replay its finished calls in seconds when it is restarted — but only on the
machine that made them. A study that takes longer than one sitting, or whose results should be reproducible
without the model, keeps its responses here as well: one JSON line per distinct request (DSPy's own cache
key), appended as each response arrives. Read back, they are answered like DSPy's cache hits (no usage).

DSPy keys a request asked synchronously apart from the same request asked asynchronously (the calling function is
part of its key), so an optimiser (sync) and the study's own scoring (async) would pay twice for one prompt and
could be given two different answers by a model that is not bit-stable. Here a miss is answered by the other
mode's response when there is one: one request, one answer.
"""

from __future__ import annotations

import contextlib
import json
import threading
from collections.abc import Iterator
from pathlib import Path, PurePath
from typing import Any, Literal

import dspy
import litellm
from dspy.clients.cache import Cache
from pydantic import BaseModel

from fusion_dspy.jsonl import JsonlLog


class LoggedResponse(BaseModel):
    """One LM response under DSPy's cache key of its request: DSPy's own plain-data record, or a LiteLLM
    response (DSPy's compatibility path) as its JSON."""

    key: str
    kind: Literal["record", "litellm"] = "record"
    response: dict[str, Any]
    run: str | None = None
    """The run that logged it (a study's name), so one log shared by several runs still says what each cost;
    None in rows logged before runs were named."""

    def value(self) -> Any:
        return litellm.ModelResponse(**self.response) if self.kind == "litellm" else self.response


MODEL_FIELDS = frozenset({"model", "response_model"})


def without_paths(data: Any) -> Any:
    """`data` with every model name that is a file path cut to the file's name: a local server (llama.cpp) names
    its model by the weights' path, which would write the machine's home folder into a committed log."""
    if isinstance(data, dict):
        return {
            k: PurePath(v).name if k in MODEL_FIELDS and isinstance(v, str) and PurePath(v).is_absolute() else
            without_paths(v)
            for k, v in data.items()
        }  # fmt: skip
    if isinstance(data, list):
        return [without_paths(item) for item in data]
    return data


def logged(key: str, value: Any, run: str | None = None) -> LoggedResponse | None:
    """The log row of a response (model paths cut to file names), or None for one that is not plain data (it
    stays in DSPy's cache only)."""
    if isinstance(value, litellm.ModelResponse):
        return LoggedResponse(key=key, kind="litellm", response=without_paths(value.model_dump(mode="json")), run=run)
    if isinstance(value, dict):
        try:
            json.dumps(value)
        except (TypeError, ValueError):
            return None
        return LoggedResponse(key=key, response=without_paths(value), run=run)
    return None


NATIVE = "dspy.clients.lm15.complete"  # DSPy's native path; asked asynchronously: NATIVE + ".async"
LITELLM = "litellm_"  # its LiteLLM path: "dspy.clients.lm.litellm_completion", async "...alitellm_completion"


def other_mode(request: dict[str, Any]) -> dict[str, Any] | None:
    """The same request as DSPy keys it when asked in the other mode (sync <-> async); None when `request` does
    not name its calling function the way DSPy 3.4 does."""
    name = request.get("_fn_identifier")
    if not isinstance(name, str):
        return None
    module, _, function = name.rpartition(".")
    if name in (NATIVE, f"{NATIVE}.async"):
        twin = f"{NATIVE}.async" if name == NATIVE else NATIVE
    elif function.startswith(LITELLM):
        twin = f"{module}.a{function}"
    elif function.startswith(f"a{LITELLM}"):
        twin = f"{module}.{function[1:]}"
    else:
        return None
    return {**request, "_fn_identifier": twin}


class ResponseLogCache(Cache):
    """DSPy's cache (`fallback`: memory, then `~/.dspy_cache`) with a JSONL file of responses behind it: a miss
    there is answered from the file, and every new response is appended to the file, labelled with `run`."""

    def __init__(self, path: Path, fallback: Cache, run: str | None = None) -> None:
        super().__init__(enable_disk_cache=False, enable_memory_cache=False, disk_cache_dir=None)
        self.fallback = fallback
        self.run = run
        self.log = JsonlLog(path, LoggedResponse, key=lambda row: row.key)
        self._writing = threading.Lock()  # optimisers call the LM from worker threads: one line at a time

    def __contains__(self, key: str) -> bool:
        return key in self.log or key in self.fallback

    def get(self, request: dict[str, Any], ignored_args_for_cache_key: list[str] | None = None) -> Any:
        hit = self._get(request, ignored_args_for_cache_key)
        twin = other_mode(request) if hit is None else None
        return hit if twin is None else self._get(twin, ignored_args_for_cache_key)

    def _get(self, request: dict[str, Any], ignored_args_for_cache_key: list[str] | None) -> Any:
        try:
            key = self.cache_key(request, ignored_args_for_cache_key)
        except Exception:  # noqa: BLE001 - an unhashable request is simply not cached, as in DSPy
            return None
        hit = self.fallback.get(request, ignored_args_for_cache_key)
        if hit is not None:
            self._keep(key, hit)  # made before this log existed: the log still holds every call of the run
            return hit
        row = self.log.rows.get(key)
        if row is None:
            return None
        response = row.value()
        self.fallback.put(request, response, ignored_args_for_cache_key)
        return self._prepare_cached_response(response)

    def put(
        self,
        request: dict[str, Any],
        value: Any,
        ignored_args_for_cache_key: list[str] | None = None,
        enable_memory_cache: bool = True,
    ) -> None:
        self.fallback.put(request, value, ignored_args_for_cache_key, enable_memory_cache)
        try:
            key = self.cache_key(request, ignored_args_for_cache_key)
        except Exception:  # noqa: BLE001 - as in DSPy: not cached
            return
        self._keep(key, value)

    def _keep(self, key: str, value: Any) -> None:
        if key in self.log:
            return
        row = logged(key, value, self.run)
        if row is None:
            return
        with self._writing:
            if key not in self.log:
                self.log.append(row)


@contextlib.contextmanager
def response_log(path: Path | None, run: str | None = None) -> Iterator[None]:
    """Within the block, DSPy's LM calls are answered from and logged to `path` (nothing changes when None),
    each new one labelled with `run`."""
    if path is None:
        yield
        return
    previous = dspy.cache
    dspy.cache = ResponseLogCache(path, previous, run)
    try:
        yield
    finally:
        dspy.cache = previous
