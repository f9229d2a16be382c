"""A local OpenAI-compatible chat server with controlled latency and injected faults.

For benchmarks (isolate our overhead from the model's) and fault-injection tests: a seeded fraction of
requests time out, answer 429 with Retry-After, answer 500, return empty or garbage completions, or drop
the connection. Latency is fixed or drawn from a seeded heavy-tailed distribution (`LognormalLatency`).
It listens on 127.0.0.1 only, counts what it served (`stats`, also as JSON at `GET /v1/stats`), and notices
clients that hang up before the answer (`stats.cancelled`), so tests can check that cancelled calls really
closed their requests. `fusion_dspy.testing.serve` runs one in its own process.
"""

from __future__ import annotations

import dataclasses
import itertools
import json
import random
import re
import select
import socket
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Literal

from pydantic import BaseModel, Field

from fusion_dspy.testing.latency import LognormalLatency
from fusion_dspy.testing.sse import completion_events

Fault = Literal["ok", "timeout", "rate_limit", "server_error", "empty", "garbage", "drop"]
Responder = Callable[[list[dict[str, Any]]], str]

_FIELDS = re.compile(r"\[\[ ## (\w+) ## \]\]")


class FaultPlan(BaseModel):
    """Probability of each fault per request (the rest succeed); seeded, so a plan replays identically."""

    timeout: float = 0.0
    rate_limit: float = 0.0
    server_error: float = 0.0
    empty: float = 0.0
    garbage: float = 0.0
    drop: float = 0.0
    retry_after_s: float = 0.2
    hang_s: float = 30.0
    seed: int = 0
    script: list[Fault] = Field(default_factory=list, description="Outcomes of the first requests, in order.")

    def draw(self, rng: random.Random, number: int) -> Fault:
        if number < len(self.script):
            return self.script[number]
        roll = rng.random()
        for fault in ("timeout", "rate_limit", "server_error", "empty", "garbage", "drop"):
            probability = float(getattr(self, fault))
            if roll < probability:
                return fault
            roll -= probability
        return "ok"


@dataclass
class ServerStats:
    """What the server saw: requests by outcome, peak concurrency, and when rate-limited clients came back."""

    requests: int = 0
    outcomes: dict[str, int] = field(default_factory=dict)
    in_flight: int = 0
    peak_in_flight: int = 0
    in_flight_by_model: dict[str, int] = field(default_factory=dict)
    peak_by_model: dict[str, int] = field(default_factory=dict)
    rate_limited_at: list[float] = field(default_factory=list)
    request_times: list[float] = field(default_factory=list)
    connections: int = 0
    cancelled: int = 0
    latencies: list[float] = field(default_factory=list)
    choices: int = 0
    prompt_tokens: int = 0


def dspy_fields_responder(messages: list[dict[str, Any]], tag: str = "") -> str:
    """Answer every output field DSPy's ChatAdapter asked for (read from the prompt) with a short value."""
    last = str(messages[-1].get("content", "")) if messages else ""
    asked = _FIELDS.findall(last.split("Respond with the corresponding output fields")[-1])
    names = [n for n in dict.fromkeys(asked) if n != "completed"] or ["answer"]
    sections = [f"[[ ## {name} ## ]]\n{_FIXED.get(name, f'a {name}{tag}')}" for name in names]
    return "\n\n".join([*sections, "[[ ## completed ## ]]"])


def numbered_fields_responder() -> Responder:
    """Like `dspy_fields_responder`, but free-text answers carry the request number, so candidates differ (a pool
    of identical candidates never reaches a FusionOfN's fusor)."""
    numbers = itertools.count(1)
    return lambda messages: dspy_fields_responder(messages, tag=f" #{next(numbers)}")


_FIXED = {"score": "7", "verdict": "A"}


class _QuietServer(ThreadingHTTPServer):
    """Threads per connection, a deep accept queue for bursts, and no tracebacks when a client hangs up."""

    daemon_threads = True
    request_queue_size = 1024

    def handle_error(self, request: Any, client_address: Any) -> None:
        return None


