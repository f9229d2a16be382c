"""dspy.streamify on N-to-one programs (issue 26): every path yields the prediction, listeners get the answer's
tokens (the fusor's as it writes them, a selection's once), candidates never stream, nothing waits forever."""

import asyncio
import itertools
import json
import logging
import time

import dspy
import pytest
from dspy.streaming import StatusMessage, StreamListener, StreamResponse

import fusion_dspy as fd
from fusion_dspy.testing import ScriptedLM, SlowLM, format_fields
from tests.conftest import is_fusor_prompt, sampler_then_fusor

SAMPLES = [{"answer": a} for a in ["Paris is the capital", "Lyon, maybe", "It is Paris"]]
FUSED = {"answer": "The capital of France is Paris, not Lyon"}
BOUND_S = 10  # a hang fails the test instead of hanging the suite


def qa():
    return dspy.Predict("question -> answer")


PROGRAMS = {
    "fusion": lambda: fd.FusionOfN(qa(), n=3),
    "fusion n=1": lambda: fd.FusionOfN(qa(), n=1),
    "best-of-n": lambda: fd.BestOfN(qa(), n=3),
    "adaptive": lambda: fd.FusionOfN(qa(), n=3, adaptive=True),
    "hedged": lambda: fd.NofN(qa(), fd.Hedged(fd.Fuser(), after_s=0.0, copies=2), n=3),
}


async def collect(program, listeners=None, *, is_async_program=False, **inputs):
    stream = dspy.streamify(program, stream_listeners=listeners, is_async_program=is_async_program)
    values = []

    async def drain():
        async for value in stream(**inputs):
            values.append((time.perf_counter(), value))

    await asyncio.wait_for(drain(), BOUND_S)
    return values


def chunks(values, field="answer"):
    return [v for _, v in values if isinstance(v, StreamResponse) and v.signature_field_name == field]


@pytest.mark.parametrize("is_async_program", [False, True], ids=["sync program", "async program"])
@pytest.mark.parametrize("name", list(PROGRAMS))
async def test_streamify_yields_the_prediction_on_every_path(name, is_async_program):
    """Issue 26.1: a sync program with a FusionOfN hung forever under streamify (its chunks went to another loop)."""
    program = PROGRAMS[name]()
    with dspy.context(lm=ScriptedLM(sampler_then_fusor(SAMPLES, FUSED))):
        values = await collect(program, is_async_program=is_async_program, question="Capital of France?")
    final = values[-1][1]
    assert isinstance(final, dspy.Prediction) and final.answer
    assert final.nofn.candidates  # the program's own prediction, metadata included


async def test_a_program_nesting_fusion_streams_too():
    class AnswerThenSummarise(dspy.Module):
        def __init__(self):
            super().__init__()
            self.answer = fd.FusionOfN(qa(), n=3)
            self.summarise = dspy.Predict("answer -> summary")

        def forward(self, question):
            return self.summarise(answer=self.answer(question=question).answer)

    def respond(prompt):
        return {"summary": "short"} if "`summary`" in prompt else sampler_then_fusor(SAMPLES, FUSED)(prompt)

    with dspy.context(lm=ScriptedLM(respond)):
        values = await collect(AnswerThenSummarise(), question="Capital of France?")
    assert values[-1][1].summary == "short"


async def test_a_listener_on_the_fused_field_gets_the_fusors_tokens_as_it_writes_them():
    lm = ScriptedLM(sampler_then_fusor(SAMPLES, FUSED), stream_chunk_chars=5, stream_delay_s=0.02)
    program = fd.FusionOfN(qa(), n=3)
    with dspy.context(lm=lm):
        values = await collect(program, program.stream_listeners("answer"), question="Capital of France?")
    pieces = chunks(values)
    assert "".join(p.chunk for p in pieces) == FUSED["answer"] == values[-1][1].answer
    assert len([p for p in pieces if p.chunk]) >= 5 and pieces[-1].is_last_chunk
    fusor_call = next(c for c in lm.calls if is_fusor_prompt(c.prompt))
    first_token_at = next(t for t, v in values if isinstance(v, StreamResponse) and v.chunk)
    assert first_token_at < fusor_call.end - 0.1  # it arrived while the fusor was still writing


