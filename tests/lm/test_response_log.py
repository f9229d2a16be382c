"""A study's LM responses are logged as JSON lines and answered from there when DSPy's own cache lacks them
(another machine, a wiped home): a cut run replays its finished calls without the model."""

import asyncio
import json

import dspy
import pytest
from dspy.clients.cache import Cache

from fusion_dspy.lm.response_log import other_mode, response_log, without_paths
from fusion_dspy.testing import FakeModelServer


def ask(server: FakeModelServer, question: str, engine: str = "auto") -> str:
    lm = dspy.LM("openai/fake", api_base=server.base_url, api_key="k", num_retries=0, temperature=0.0, engine=engine)
    with dspy.context(lm=lm):
        return dspy.Predict("question -> answer")(question=question).answer


def answering(city: str):
    return lambda messages: f"[[ ## answer ## ]]\n{city}\n\n[[ ## completed ## ]]"


def fresh_cache() -> Cache:
    """DSPy's cache as on a new machine: empty, memory only."""
    return Cache(enable_disk_cache=False, enable_memory_cache=True, disk_cache_dir=None)


@pytest.mark.parametrize("engine", ["auto", "litellm"])  # DSPy's own record; a LiteLLM response
def test_a_logged_response_is_replayed_without_the_model_on_a_machine_with_an_empty_cache(
    tmp_path, monkeypatch, engine
):
    path = tmp_path / "responses.jsonl"
    monkeypatch.setattr(dspy, "cache", fresh_cache())
    with FakeModelServer(responder=answering("Berlin")) as server, response_log(path, "study-a"):
        assert ask(server, "Capital of Germany?", engine) == "Berlin"
        assert ask(server, "Capital of Germany?", engine) == "Berlin"  # DSPy's memory cache answers; logged once
        assert server.stats.requests == 1
    [row] = [json.loads(line) for line in path.read_text().splitlines()]
    assert "Berlin" in json.dumps(row["response"]) and len(row["key"]) == 64  # DSPy's record, under DSPy's key
    assert row["run"] == "study-a"  # which run paid for it
    monkeypatch.setattr(dspy, "cache", fresh_cache())  # a new machine: DSPy's cache is empty
    with FakeModelServer(responder=answering("Paris")) as server, response_log(path):
        assert ask(server, "Capital of Germany?", engine) == "Berlin"  # from the log, not the (different) model
        assert ask(server, "Capital of France?", engine) == "Paris"  # a request not in the log goes to the model
        assert server.stats.requests == 1
    assert [json.loads(line)["run"] for line in path.read_text().splitlines()] == ["study-a", None]
    assert isinstance(dspy.cache, Cache) and not hasattr(dspy.cache, "log")  # the block put DSPy's cache back


def test_without_a_path_nothing_is_logged_or_replaced(tmp_path):
    previous = dspy.cache
    with response_log(None):
        assert dspy.cache is previous
    assert not list(tmp_path.iterdir())


def test_a_call_dspy_cached_before_the_log_existed_is_logged_when_replayed(tmp_path, monkeypatch):
    """A study restarted with the log on (or after an upgrade) still ends with every call of the run logged."""
    monkeypatch.setattr(dspy, "cache", fresh_cache())
    with FakeModelServer(responder=answering("Berlin")) as server:
        ask(server, "Capital of Germany?")
        with response_log(tmp_path / "responses.jsonl"):
            assert ask(server, "Capital of Germany?") == "Berlin"
        assert server.stats.requests == 1
    assert len((tmp_path / "responses.jsonl").read_text().splitlines()) == 1


async def ask_async(server: FakeModelServer, question: str, engine: str) -> str:
    lm = dspy.LM("openai/fake", api_base=server.base_url, api_key="k", num_retries=0, temperature=0.0, engine=engine)
    with dspy.context(lm=lm):
        return (await dspy.Predict("question -> answer").acall(question=question)).answer


@pytest.mark.parametrize("engine", ["auto", "litellm"])
def test_a_request_asked_synchronously_answers_it_asked_asynchronously_and_back(tmp_path, monkeypatch, engine):
    """DSPy keys the two modes apart; an optimiser (sync) and the study's scoring (async) share one answer here."""
    monkeypatch.setattr(dspy, "cache", fresh_cache())
    with FakeModelServer(responder=answering("Berlin")) as server, response_log(tmp_path / "responses.jsonl"):
        assert ask(server, "Capital of Germany?", engine) == "Berlin"
        server.responder = answering("Bonn")  # a model that is not bit-stable would answer differently
        assert asyncio.run(ask_async(server, "Capital of Germany?", engine)) == "Berlin"
        assert asyncio.run(ask_async(server, "Capital of France?", engine)) == "Bonn"
        assert ask(server, "Capital of France?", engine) == "Bonn"  # and the other way round
        assert server.stats.requests == 2
    assert len((tmp_path / "responses.jsonl").read_text().splitlines()) == 2  # one row a request


def test_only_dspys_calling_functions_have_another_mode():
    assert other_mode({"_fn_identifier": "dspy.clients.lm15.complete"}) == {
        "_fn_identifier": "dspy.clients.lm15.complete.async"
    }
    assert other_mode({"_fn_identifier": "dspy.clients.lm.alitellm_text_completion", "n": 1}) == {
        "_fn_identifier": "dspy.clients.lm.litellm_text_completion",
        "n": 1,
    }
    assert other_mode({"_fn_identifier": "mine.embed"}) is None and other_mode({"model": "x"}) is None


def test_a_model_named_by_its_weights_path_is_logged_by_the_file_name_only(tmp_path, monkeypatch):
    """A local server names its model by the weights' path (the machine's home folder): not in a committed log."""
    path = tmp_path / "responses.jsonl"
    monkeypatch.setattr(dspy, "cache", fresh_cache())
    weights = "/home/someone/.cache/models/w-q4.gguf"
    lm = dspy.LM(f"openai/{weights}", api_key="k", num_retries=0, temperature=0.0, engine="litellm")
    with (
        FakeModelServer(responder=answering("Rome")) as server,
        response_log(path),
        dspy.context(lm=lm.copy(api_base=server.base_url)),
    ):
        assert dspy.Predict("question -> answer")(question="Capital of Italy?").answer == "Rome"
    text = path.read_text()
    assert "/home/someone" not in text and '"w-q4.gguf"' in text
    assert without_paths({"model": "openai/gpt-4o", "x": [{"response_model": "/a/b.gguf"}], "path": "/kept"}) == {
        "model": "openai/gpt-4o",
        "x": [{"response_model": "b.gguf"}],
        "path": "/kept",
    }
