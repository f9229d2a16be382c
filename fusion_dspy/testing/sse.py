"""OpenAI-style streamed chat completions (`stream=true`): server-sent events, one text piece per chunk."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from typing import Any


def pieces(text: str, size: int) -> list[str]:
    """`text` cut into pieces of `size` characters (one piece, empty, for an empty answer)."""
    step = max(1, size)
    return [text[i : i + step] for i in range(0, len(text), step)] or [""]


def completion_events(
    content: str, *, model: str, request_id: str, size: int, usage: dict[str, int] | None
) -> Iterator[bytes]:
    """The `data:` events of one streamed answer: the role, the text in pieces, the finish reason, the usage when
    asked for (`stream_options.include_usage`), then `[DONE]`."""
    created = int(time.time())

    def event(choices: list[dict[str, Any]], **extra: Any) -> bytes:
        chunk = {"id": request_id, "object": "chat.completion.chunk", "created": created, "model": model,
                 "choices": choices, **extra}  # fmt: skip
        return f"data: {json.dumps(chunk)}\n\n".encode()

    yield event([{"index": 0, "delta": {"role": "assistant", "content": ""}, "finish_reason": None}])
    for piece in pieces(content, size):
        yield event([{"index": 0, "delta": {"content": piece}, "finish_reason": None}])
    yield event([{"index": 0, "delta": {}, "finish_reason": "stop"}])
    if usage is not None:
        yield event([], usage=usage)
    yield b"data: [DONE]\n\n"
