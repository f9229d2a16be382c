"""Scripted language models for tests — ours and yours.

`ScriptedLM` is a real `dspy.LM` (adapters, cache keys, rollout ids, usage tracking all run) whose engine
answers from a script instead of a network. `SlowLM` adds latency, `FailingLM` raises on chosen calls.
Every call is recorded with its start and end time, so concurrency can be asserted from overlap rather
than from a wall-clock budget. An async call cancelled before it answered (first-k, a deadline, hedging) is not
a served call: it is recorded apart, in `lm.cancelled`.
"""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import dspy
from dspy._vendor.lm15.types import Message, Request, Response, TextPart, Usage

Answer = Mapping[str, Any] | str
Responder = Callable[[str], Answer] | Sequence[Answer] | Answer


def by_substring(table: Mapping[str, Answer]) -> Callable[[str], Answer]:
    """A responder that answers with the first entry whose key occurs in the prompt."""

    def respond(prompt: str) -> Answer:
        for key, answer in table.items():
            if key in prompt:
                return answer
        raise LookupError(f"no scripted answer matches the prompt; keys: {list(table)}")

    return respond


def format_fields(fields: Mapping[str, Any]) -> str:
    """Output fields as DSPy's ChatAdapter expects them back from a model."""
    sections = [f"[[ ## {name} ## ]]\n{value}" for name, value in fields.items()]
    return "\n\n".join([*sections, "[[ ## completed ## ]]"])


def prompt_text(request: Request) -> str:
    """Every text part of a request (system first), joined; what scripts match against."""
    texts = [request.system] if isinstance(request.system, str) else []
    for message in request.messages:
        texts.extend(part.text for part in message.parts if isinstance(part, TextPart))
    return "\n".join(texts)


@dataclass
class CallRecord:
    """One served call: when it ran, what it was asked, what it answered."""

    start: float
    end: float
    prompt: str
    temperature: float | None
    answer: str | None = None
    error: str | None = None
    cancelled: bool = False


Delay = float | Callable[[int, str], float]


@dataclass
class _Script:
    responder: Responder
    delay_s: Delay = 0.0
    fail_when: Callable[[int, str], bool] | None = None
    error_factory: Callable[[], Exception] = lambda: ConnectionError("connection refused (scripted failure)")
    calls: list[CallRecord] = field(default_factory=list)
    cancelled: list[CallRecord] = field(default_factory=list)
    _served: int = 0
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def delay_for(self, number: int, request: Request) -> float:
        return self.delay_s(number, prompt_text(request)) if callable(self.delay_s) else self.delay_s

    def next_number(self) -> int:
        with self._lock:
            self._served += 1
            return self._served - 1

    def answer_for(self, number: int, prompt: str) -> str:
        responder = self.responder
        if callable(responder):
            answer = responder(prompt)
        elif isinstance(responder, str | Mapping):
            answer = responder
        else:
            answer = responder[number % len(responder)]
        return answer if isinstance(answer, str) else format_fields(answer)

    def record_cancelled(self, request: Request, start: float) -> None:
        record = CallRecord(start=start, end=time.perf_counter(), prompt=prompt_text(request),
                            temperature=request.config.temperature, error="CancelledError", cancelled=True)  # fmt: skip
        with self._lock:
            self.cancelled.append(record)

    def serve(self, request: Request, number: int, start: float) -> Response:
        prompt = prompt_text(request)
        record = CallRecord(start=start, end=0.0, prompt=prompt, temperature=request.config.temperature)
        try:
            if self.fail_when is not None and self.fail_when(number, prompt):
                raise self.error_factory()
            text = self.answer_for(number, prompt)
            record.answer = text
            return Response(
                id=f"scripted-{number}",
                model="scripted",
                message=Message.assistant(TextPart(text)),
                finish_reason="stop",
                usage=Usage(input_tokens=max(1, len(prompt) // 4), output_tokens=max(1, len(text) // 4)),
            )
        except Exception as exc:
            record.error = f"{type(exc).__name__}: {exc}"
            raise
        finally:
            record.end = time.perf_counter()
            with self._lock:
                self.calls.append(record)


class _SyncEngine:
    def __init__(self, script: _Script) -> None:
        self.script = script

    def complete(self, request: Request) -> Response:
        number, start = self.script.next_number(), time.perf_counter()
        if delay := self.script.delay_for(number, request):
            time.sleep(delay)
        return self.script.serve(request, number, start)


class _AsyncEngine:
    def __init__(self, script: _Script) -> None:
        self.script = script

    async def complete(self, request: Request) -> Response:
        number, start = self.script.next_number(), time.perf_counter()
        delay = self.script.delay_for(number, request)
        try:
            if delay:
                await asyncio.sleep(delay)
        except asyncio.CancelledError:
            self.script.record_cancelled(request, start)
            raise
        return self.script.serve(request, number, start)


class ScriptedLM(dspy.LM):
    """A `dspy.LM` that answers from `responder`: one fixed answer, a list served in turn, or a function of
    the prompt (see `by_substring`). An answer is raw text or a dict of output fields. `delay_s` is seconds per
    call, or a function `(call_number, prompt) -> seconds` (a fast call among slow ones).
    """

    def __init__(
        self,
        responder: Responder,
        *,
        delay_s: Delay = 0.0,
        fail_when: Callable[[int, str], bool] | None = None,
        error_factory: Callable[[], Exception] | None = None,
        model: str = "openai/scripted",
        cache: bool = False,
        **kwargs: Any,
    ) -> None:
        script = _Script(responder=responder, delay_s=delay_s, fail_when=fail_when)
        if error_factory is not None:
            script.error_factory = error_factory
        super().__init__(
            model, engine=_SyncEngine(script), async_engine=_AsyncEngine(script), cache=cache, num_retries=0, **kwargs
        )
        self.script = script

    @property
    def calls(self) -> list[CallRecord]:
        """Every served call, across all copies of this LM (copies share the script)."""
        return self.script.calls

    @property
    def cancelled(self) -> list[CallRecord]:
        """Calls that were cancelled before they answered (not in `calls`)."""
        return self.script.cancelled

    def max_overlap(self) -> int:
        """The largest number of calls that were in flight at the same moment."""
        events = sorted(
            [(c.start, 1) for c in self.calls] + [(c.end, -1) for c in self.calls], key=lambda e: (e[0], e[1])
        )
        running = peak = 0
        for _, step in events:
            running += step
            peak = max(peak, running)
        return peak


class SlowLM(ScriptedLM):
    """A ScriptedLM that takes `delay_s` per call — for concurrency tests."""

    def __init__(self, responder: Responder, delay_s: Delay = 0.5, **kwargs: Any) -> None:
        super().__init__(responder, delay_s=delay_s, **kwargs)


class FailingLM(ScriptedLM):
    """A ScriptedLM whose calls raise `error_factory()` when `fail_when(call_number, prompt)` (default: always)."""

    def __init__(
        self,
        responder: Responder = "",
        *,
        fail_when: Callable[[int, str], bool] | None = None,
        error_factory: Callable[[], Exception] | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(
            responder, fail_when=fail_when or (lambda number, prompt: True), error_factory=error_factory, **kwargs
        )
