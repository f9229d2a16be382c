"""N samples in one request (`RepeatSampler(one_request=...)`) against the fake server: splitting the choices,
falling back where `n` is ignored or refused, usage accounting, per-choice failures, and the cache."""

import itertools
import logging

import dspy
import pytest

import fusion_dspy as fd
from fusion_dspy.errors import ConfigurationError
from fusion_dspy.sources import one_request
from fusion_dspy.sources.one_request import split_usage
from fusion_dspy.testing import FakeModelServer, ScriptedLM
from fusion_dspy.testing.server import dspy_fields_responder, numbered_fields_responder
from fusion_dspy.usage import TokenUsage

QUESTION = {"question": "Which river flows through Vienna, and into which sea does it drain?"}


@pytest.fixture(autouse=True)
def forget_servers(monkeypatch):
    monkeypatch.setattr(one_request, "_N_SUPPORT", {})


def fake_lm(server: FakeModelServer, cache: bool = False) -> dspy.LM:
    return dspy.LM("openai/fake", api_base=server.base_url, api_key="fake", cache=cache, num_retries=0)


def sample(server: FakeModelServer, setting=True, n: int = 5, module=None, **kwargs) -> fd.CandidatePool:
    sampler = fd.RepeatSampler(n, lm=fake_lm(server, kwargs.pop("cache", False)), one_request=setting, **kwargs)
    return sampler.bind(module or dspy.Predict("question -> answer")).generate(QUESTION)


def test_one_request_is_split_into_n_candidates_with_their_own_rollout_ids():
    with FakeModelServer(responder=numbered_fields_responder()) as server:
        pool = sample(server, seed=3)
        assert server.stats.requests == 1 and server.stats.choices == 5
    assert [c.text() for c in pool] == [f"a answer #{i}" for i in range(1, 6)]
    assert [c.index for c in pool] == list(range(5))
    assert [c.rollout_id for c in pool] == [30_000 + i for i in range(5)]
    assert all(c.ok and c.temperature == 0.8 for c in pool)


def test_the_prompt_is_billed_once_and_split_exactly():
    with FakeModelServer(responder=numbered_fields_responder()) as server:
        pool = sample(server)
        billed = server.stats.prompt_tokens
    total = TokenUsage.sum(c.usage for c in pool)
    assert total.prompt_tokens == billed > 0, "the prompt's tokens, once"
    assert total.lm_calls == 1 and [c.usage.lm_calls for c in pool] == [1, 0, 0, 0, 0]
    assert max(c.usage.prompt_tokens for c in pool) - min(c.usage.prompt_tokens for c in pool) <= 1
    assert all(c.usage.completion_tokens > 0 for c in pool)
    with FakeModelServer(responder=numbered_fields_responder()) as server:
        separate = sample(server, setting=False)
        assert server.stats.requests == 5
    assert TokenUsage.sum(c.usage for c in separate).prompt_tokens == 5 * billed


@pytest.mark.parametrize("mode", ["ignore", "refuse"])
def test_a_server_that_ignores_or_refuses_n_gets_n_requests_with_a_warning(mode, caplog):
    with FakeModelServer(responder=numbered_fields_responder(), n_choices=mode) as server:
        with caplog.at_level(logging.WARNING, logger="fusion_dspy.sources.one_request"):
            pool = sample(server)
        first = server.stats.requests
        assert first == (5 if mode == "ignore" else 6), "ignored: its one answer is sample 0's; refused: one wasted"
        assert sorted(c.text() for c in pool) == sorted(f"a answer #{i}" for i in range(1, 6))
        assert all(c.ok for c in pool) and [c.usage.lm_calls for c in pool] == [1] * 5
        assert "ignores n" in caplog.text if mode == "ignore" else "refused n=5" in caplog.text
        sample(server, setting="auto")
        assert server.stats.requests - first == 5, "auto remembers: no request with n again"
        sample(server, setting=True)
        assert server.stats.requests - first == 10 + (mode == "refuse"), "True tries again"


def test_auto_uses_one_request_where_the_server_honours_n():
    with FakeModelServer(responder=numbered_fields_responder()) as server:
        pool = sample(server, setting="auto")
        assert server.stats.requests == 1 and len(pool.succeeded) == 5