class FakeModelServer:
    """`with FakeModelServer(latency_s=0.1) as server: dspy.LM("openai/fake", api_base=server.base_url)`.

    Requests for a model in `failing_models` always get a 500 (a teacher that is down); a model in
    `rejected_models` always gets its status code (401 bad key, 404 unknown model, 400 bad request): a failure
    that will not go away. `connection_setup_s` makes every new connection pay that much before its first
    answer, like a TLS handshake to a remote HTTPS API; `stats.connections` counts the connections opened.
    `latency_s` is seconds per answer, or `LognormalLatency(median_s=0.2, p99_s=2.0, seed=0)` for a heavy tail.
    A request for `n` choices gets `n` answers for one prompt billed once, as OpenAI and vLLM do; `n_choices="ignore"`
    answers one (what some OpenAI-compatible servers do), `"refuse"` answers 400 as llama.cpp's server does.
    A request with `stream=true` is answered as server-sent events, `stream_chunk_chars` characters per chunk and
    `stream_delay_s` apart (so `dspy.streamify` code can be tested against it). With `api_keys`, a request whose
    bearer token is not one of them gets a 401, as a provider answers a wrong key.
    """

    def __init__(
        self,
        latency_s: float | LognormalLatency = 0.0,
        faults: FaultPlan | None = None,
        responder: Responder = dspy_fields_responder,
        max_concurrency: int | None = None,
        failing_models: tuple[str, ...] = (),
        rejected_models: dict[str, int] | None = None,
        connection_setup_s: float = 0.0,
        n_choices: Literal["honour", "ignore", "refuse"] = "honour",
        stream_chunk_chars: int = 4,
        stream_delay_s: float = 0.0,
        api_keys: set[str] | None = None,
    ) -> None:
        self.latency_s = latency_s
        self.stream_chunk_chars = stream_chunk_chars
        self.stream_delay_s = stream_delay_s
        self.api_keys = api_keys
        self.n_choices = n_choices
        self.faults = faults or FaultPlan()
        self.responder = responder
        self.failing_models = failing_models
        self.rejected_models = dict(rejected_models or {})
        self.connection_setup_s = connection_setup_s
        self.stats = ServerStats()
        self._rng = random.Random(self.faults.seed)
        self._lock = threading.Lock()
        self._slots = threading.BoundedSemaphore(max_concurrency) if max_concurrency else None
        self._httpd = _QuietServer(("127.0.0.1", 0), self._handler_class())
        self._thread = threading.Thread(target=self._httpd.serve_forever, daemon=True)

    @property
    def base_url(self) -> str:
        host, port = self._httpd.server_address[:2]
        return f"http://{host!s}:{port}/v1"

    def __enter__(self) -> FakeModelServer:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._httpd.shutdown()
        self._httpd.server_close()

    def _begin(self, model: str) -> Fault:
        with self._lock:
            self.stats.requests += 1
            self.stats.request_times.append(time.perf_counter())
            fault: Fault = (
                "server_error" if model in self.failing_models else self.faults.draw(self._rng, self.stats.requests - 1)
            )
            self.stats.outcomes[fault] = self.stats.outcomes.get(fault, 0) + 1
            self.stats.in_flight += 1
            self.stats.peak_in_flight = max(self.stats.peak_in_flight, self.stats.in_flight)
            now = self.stats.in_flight_by_model.get(model, 0) + 1
            self.stats.in_flight_by_model[model] = now
            self.stats.peak_by_model[model] = max(self.stats.peak_by_model.get(model, 0), now)
            if fault == "rate_limit":
                self.stats.rate_limited_at.append(time.perf_counter())
            return fault

    def _latency(self) -> float:
        delay = self.latency_s.draw() if isinstance(self.latency_s, LognormalLatency) else self.latency_s
        with self._lock:
            self.stats.latencies.append(delay)
        return delay

    def _billed(self, choices: int, prompt_tokens: int) -> None:
        with self._lock:
            self.stats.choices += choices
            self.stats.prompt_tokens += prompt_tokens

    def _hung_up(self) -> None:
        with self._lock:
            self.stats.cancelled += 1

    def _end(self, model: str) -> None:
        with self._lock:
            self.stats.in_flight -= 1
            self.stats.in_flight_by_model[model] -= 1

    def _handler_class(self) -> type[BaseHTTPRequestHandler]:
        server = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"
            disable_nagle_algorithm = True

            def log_message(self, format: str, *args: Any) -> None:
                return None

            def setup(self) -> None:
                super().setup()
                with server._lock:
                    server.stats.connections += 1
                if server.connection_setup_s:
                    time.sleep(server.connection_setup_s)

            def do_GET(self) -> None:
                if self.path.rstrip("/").endswith("/stats"):
                    with server._lock:
                        return self._json(200, dataclasses.asdict(server.stats))
                self._json(200, {"object": "list", "data": [{"id": "fake", "object": "model"}]})

            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                body = json.loads(self.rfile.read(length) or b"{}")
                if server._slots is not None:
                    server._slots.acquire()
                model = str(body.get("model", ""))
                if model in server.rejected_models:
                    return self._reject(server.rejected_models[model])
                key = str(self.headers.get("Authorization", "")).removeprefix("Bearer ")
                if server.api_keys is not None and key not in server.api_keys:
                    return self._reject(401)
                fault = server._begin(model)
                try:
                    self._serve(fault, body)
                finally:
                    server._end(model)
                    if server._slots is not None:
                        server._slots.release()

            def _serve(self, fault: Fault, body: dict[str, Any]) -> None:
                if fault == "timeout":
                    self._wait(server.faults.hang_s)
                    return self._drop()
                if fault == "drop":
                    return self._drop()
                if fault == "rate_limit":
                    return self._json(429, {"error": {"message": "rate limited", "type": "rate_limit_error"}},
                                      {"Retry-After": f"{server.faults.retry_after_s:g}"})  # fmt: skip
                if fault == "server_error":
                    return self._json(500, {"error": {"message": "internal error", "type": "server_error"}})
                if not self._wait(server._latency()):
                    server._hung_up()
                    return self._drop()
                if fault == "garbage":
                    return self._raw(200, b"<html>502 Bad Gateway</html>", "text/html")
                messages = body.get("messages", [])
                asked = int(body.get("n") or 1)
                if asked != 1 and server.n_choices == "refuse":
                    return self._json(400, {"error": {"message": "Only one completion choice is allowed",
                                                      "type": "invalid_request_error"}})  # fmt: skip
                count = asked if server.n_choices == "honour" else 1
                contents = ["" if fault == "empty" else server.responder(messages) for _ in range(count)]
                prompt_tokens = sum(len(str(m.get("content", ""))) for m in messages) // 4
                completion_tokens = sum(len(content) // 4 for content in contents)
                server._billed(len(contents), prompt_tokens)
                if body.get("stream"):
                    usage = {"prompt_tokens": prompt_tokens, "completion_tokens": completion_tokens,
                             "total_tokens": prompt_tokens + completion_tokens}  # fmt: skip
                    wanted = (body.get("stream_options") or {}).get("include_usage")
                    return self._stream(completion_events(
                        contents[0], model=str(body.get("model", "fake")), request_id=f"fake-{server.stats.requests}",
                        size=server.stream_chunk_chars, usage=usage if wanted else None))  # fmt: skip
                self._json(200, {
                    "id": f"fake-{server.stats.requests}", "object": "chat.completion", "created": int(time.time()),
                    "model": body.get("model", "fake"),
                    "choices": [{"index": i, "finish_reason": "stop",
                                 "message": {"role": "assistant", "content": content}}
                                for i, content in enumerate(contents)],
                    "usage": {"prompt_tokens": prompt_tokens, "completion_tokens": completion_tokens,
                              "total_tokens": prompt_tokens + completion_tokens},
                })  # fmt: skip

            def _reject(self, status: int) -> None:
                kind = {401: "invalid_api_key", 403: "permission_denied", 404: "model_not_found"}.get(
                    status, "invalid_request_error"
                )
                message = {401: "Incorrect API key provided.", 404: "The model does not exist."}.get(
                    status, "bad request"
                )
                self._json(status, {"error": {"message": message, "type": kind, "code": kind}})

            def _wait(self, seconds: float) -> bool:
                """Sleep `seconds`, watching the socket; False as soon as the client hangs up."""
                deadline = time.perf_counter() + seconds
                while (left := deadline - time.perf_counter()) > 0:
                    readable, _, _ = select.select([self.connection], [], [], left)
                    if not readable:
                        continue
                    try:
                        if not self.connection.recv(1, socket.MSG_PEEK):
                            return False
                    except OSError:
                        return False
                    time.sleep(max(0.0, deadline - time.perf_counter()))
                return True

            def _drop(self) -> None:
                self.close_connection = True
                self.connection.close()

            def _stream(self, events: Iterator[bytes]) -> None:
                """Send `events` as they come (chunked transfer), `stream_delay_s` apart; stop if the client left."""
                self.send_response(200)
                self.send_header("Content-Type", "text/event-stream")
                self.send_header("Transfer-Encoding", "chunked")
                self.end_headers()
                try:
                    for number, data in enumerate(events):
                        if number and server.stream_delay_s and not self._wait(server.stream_delay_s):
                            server._hung_up()
                            return self._drop()
                        self.wfile.write(f"{len(data):X}\r\n".encode() + data + b"\r\n")
                        self.wfile.flush()
                    self.wfile.write(b"0\r\n\r\n")
                except OSError:
                    server._hung_up()
                    self._drop()

            def _json(self, status: int, payload: dict[str, Any], headers: dict[str, str] | None = None) -> None:
                self._raw(status, json.dumps(payload).encode(), "application/json", headers)

            def _raw(self, status: int, data: bytes, kind: str, headers: dict[str, str] | None = None) -> None:
                self.send_response(status)
                self.send_header("Content-Type", kind)
                self.send_header("Content-Length", str(len(data)))
                for key, value in (headers or {}).items():
                    self.send_header(key, value)
                self.end_headers()
                self.wfile.write(data)

        return Handler
