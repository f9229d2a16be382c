"""Streaming an N-to-one answer under `dspy.streamify`: the answer's tokens, never the candidates'.

Candidates are sampled unstreamed (N interleaved token streams are not an answer). The fusor's tokens stream as
it writes them when nothing after it can replace its answer (`Fuser`, plain `FusionOfN`). When something can
(adaptive fusion's floor), or when the answer is a selection (`BestOfN`, a skipped or floored fusion), each
`dspy.streaming.StreamListener` on the program's output fields receives the final answer once, as if a model had
written it in one piece. A fused answer that streamed and was then replaced (the fusor's output was unusable) is
followed by a `StatusMessage` saying so and then by the answer that replaced it, which reusable listeners (those of
`stream_listeners()` are) take as a new stream; the final prediction always holds the answer.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from contextlib import AbstractContextManager, nullcontext
from typing import Any

import dspy
from dspy._vendor.lm15.types import StreamDeltaEvent, TextDelta
from dspy.adapters.json_adapter import JSONAdapter
from dspy.adapters.xml_adapter import XMLAdapter
from dspy.clients.engines.streaming import ListenerBridge
from dspy.streaming import StatusMessage, StreamListener

from fusion_dspy._async import is_streaming
from fusion_dspy.adaptive import AdaptiveFusion
from fusion_dspy.aggregator import Aggregation, Aggregator
from fusion_dspy.candidates import CandidatePool, as_text
from fusion_dspy.hedge import Hedged
from fusion_dspy.predictors import predictors
from fusion_dspy.select.base import Selector


def unstreamed() -> AbstractContextManager[Any]:
    """A context in which no LM call streams (candidates, judges, a fusor whose answer may still be replaced)."""
    return dspy.context(send_stream=None) if is_streaming() else nullcontext()


def fusor_streams_live(aggregator: Aggregator, inputs: dict[str, Any], pool: CandidatePool) -> bool:
    """Whether the fusor's tokens may reach listeners as it writes them: only when no floor can replace its answer
    afterwards and one fusor call writes it (a selection never streams live: its answer is a candidate, known only
    once chosen; hedged copies would interleave). The outvoted check can only fire on a pool with a majority."""
    if isinstance(aggregator, Selector | Hedged):
        return False
    if isinstance(aggregator, AdaptiveFusion):
        outvote = aggregator.floor_outvoted and aggregator.can_outvote(inputs, pool)
        return aggregator.floor_margin is None and not aggregator.floor_invention and not outvote
    return True


def answer_listeners(program: dspy.Module, fields: Iterable[str]) -> list[StreamListener]:
    """`StreamListener`s for `fields` of an N-to-one program, on the predictor that writes its final answer: the
    fusor's when it fuses, else the wrapped module's. (A plain `StreamListener("answer")` cannot choose: the wrapped
    module and the fusor both write `answer`.) They are reusable, so an answer that replaces a streamed fused one
    reaches them too (a listener that is not ignores everything after its first stream ends)."""
    named = program.named_predictors()
    writers = [(n, p) for n, p in named if n.startswith("aggregator.")] + [
        (n, p) for n, p in named if n.startswith("source.")
    ]
    listeners = []
    for field in fields:
        found = next(((n, p) for n, p in writers if field in p.signature.output_fields), None)
        if found is None:
            raise ValueError(
                f"no predictor of this program writes {field!r}; its output fields are "
                f"{sorted({f for _, p in named for f in p.signature.output_fields})}."
            )
        listeners.append(
            StreamListener(signature_field_name=field, predict=found[1], predict_name=found[0], allow_reuse=True)
        )
    return listeners


async def send_answer(
    program: dspy.Module,
    aggregator: Aggregator,
    aggregation: Aggregation,
    trace: list[Any],
    live: bool,
    fields: list[str],
) -> None:
    """Give each listener on `program`'s predictors the final answer's fields once, unless the fusor's own tokens
    already gave it exactly this answer. Where they may have given it another one (a fusor that answered, or failed,
    and was replaced), the adapter's end marker first closes a stream a listener may still be inside (a fusor cut
    off before its end marker), then the replacement is announced and sent as a stream of its own."""
    stream = dspy.settings.send_stream
    listeners = [
        listener
        for listener in dspy.settings.stream_listeners or []
        if listener.signature_field_name in fields and listener.predict is not None
    ]
    if stream is None or not listeners:
        return
    ours = {id(p) for p in predictors(program)}
    called = {id(entry[0]) for entry in trace}  # predictors that answered (a failed call leaves no trace entry)
    if aggregation.fallback is not None:  # the fusor was tried: it may have streamed before it failed
        called |= {id(p) for p in predictors(aggregator)}
    intact = aggregation.path == "fused" and aggregation.fallback is None
    by_predictor: dict[int, list[str]] = {}
    replaced: set[int] = set()
    for listener in listeners:
        key = id(listener.predict)
        if key not in ours:
            continue
        streamed = live and key in called
        if streamed and intact:
            continue
        if streamed:
            replaced.add(key)
        by_predictor.setdefault(key, []).append(listener.signature_field_name)
    for key in replaced:
        await stream.send(ListenerBridge("fusion-dspy", key).chunk(_text_event(_closing(by_predictor[key]))))
    if replaced:
        why = aggregation.fallback or aggregation.reason or f"path {aggregation.path}"
        await stream.send(StatusMessage(f"the streamed fused answer was replaced ({why}); listeners may take it again"))
    for key, wanted in by_predictor.items():
        values = {name: as_text(aggregation.outputs.get(name)) for name in fields if name in wanted}
        bridge = ListenerBridge("fusion-dspy", key)
        for piece in _written(values):
            await stream.send(bridge.chunk(_text_event(piece)))


def _written(values: dict[str, str]) -> list[str]:
    """The fields as the adapter in use has a model write them, in pieces a listener takes apart as it would a
    model's tokens: field header, value, end marker."""
    adapter = dspy.settings.adapter
    if isinstance(adapter, JSONAdapter):
        items = list(values.items())
        pieces = ["{"]
        for i, (name, text) in enumerate(items):
            pieces += [f"{', ' if i else ''}{json.dumps(name)}: ", json.dumps(text, ensure_ascii=False)]
        return [*pieces, "}"]
    if isinstance(adapter, XMLAdapter):
        return [piece for name, text in values.items() for piece in (f"<{name}>", text, f"</{name}>")]
    pieces = [piece for name, text in values.items() for piece in (f"[[ ## {name} ## ]]\n", text, "\n\n")]
    return [*pieces, "[[ ## completed ## ]]"]


def _closing(fields: list[str]) -> str:
    """What ends a field's stream under the adapter in use (the end of a JSON string value, the field's closing
    tag, the completed marker); to a listener not inside a stream it is not a field start, so it passes unheard."""
    adapter = dspy.settings.adapter
    if isinstance(adapter, JSONAdapter):
        return '"}'
    if isinstance(adapter, XMLAdapter):
        return "".join(f"</{name}>" for name in fields)
    return "\n\n[[ ## completed ## ]]"


def _text_event(text: str) -> StreamDeltaEvent:
    return StreamDeltaEvent(TextDelta(text))
