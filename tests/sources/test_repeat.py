import os
import time

import dspy
import pytest

import fusion_dspy as fd
from fusion_dspy.testing import ScriptedLM, SlowLM


def qa():
    return dspy.Predict("question -> answer")


def test_pool_has_n_candidates_with_provenance():
    lm = ScriptedLM([{"answer": "a"}, {"answer": "b"}, {"answer": "c"}])
    pool = fd.RepeatSampler(3, lm=lm, temperature=1.1, seed=2).bind(qa()).generate({"question": "q"})
    assert sorted(c.text() for c in pool) == ["a", "b", "c"]
    assert [c.index for c in pool] == [0, 1, 2]
    assert [c.rollout_id for c in pool] == [20_000, 20_001, 20_002]
    assert {c.temperature for c in pool} == {1.1}
    assert {c.source for c in pool} == {"openai/scripted"}
    assert all(c.usage.lm_calls == 1 and c.latency_s > 0 for c in pool)


def test_distinct_rollouts_keep_cached_samples_apart_and_reproducible(tmp_path):
    counter = iter(range(1000))
    lm = ScriptedLM(lambda prompt: {"answer": f"sample {next(counter)}"}, cache=True)
    sampler = fd.RepeatSampler(3, lm=lm, seed=123_457).bind(qa())
    first = [c.text() for c in sampler.generate({"question": "unique question for the cache test"})]
    again = [c.text() for c in sampler.generate({"question": "unique question for the cache test"})]
    assert len(set(first)) == 3
    assert again == first
    assert all(c.usage.lm_calls == 0 for c in sampler.generate({"question": "unique question for the cache test"}))


def test_predictors_with_their_own_lm_still_get_distinct_rollouts():
    pinned = ScriptedLM({"answer": "x"})
    module = qa()
    module.lm = pinned
    pool = fd.RepeatSampler(3, lm=pinned).bind(module).generate({"question": "q"})
    assert len(pool.succeeded) == 3
    assert len(pinned.calls) == 3
    assert module.lm is pinned


def test_a_timeout_bounds_every_call():
    lm = SlowLM({"answer": "late"}, delay_s=2.0)
    pool = fd.RepeatSampler(2, lm=lm, timeout_s=0.2).bind(qa()).generate({"question": "q"})
    assert [c.error for c in pool] == ["TimeoutError: no answer within 0.2 s"] * 2


class SyncOnly(dspy.Module):
    """A module with only `forward`: its samples run in threads."""

    def __init__(self):
        super().__init__()
        self.step = dspy.Predict("question -> answer")

    def forward(self, question):
        return self.step(question=question)


def test_modules_without_aforward_run_in_threads_concurrently():
    lm = SlowLM({"answer": "x"}, delay_s=1.0)  # long enough to overlap on a busy machine
    pool = fd.RepeatSampler(4, lm=lm).bind(SyncOnly()).generate({"question": "q"})
    assert len(pool.succeeded) == 4
    assert lm.max_overlap() == 4


def test_invalid_arguments_name_the_fix():
    with pytest.raises(fd.ConfigurationError, match="n must be an integer ≥ 1"):
        fd.RepeatSampler(0)
    with pytest.raises(fd.ConfigurationError, match="temperature"):
        fd.RepeatSampler(2, temperature=-1)
    with pytest.raises(fd.ConfigurationError, match="concurrency"):
        fd.RepeatSampler(2, concurrency=0)
    with pytest.raises(fd.ConfigurationError, match="bind"):
        fd.RepeatSampler(2, lm=ScriptedLM("x")).generate({"question": "q"})


def test_a_module_that_returns_no_prediction_fails_its_candidates_clearly():
    class Broken(dspy.Module):
        def forward(self, question):
            return "just a string"

    pool = fd.RepeatSampler(2, lm=ScriptedLM("unused")).bind(Broken()).generate({"question": "q"})
    assert [c.error for c in pool] == ["TypeError: the module returned str, expected a dspy.Prediction"] * 2


def test_a_timeout_returns_on_time_for_a_module_with_only_forward():
    """Issue 10.11: a 0.3 s timeout used to return after the 2 s call had finished."""
    lm = SlowLM({"answer": "late"}, delay_s=2.0)
    start = time.perf_counter()
    pool = fd.RepeatSampler(2, lm=lm, timeout_s=0.3).bind(SyncOnly()).generate({"question": "q"})
    assert time.perf_counter() - start < 1.5
    assert [c.error for c in pool] == ["TimeoutError: no answer within 0.3 s"] * 2


def test_more_sync_samples_than_the_default_executor_has_threads_all_run_at_once():
    n = min(32, (os.cpu_count() or 1) + 4) + 3  # asyncio.to_thread's pool would run only the first part at once
    lm = SlowLM({"answer": "x"}, delay_s=1.0)
    pool = fd.RepeatSampler(n, lm=lm).bind(SyncOnly()).generate({"question": "q"})
    assert len(pool.succeeded) == n
    assert lm.max_overlap() == n


def test_max_in_flight_bounds_every_pool_of_the_source_on_one_event_loop():
    import asyncio

    lm = SlowLM({"answer": "x"}, delay_s=0.1)
    source = fd.RepeatSampler(4, lm=lm, max_in_flight=3)
    first, second = source.bind(qa()), source.bind(qa())  # bound copies share the bound

    async def both():
        return await asyncio.gather(first.agenerate({"question": "a"}), second.agenerate({"question": "b"}))

    pools = asyncio.run(both())
    assert all(len(p.succeeded) == 4 for p in pools)
    assert lm.max_overlap() == 3
    with pytest.raises(fd.ConfigurationError, match="max_in_flight"):
        fd.RepeatSampler(2, max_in_flight=0)
