"""N samples from one request: ask the model once with `n=N` and hand choice i to sample i.

Servers that accept `n` (OpenAI, vLLM, SGLang) process the prompt once for all N samples and bill its tokens once.
Each sample still runs its own program call. `ChoiceAdapter` wraps the sample's adapter and answers the sample's
first LM call — the one every sample makes with the same messages — with the sample's choice, which the sample's
own adapter then parses: a choice that does not parse fails its own candidate only (the adapter's usual JSON retry
is a request of its own). Every other call goes to the model as before, under the sample's own rollout id.

DSPy 3.4's native engine turns `n=N` into N requests in a row, so the shared request goes through its LiteLLM
engine, which sends `n` as it is. It is keyed in DSPy's cache by the pool's first rollout id and `n`: the same
seed gives the same pool from a warm cache (a different draw from the N-request pool of that seed).

A server that answers fewer choices than asked (it ignores `n`) leaves the samples without one to ask on their
own; one that refuses `n` (an error) leaves all of them to. A warning says so once per model, and `"auto"` then
stops asking that model for `n` in this process.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
from collections.abc import Sequence
from typing import Any, Literal

import dspy
from dspy.utils.usage_tracker import UsageTracker

from fusion_dspy.errors import ConfigurationError
from fusion_dspy.usage import TokenUsage

OneRequest = bool | Literal["auto"]

_log = logging.getLogger(__name__)
_N_SUPPORT: dict[str, bool] = {}  # by model and address: False once a server ignored or refused `n`


def check_one_request(value: Any) -> OneRequest:
    if value is True or value is False or value == "auto":
        return value
    raise ConfigurationError(f"one_request must be True, False or 'auto'; got {value!r}.")


def client_sends_n(lm: Any) -> bool:
    """True for a DSPy chat LM whose engine can be LiteLLM's (a custom engine makes one call per choice)."""
    return isinstance(lm, dspy.LM) and isinstance(getattr(lm, "_engine_spec", None), str) and lm.model_type == "chat"


def _server(lm: Any) -> str:
    kwargs = getattr(lm, "kwargs", {})
    return f"{getattr(lm, 'model', '?')}@{kwargs.get('api_base') or kwargs.get('base_url') or 'default'}"


def use_one_request(setting: OneRequest, n: int, lm: Any, module: dspy.Module) -> bool:
    """Whether a pool of `n` from `module` on `lm` is asked in one request; raises where `True` cannot work."""
    if setting is False or n == 1:
        return False
    reason = None
    if not client_sends_n(lm):
        reason = f"its LM ({type(lm).__name__}) is not a dspy.LM chat model with a built-in engine"
    elif not hasattr(type(module), "aforward"):
        reason = f"{type(module).__name__} has no aforward (dspy.Predict and dspy.ChainOfThought have)"
    if reason is not None:
        if setting is True:
            raise ConfigurationError(f"one_request=True cannot share one request: {reason}. Use one_request='auto'.")
        return False
    return setting is True or _N_SUPPORT.get(_server(lm), True)


def split_usage(total: TokenUsage, weights: Sequence[int]) -> list[TokenUsage]:
    """One request's usage shared by its choices, summing to it exactly: the prompt (billed once) evenly, the
    completion in proportion to each choice's length (a response reports only the sum), the request counted once,
    on the first choice."""
    count = len(weights)
    prompt = _spread(total.prompt_tokens, [1] * count)
    cached = _spread(total.cached_prompt_tokens, [1] * count)
    completion = _spread(total.completion_tokens, [max(1, w) for w in weights])
    return [
        TokenUsage(prompt_tokens=prompt[i], completion_tokens=completion[i], cached_prompt_tokens=cached[i],
                   lm_calls=total.lm_calls if i == 0 else 0)
        for i in range(count)
    ]  # fmt: skip


def _spread(amount: int, weights: Sequence[int]) -> list[int]:
    """`amount` split in proportion to `weights`, largest remainders first, so the parts sum to `amount`."""
    whole = sum(weights)
    exact = [amount * w / whole for w in weights]
    parts = [int(x) for x in exact]
    for i in sorted(range(len(weights)), key=lambda i: parts[i] - exact[i])[: amount - sum(parts)]:
        parts[i] += 1
    return parts


def _text(output: Any) -> str:
    return str(output.get("text") or "") if isinstance(output, dict) else str(output)


