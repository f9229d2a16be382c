import dspy
import pytest

from fusion_dspy.testing import FailingLM, ScriptedLM, SlowLM, by_substring, format_fields


def test_format_fields_is_chat_adapter_output():
    assert format_fields({"answer": 4}) == "[[ ## answer ## ]]\n4\n\n[[ ## completed ## ]]"


def test_scripted_lm_modes():
    qa = dspy.Predict("question -> answer")
    with dspy.context(lm=ScriptedLM({"answer": "fixed"})):
        assert qa(question="a").answer == "fixed"
    turns = ScriptedLM([{"answer": "one"}, {"answer": "two"}])
    with dspy.context(lm=turns):
        assert [qa(question=q).answer for q in "abc"] == ["one", "two", "one"]
    table = ScriptedLM(by_substring({"France": {"answer": "Paris"}, "Japan": {"answer": "Tokyo"}}))
    with dspy.context(lm=table):
        assert qa(question="Capital of Japan?").answer == "Tokyo"
        with pytest.raises(Exception, match="no scripted answer"):
            qa(question="Capital of Peru?")


def test_calls_are_recorded_across_copies_with_their_settings():
    lm = ScriptedLM({"answer": "x"})
    with dspy.context(lm=lm.copy(temperature=0.3, rollout_id=1)):
        dspy.Predict("question -> answer")(question="q")
    assert len(lm.calls) == 1
    assert lm.calls[0].temperature == 0.3
    assert "[[ ## question ## ]]\nq" in lm.calls[0].prompt


def test_failing_lm_fails_on_chosen_calls():
    lm = FailingLM({"answer": "ok"}, fail_when=lambda number, prompt: number == 0)
    qa = dspy.Predict("question -> answer")
    with dspy.context(lm=lm):
        with pytest.raises(Exception, match="scripted failure"):
            qa(question="a")
        assert qa(question="b").answer == "ok"
    assert lm.calls[0].error is not None and lm.calls[1].error is None


def test_slow_lm_overlap_counts_concurrent_calls():
    lm = SlowLM({"answer": "x"}, delay_s=0.05)
    with dspy.context(lm=lm):
        dspy.Predict("question -> answer")(question="a")
        dspy.Predict("question -> answer")(question="b")
    assert lm.max_overlap() == 1
    assert all(c.end - c.start >= 0.05 for c in lm.calls)


async def test_scripted_lm_streams_its_answer_in_pieces_under_streamify():
    """Issue 26.8: ScriptedLM could not stream, so users could not test their own streaming code with it."""
    import time

    lm = ScriptedLM({"answer": "Paris is the capital of France"}, stream_chunk_chars=6, stream_delay_s=0.02)
    stream = dspy.streamify(
        dspy.Predict("question -> answer"), stream_listeners=[dspy.streaming.StreamListener("answer")]
    )
    arrivals = []
    with dspy.context(lm=lm):
        async for value in stream(question="Capital of France?"):
            arrivals.append((time.perf_counter(), value))
    pieces = [v.chunk for _, v in arrivals if isinstance(v, dspy.streaming.StreamResponse)]
    assert "".join(pieces) == "Paris is the capital of France" == arrivals[-1][1].answer
    assert len([p for p in pieces if p]) >= 4
    assert arrivals[-1][0] - arrivals[0][0] >= 0.1  # pieces came apart, as a model's tokens do
    assert len(lm.calls) == 1 and lm.calls[0].error is None