def test_a_choice_that_does_not_parse_fails_its_own_candidate_only():
    numbers = itertools.count(1)

    def responder(messages):
        number = next(numbers)
        return "no fields here" if number == 3 else dspy_fields_responder(messages, tag=f" #{number}")

    with FakeModelServer(responder=responder) as server:
        pool = sample(server)
    assert [c.status for c in pool] == ["ok", "ok", "failed", "ok", "ok"]
    assert "AdapterParseError" in (pool[2].error or "") or "parse" in (pool[2].error or "").lower()
    assert [pool[i].text() for i in (0, 1, 3, 4)] == ["a answer #1", "a answer #2", "a answer #4", "a answer #5"]


def test_the_same_seed_gives_the_same_pool_from_a_warm_cache():
    with FakeModelServer(responder=numbered_fields_responder()) as server:
        first = sample(server, cache=True, seed=424_242)
        again = sample(server, cache=True, seed=424_242)
        other = sample(server, cache=True, seed=424_243)
        assert server.stats.requests == 2, "the repeat is served from DSPy's cache"
    assert [c.text() for c in again] == [c.text() for c in first]
    assert all(c.usage.lm_calls == 0 for c in again), "cache hits cost nothing"
    assert [c.text() for c in other] != [c.text() for c in first]


def test_a_multi_step_program_shares_only_its_first_call():
    with FakeModelServer(responder=numbered_fields_responder()) as server:
        pool = sample(server, module=dspy.ChainOfThought("question -> answer"), n=3)
        assert server.stats.requests == 1
    assert all(c.ok and c.outputs["reasoning"] for c in pool)

    class TwoSteps(dspy.Module):
        def __init__(self):
            super().__init__()
            self.draft = dspy.Predict("question -> answer")
            self.check = dspy.Predict("question, answer -> verdict")

        async def aforward(self, question):
            answer = (await self.draft.acall(question=question)).answer
            checked = await self.check.acall(question=question, answer=answer)
            return dspy.Prediction(answer=answer, verdict=checked.verdict)

    with FakeModelServer(responder=numbered_fields_responder()) as server:
        pool = sample(server, module=TwoSteps(), n=3)
        assert server.stats.requests == 1 + 3, "the draft once for all, each check on its own"
    assert len({c.outputs["answer"] for c in pool}) == 3 and all(c.ok for c in pool)


def test_one_request_true_names_what_cannot_share_a_request():
    class SyncOnly(dspy.Module):
        def __init__(self):
            super().__init__()
            self.step = dspy.Predict("question -> answer")

        def forward(self, question):
            return self.step(question=question)

    with FakeModelServer() as server, pytest.raises(ConfigurationError, match="no aforward"):
        sample(server, module=SyncOnly())
    scripted = ScriptedLM({"answer": "x"})
    qa = dspy.Predict("question -> answer")
    with pytest.raises(ConfigurationError, match="one_request='auto'"):
        fd.RepeatSampler(3, lm=scripted, one_request=True).bind(qa).generate(QUESTION)
    pool = fd.RepeatSampler(3, lm=scripted, one_request="auto").bind(qa).generate(QUESTION)
    assert len(pool.succeeded) == 3 and len(scripted.calls) == 3, "auto: N requests where one cannot be shared"
    with pytest.raises(ConfigurationError, match="True, False or 'auto'"):
        fd.RepeatSampler(3, one_request="yes")


def test_split_usage_sums_exactly():
    total = TokenUsage(prompt_tokens=101, completion_tokens=50, cached_prompt_tokens=7, lm_calls=1)
    shares = split_usage(total, [10, 30, 0, 60])
    assert TokenUsage.sum(shares) == total
    assert [s.prompt_tokens for s in shares] in ([26, 25, 25, 25], [25, 26, 25, 25], [25, 25, 26, 25], [25, 25, 25, 26])
    assert shares[3].completion_tokens > shares[1].completion_tokens > shares[0].completion_tokens
    assert split_usage(TokenUsage(), [1, 2]) == [TokenUsage(), TokenUsage()]