class SharedRequest:
    """The one request of a pool: made by the first sample that asks, awaited by the others."""

    def __init__(self, n: int, rollout_id: int) -> None:
        self.n = n
        self.rollout_id = rollout_id
        self.outputs: list[Any] = []
        self.shares: list[TokenUsage] = []
        self._key: str | None = None
        self._task: asyncio.Future[None] | None = None
        self._served: set[int] = set()

    async def choice(self, lm: Any, messages: Any, lm_kwargs: dict[str, Any], index: int) -> list[Any] | None:
        """Sample `index`'s choice as the LM's outputs, or None: ask the model yourself."""
        key = json.dumps([_server(lm), messages, lm_kwargs, _settings(lm)], sort_keys=True, default=str)
        if self._key is None:
            self._key = key
            self._task = asyncio.ensure_future(self._ask(lm, messages, lm_kwargs))
        if key != self._key or index in self._served or self._task is None:
            return None
        self._served.add(index)
        await asyncio.shield(self._task)
        return [self.outputs[index]] if index < len(self.outputs) else None

    async def _ask(self, lm: Any, messages: Any, lm_kwargs: dict[str, Any]) -> None:
        shared = lm.copy(engine="litellm", rollout_id=self.rollout_id)
        server = _server(lm)
        tracker = UsageTracker()
        with dspy.context(usage_tracker=tracker):  # its own, not nested: no sample is billed the whole request
            try:
                with _adapter_call(shared, messages):
                    outputs = await shared.acall(messages=messages, n=self.n, **lm_kwargs)
            except Exception as exc:  # noqa: BLE001 - any refusal: the samples ask on their own
                _fall_back(server, f"it refused n={self.n} ({type(exc).__name__}: {str(exc)[:200]})")
                return
        if len(outputs) < self.n:
            _fall_back(server, f"it answered {len(outputs)} of n={self.n} choices (it ignores n)")
        else:
            _N_SUPPORT[server] = True
        self.outputs = list(outputs)
        self.shares = split_usage(TokenUsage.from_tracker(tracker.usage_data), [len(_text(o)) for o in outputs])

    def close(self) -> None:
        """Cancel the request if every sample stopped waiting for it (first-k, a deadline, timeouts)."""
        if self._task is not None and not self._task.done():
            self._task.cancel()


def _settings(lm: Any) -> dict[str, Any]:
    return {k: v for k, v in getattr(lm, "kwargs", {}).items() if k not in ("rollout_id", "api_key")}


def _fall_back(server: str, why: str) -> None:
    if _N_SUPPORT.get(server) is not False:
        _log.warning("one request for N samples: %s at %s, so each sample asks on its own.", why, server)
    _N_SUPPORT[server] = False


class ChoiceAdapter:
    """The sample's adapter, answering its first LM call from the shared request (async calls only)."""

    def __init__(self, inner: Any, shared: SharedRequest, index: int) -> None:
        self.inner = inner
        self.shared = shared
        self.index = index

    def __call__(self, lm: Any, lm_kwargs: dict[str, Any], signature: Any, demos: Any, inputs: Any) -> Any:
        return self.inner(lm, lm_kwargs, signature, demos, inputs)

    async def acall(self, lm: Any, lm_kwargs: dict[str, Any], signature: Any, demos: Any, inputs: Any) -> Any:
        return await self.inner.acall(_ChoiceLM(lm, self.shared, self.index), lm_kwargs, signature, demos, inputs)

    def __getattr__(self, name: str) -> Any:
        return getattr(self.inner, name)


class _ChoiceLM:
    """The sample's LM as its adapter sees it: a call the shared request answers returns the sample's choice."""

    def __init__(self, lm: Any, shared: SharedRequest, index: int) -> None:
        self._lm = lm
        self._shared = shared
        self._index = index

    async def acall(self, prompt: Any = None, *, messages: Any = None, **kwargs: Any) -> Any:
        if prompt is None and messages is not None:
            outputs = await self._shared.choice(self._lm, messages, kwargs, self._index)
            if outputs is not None:
                return outputs
        with _adapter_call(self._lm, messages):
            return await self._lm.acall(prompt, messages=messages, **kwargs)

    def __call__(self, prompt: Any = None, *, messages: Any = None, **kwargs: Any) -> Any:
        with _adapter_call(self._lm, messages):
            return self._lm(prompt, messages=messages, **kwargs)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._lm, name)


def _adapter_call(lm: Any, messages: Any) -> contextlib.AbstractContextManager[Any]:
    """DSPy 3.4's mark of an adapter's own `messages=` call (no deprecation warning), where it exists."""
    try:
        from dspy.clients._deprecation import adapter_message_call
    except ImportError:
        return contextlib.nullcontext()
    return adapter_message_call(lm, messages)


def with_choice(shared: SharedRequest, index: int, call: Any) -> Any:
    """`call` (a sample) run with its adapter wrapped in a `ChoiceAdapter`."""

    async def run() -> Any:
        inner = dspy.settings.adapter or dspy.ChatAdapter()
        with dspy.context(adapter=ChoiceAdapter(inner, shared, index)):
            return await call()

    return run
