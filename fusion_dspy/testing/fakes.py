"""Scripted language models for tests — ours and yours.

`ScriptedLM` is a real `dspy.LM` (adapters, cache keys, rollout ids, usage tracking all run) whose engine
answers from a script instead of a network. `SlowLM` adds latency, `FailingLM` raises on chosen calls.
Every call is recorded with its start and end time, so concurrency can be asserted from overlap rather
than from a wall-clock budget. An async call cancelled before it answered (first-k, a deadline, hedging) is not
a served call: it is recorded apart, in `lm.cancelled`. They stream too: under `dspy.streamify` each answer
arrives in chunks of `stream_chunk_chars` characters, `stream_delay_s` apart (the time to a first token is then
measurable), through DSPy's own streaming path.
"""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import AsyncIterator, Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import dspy
from dspy._vendor.lm15.types import (
    Message,
    Request,
    Response,
    StreamDeltaEvent,
    StreamEndEvent,
    StreamEvent,
    StreamStartEvent,
    TextDelta,
    TextPart,
    Usage,
)

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
    stream_chunk_chars: int = 4
    stream_delay_s: float = 0.0
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
        record = self.begin(request, number, start)
        try:
            text = self.answer(record, number)
            return Response(
                id=f"scripted-{number}",
                model="scripted",
                message=Message.assistant(TextPart(text)),
                finish_reason="stop",
                usage=usage_of(record.prompt, text),
            )
        finally:
            self.finish(record)

    def begin(self, request: Request, number: int, start: float) -> CallRecord:
        return CallRecord(start=start, end=0.0, prompt=prompt_text(request), temperature=request.config.temperature)

    def answer(self, record: CallRecord, number: int) -> str:
        """The scripted answer of call `number` (or its scripted failure), noted on `record`."""
        try:
            if self.fail_when is not None and self.fail_when(number, record.prompt):
                raise self.error_factory()
            record.answer = self.answer_for(number, record.prompt)
            return record.answer
        except Exception as exc:
            record.error = f"{type(exc).__name__}: {exc}"
            raise

    def finish(self, record: CallRecord) -> None:
        record.end = time.perf_counter()
        with self._lock:
            self.calls.append(record)

    def pieces(self, text: str) -> list[str]:
        size = max(1, self.stream_chunk_chars)
        return [text[i : i + size] for i in range(0, len(text), size)] or [""]


def usage_of(prompt: str, text: str) -> Usage:
    return Usage(input_tokens=max(1, len(prompt) // 4), output_tokens=max(1, len(text) // 4))


def _events(number: int, record: CallRecord, pieces: list[str]) -> Iterator[StreamEvent]:
    """The lm15 events of one streamed answer; `record.end` is stamped before the end event goes out."""
    yield StreamStartEvent(id=f"scripted-{number}", model="scripted")
    for piece in pieces:
        yield StreamDeltaEvent(TextDelta(piece))
    yield StreamEndEvent(finish_reason="stop", usage=usage_of(record.prompt, record.answer or ""))


class _SyncEngine:
    def __init__(self, script: _Script) -> None:
        self.script = script

    def complete(self, request: Request) -> Response:
        number, start = self.script.next_number(), time.perf_counter()
        if delay := self.script.delay_for(number, request):
            time.sleep(delay)
        return self.script.serve(request, number, start)

    def stream(self, request: Request) -> Iterator[StreamEvent]:
        script = self.script
        number, start = script.next_number(), time.perf_counter()
        if delay := script.delay_for(number, request):
            time.sleep(delay)
        record = script.begin(request, number, start)
        try:
            pieces = script.pieces(script.answer(record, number))
            for event in _events(number, record, pieces):
                if event.type == "delta" and script.stream_delay_s:
                    time.sleep(script.stream_delay_s)
                yield event
        finally:
            script.finish(record)


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

    async def stream(self, request: Request) -> AsyncIterator[StreamEvent]:
        script = self.script
        number, start = script.next_number(), time.perf_counter()
        record = script.begin(request, number, start)
        try:
            if delay := script.delay_for(number, request):
                await asyncio.sleep(delay)
            pieces = script.pieces(script.answer(record, number))
            for event in _events(number, record, pieces):
                if event.type == "delta" and script.stream_delay_s:
                    await asyncio.sleep(script.stream_delay_s)
                yield event
        except asyncio.CancelledError:
            script.record_cancelled(request, start)
            raise
        except BaseException:
            script.finish(record)
            raise
        else:
            script.finish(record)


class ScriptedLM(dspy.LM):
    """A `dspy.LM` that answers from `responder`: one fixed answer, a list served in turn, or a function of
    the prompt (see `by_substring`). An answer is raw text or a dict of output fields. `delay_s` is seconds per
    call, or a function `(call_number, prompt) -> seconds` (a fast call among slow ones). Streamed
    (`dspy.streamify`), an answer comes in pieces of `stream_chunk_chars` characters, `stream_delay_s` apart.
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
        stream_chunk_chars: int = 4,
        stream_delay_s: float = 0.0,
        **kwargs: Any,
    ) -> None:
        script = _Script(responder=responder, delay_s=delay_s, fail_when=fail_when,
                         stream_chunk_chars=stream_chunk_chars, stream_delay_s=stream_delay_s)  # fmt: skip
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