@pytest.mark.parametrize(
    ("name", "samples", "path"),
    [
        ("best-of-n", SAMPLES, "selected"),
        ("fusion", [{"answer": "Paris"}], "skipped"),  # identical candidates: no fusor call
        ("adaptive", SAMPLES, None),  # a floor may replace the fused answer: it comes once, after the check
        ("hedged", SAMPLES, "fused"),  # two fusor calls at once would interleave their tokens
    ],
)
async def test_an_answer_that_is_not_streamed_live_reaches_the_listener_once(name, samples, path):
    program = PROGRAMS[name]()
    with dspy.context(lm=ScriptedLM(sampler_then_fusor(samples, FUSED), stream_delay_s=0.01)):
        values = await collect(program, program.stream_listeners(), question="Capital of France?")
    final = values[-1][1]
    assert path is None or final.nofn.path == path
    assert [p.chunk for p in chunks(values) if p.chunk] == [final.answer]


async def test_candidates_never_stream():
    with dspy.context(lm=ScriptedLM(sampler_then_fusor(SAMPLES, FUSED))):
        values = await collect(fd.FusionOfN(qa(), n=3), question="Capital of France?")  # no listener: raw chunks
    streamed = "".join(v.choices[0].delta.content or "" for _, v in values if hasattr(v, "choices"))
    assert FUSED["answer"] in streamed
    assert not any(sample["answer"] in streamed for sample in SAMPLES)


async def test_a_streamed_fused_answer_that_is_replaced_says_so():
    """The fusor streamed an empty answer (a fusor failure): the selection that replaces it is announced."""
    program = fd.FusionOfN(qa(), n=3)
    with dspy.context(lm=ScriptedLM(sampler_then_fusor(SAMPLES, {"answer": "  "}))):
        values = await collect(program, program.stream_listeners(), question="Capital of France?")
    final = values[-1][1]
    assert final.nofn.path == "selected" and "empty" in final.nofn.fallback
    notes = [v.message for _, v in values if isinstance(v, StatusMessage)]
    assert any("replaced" in note and "empty" in note for note in notes)
    assert "".join(p.chunk for p in after_last_status(values)) == final.answer  # and the listener takes it


def after_last_status(values, field="answer"):
    """The listener's chunks after the last StatusMessage: the answer that replaced a streamed one."""
    last = max((i for i, (_, v) in enumerate(values) if isinstance(v, StatusMessage)), default=-1)
    return chunks(values[last + 1 :], field)


CUT_OFF = {  # a fusor reply cut off inside its answer field (no end marker), unusable: a listener is left inside it;
    # (adapter, how a model writes fields under it, the cut-off reply, how a listener's joined chunks read)
    "chat": (dspy.ChatAdapter, format_fields, "[[ ## answer ## ]]\n   ", str.strip),
    "json": (dspy.JSONAdapter, json.dumps, '{"answer": "   ', json.loads),  # DSPy streams a JSON value as written
    "xml": (dspy.XMLAdapter, lambda f: "".join(f"<{k}>{v}</{k}>" for k, v in f.items()), "<answer>   ", str.strip),
}


