"""First-k / deadline sources: stragglers are cancelled (none left running), recorded as cut, never aggregated."""

import time

import dspy
import pytest

import fusion_dspy as fd
from fusion_dspy.testing import FakeModelServer, FaultPlan, ScriptedLM
from tests.conftest import is_fusor_prompt

pytestmark = pytest.mark.timeout(60)


def qa():
    return dspy.Predict("question -> answer")


def answers_by_number(prompt_or_fused, slow_from: int, slow_s: float = 5.0, fast_s: float = 0.05):
    """Call i answers "answer i"; calls numbered ≥ slow_from are stragglers; the fusor answers at once."""
    numbers = iter(range(1000))

    def respond(prompt):
        return prompt_or_fused if is_fusor_prompt(prompt) else {"answer": f"answer {next(numbers)}"}

    def delay(number, prompt):
        return 0.0 if is_fusor_prompt(prompt) else (slow_s if number >= slow_from else fast_s)

    return respond, delay


def test_first_k_cuts_stragglers_cancels_their_calls_and_never_fuses_them():
    respond, delay = answers_by_number({"answer": "fused"}, slow_from=3)
    lm = ScriptedLM(respond, delay_s=delay)
    program = fd.FusionOfN(qa(), source=fd.RepeatSampler(5, lm=lm, k=3), fuser=fd.Fuser(lm=lm))
    start = time.perf_counter()
    pred = program(question="q")
    assert time.perf_counter() - start < 2.0
    assert pred.answer == "fused"
    pool = pred.nofn.candidates
    assert [c.status for c in pool] == ["ok", "ok", "ok", "cut", "cut"]
    assert pool.early_stop == "k" and [c.index for c in pool.cut] == [3, 4] and pool.failed == []
    assert all(c.outputs == {} and c.error is None and c.rollout_id == c.index for c in pool.cut)
    assert len(lm.cancelled) == 2  # the two stragglers were cancelled, not left running
    [fusor] = [c for c in lm.calls if is_fusor_prompt(c.prompt)]
    assert "<candidate 3>" in fusor.prompt and "<candidate 4>" not in fusor.prompt
    assert "answer 3" not in fusor.prompt and "answer 4" not in fusor.prompt


def test_a_cut_candidate_is_never_selected_even_when_it_would_win():
    respond, delay = answers_by_number({"answer": "unused"}, slow_from=2)
    lm = ScriptedLM(respond, delay_s=delay)
    scorer = fd.RewardFn(lambda inputs, prediction: 10.0 if "answer 4" in str(prediction.answer) else 1.0)
    pred = fd.BestOfN(qa(), source=fd.RepeatSampler(5, lm=lm, k=2), scorer=scorer)(question="q")
    assert pred.nofn.chosen in {0, 1}
    assert pred.nofn.scores[2:] == [None, None, None]


def test_deadline_with_fewer_than_k_arrivals_falls_back_to_what_arrived():
    respond, delay = answers_by_number({"answer": "fused"}, slow_from=2)
    lm = ScriptedLM(respond, delay_s=delay)
    source = fd.RepeatSampler(5, lm=lm, k=4, deadline_s=0.4)
    start = time.perf_counter()
    pred = fd.FusionOfN(qa(), source=source, fuser=fd.Fuser(lm=lm))(question="q")
    assert 0.4 <= time.perf_counter() - start < 2.0
    pool = pred.nofn.candidates
    assert pool.early_stop == "deadline"
    assert [c.status for c in pool] == ["ok", "ok", "cut", "cut", "cut"]
    assert all(c.latency_s >= 0.4 for c in pool.cut)
    assert len(lm.cancelled) == 3
    assert pred.answer == "fused"


def test_a_deadline_with_no_answer_yet_waits_for_the_first_one():
    lm = ScriptedLM({"answer": "late"}, delay_s=lambda number, prompt: 0.3 + 0.5 * number)
    pool = fd.RepeatSampler(3, lm=lm, deadline_s=0.05).bind(qa()).generate({"question": "q"})
    assert [c.status for c in pool] == ["ok", "cut", "cut"] and pool.early_stop == "deadline"


def test_failures_arrive_but_do_not_count_towards_k():
    lm = ScriptedLM(
        {"answer": "x"},
        delay_s=lambda number, prompt: 0.01 if number < 2 else 0.1 * number,
        fail_when=lambda number, prompt: number < 2,
    )
    pool = fd.RepeatSampler(5, lm=lm, k=2).bind(qa()).generate({"question": "q"})
    assert [c.status for c in pool] == ["failed", "failed", "ok", "ok", "cut"]
    assert pool.early_stop == "k" and len(pool.failed) == 2


def test_without_k_or_deadline_every_call_is_awaited():
    respond, delay = answers_by_number({"answer": "x"}, slow_from=2, slow_s=0.3)
    lm = ScriptedLM(respond, delay_s=delay)
    pool = fd.RepeatSampler(3, lm=lm).bind(qa()).generate({"question": "q"})
    assert [c.status for c in pool] == ["ok", "ok", "ok"] and pool.early_stop is None and lm.cancelled == []


def test_k_equal_to_n_cuts_nothing():
    lm = ScriptedLM({"answer": "x"}, delay_s=0.01)
    pool = fd.RepeatSampler(3, lm=lm, k=3).bind(qa()).generate({"question": "q"})
    assert pool.early_stop is None and pool.cut == []


def test_a_slow_teacher_is_cut_and_its_http_request_closed():
    """Over real HTTP: the server sees the straggler's client hang up before it answered."""
    with FakeModelServer(latency_s=0.05) as fast, FakeModelServer(latency_s=10.0) as slow:
        teachers = [
            dspy.LM(f"openai/{name}", api_base=server.base_url, api_key="x", cache=False, num_retries=0)
            for name, server in [("a", fast), ("b", fast), ("slow", slow)]
        ]
        fusor = dspy.LM("openai/fusor", api_base=fast.base_url, api_key="x", cache=False, num_retries=0)
        program = fd.FusionOfN(qa(), source=fd.TeacherPool(teachers, k=2), fuser=fd.Fuser(lm=fusor))
        start = time.perf_counter()
        pred = program(question="q")
        assert time.perf_counter() - start < 5.0
        assert [(c.source, c.status) for c in pred.nofn.candidates] == [
            ("openai/a", "ok"), ("openai/b", "ok"), ("openai/slow", "cut"),
        ]  # fmt: skip
        deadline = time.time() + 3
        while time.time() < deadline and slow.stats.cancelled < 1:
            time.sleep(0.02)
        assert slow.stats.cancelled == 1 and slow.stats.in_flight == 0
    assert fast.stats.cancelled == 0


def test_per_call_timeout_and_hung_requests_are_still_failures_not_cuts():
    with FakeModelServer(faults=FaultPlan(script=["timeout"], hang_s=5.0), latency_s=0.01) as server:
        lm = dspy.LM("openai/fake", api_base=server.base_url, api_key="x", cache=False, num_retries=0)
        pool = fd.RepeatSampler(2, lm=lm, timeout_s=0.5, k=2).bind(qa()).generate({"question": "q"})
    assert sorted(c.status for c in pool) == ["failed", "ok"]


def test_k_and_deadline_are_checked_and_visible_as_knobs():
    with pytest.raises(fd.ConfigurationError, match="k must be an integer from 1 to the 3"):
        fd.RepeatSampler(3, k=4)
    with pytest.raises(fd.ConfigurationError, match="k must be"):
        fd.TeacherPool(["local"], k=0)
    with pytest.raises(fd.ConfigurationError, match="deadline_s must be > 0"):
        fd.RepeatSampler(3, deadline_s=0)
    program = fd.FusionOfN(qa(), source=fd.RepeatSampler(5, k=3, deadline_s=2.0))
    assert (program.source.n, program.source.k, program.source.deadline_s) == (5, 3, 2.0)