@pytest.mark.parametrize("adapter", list(CUT_OFF))
async def test_a_listener_left_inside_a_replaced_stream_takes_the_new_answer(adapter):
    """The fresh-clone failure of 2026-12-08: the 0.5B fusor's answer was replaced after it streamed, and the
    listener (not reusable, and left inside the stream) never heard the selection that replaced it."""
    kind, written, cut_off, read = CUT_OFF[adapter]
    cycle = itertools.cycle(SAMPLES)
    program = fd.FusionOfN(qa(), n=3)
    lm = ScriptedLM(lambda prompt: cut_off if is_fusor_prompt(prompt) else written(next(cycle)), stream_chunk_chars=4)
    with dspy.context(lm=lm, adapter=kind()):
        values = await collect(program, program.stream_listeners(), question="Capital of France?")
    final = values[-1][1]
    assert final.nofn.path == "selected" and final.answer in {s["answer"] for s in SAMPLES}
    assert any(isinstance(v, StatusMessage) and "replaced" in v.message for _, v in values)
    assert read("".join(p.chunk for p in after_last_status(values))) == final.answer


async def test_a_listener_on_another_predictor_gets_the_final_answer_once():
    """A listener on the wrapped module's predictor (not the fusor's) still hears the answer."""
    program = fd.FusionOfN(qa(), n=3)
    listener = StreamListener("answer", predict=program.source.module, predict_name="source.module")
    with dspy.context(lm=ScriptedLM(sampler_then_fusor(SAMPLES, FUSED))):
        values = await collect(program, [listener], question="Capital of France?")
    assert [p.chunk for p in chunks(values) if p.chunk] == [FUSED["answer"]]


async def test_a_sync_call_inside_a_streamed_async_program_runs_unstreamed_and_says_so(caplog):
    """A sync FusionOfN call made on the stream's own loop cannot deliver chunks (the loop is blocked by the call);
    it must neither hang nor stay silent."""

    class Blocking(dspy.Module):
        def __init__(self):
            super().__init__()
            self.fused = fd.FusionOfN(qa(), n=3)

        async def aforward(self, question):
            return self.fused(question=question)  # a sync call inside async code

    from fusion_dspy import _async

    _async._warned_unstreamed.clear()
    with dspy.context(lm=ScriptedLM(sampler_then_fusor(SAMPLES, FUSED))), caplog.at_level(logging.WARNING):
        values = await collect(Blocking(), is_async_program=True, question="Capital of France?")
    assert values[-1][1].answer == FUSED["answer"]
    assert any("cannot stream" in r.getMessage() for r in caplog.records)


async def test_cancelling_the_stream_cancels_the_calls_it_started():
    lm = SlowLM({"answer": "late"}, delay_s=5.0)
    stream = dspy.streamify(fd.FusionOfN(qa(), n=3))

    async def drain():
        async for _ in stream(question="q"):
            pass

    with dspy.context(lm=lm):
        task = asyncio.ensure_future(drain())
        await asyncio.sleep(0.3)
        started = time.perf_counter()
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
    assert time.perf_counter() - started < 2.0
    for _ in range(40):  # the cancellation reaches the calls on the same loop
        if len(lm.cancelled) == 3:
            break
        await asyncio.sleep(0.05)
    assert len(lm.cancelled) == 3 and lm.calls == []


def test_a_stream_listener_for_a_field_no_predictor_writes_is_refused():
    with pytest.raises(ValueError, match="no predictor of this program writes 'summary'"):
        fd.FusionOfN(qa(), n=3).stream_listeners("summary")


@pytest.mark.local_model
@pytest.mark.timeout(900)
async def test_the_embedded_model_streams_a_fused_answer(small_local_lm):
    """The real path: llama.cpp's server streams, the listener joins to the final answer (fused or selected)."""
    program = fd.FusionOfN(qa(), n=2)
    stream = dspy.streamify(program, stream_listeners=program.stream_listeners())
    values = []
    with dspy.context(lm=small_local_lm):
        async for value in stream(question="Why is the sky blue? One sentence."):
            values.append((time.perf_counter(), value))
    final = values[-1][1]
    assert isinstance(final, dspy.Prediction) and final.answer.strip()
    # a fused answer that streamed and was replaced is announced, and the replacement follows the announcement
    assert "".join(p.chunk for p in after_last_status(values)).strip() == final.answer.strip()
