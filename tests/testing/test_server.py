import random

import dspy
import httpx
import pytest

from fusion_dspy.testing import FakeModelServer, FaultPlan
from fusion_dspy.testing.server import dspy_fields_responder


def post(server, content="[[ ## question ## ]]\nq\n\nRespond with the corresponding output fields, starting with "
         "the field `[[ ## answer ## ]]`, and then ending with the marker for `[[ ## completed ## ]]`."):  # fmt: skip
    body = {"model": "fake", "messages": [{"role": "user", "content": content}]}
    return httpx.post(f"{server.base_url}/chat/completions", json=body, timeout=5)


def test_answers_the_fields_dspy_asked_for_with_usage():
    with FakeModelServer() as server:
        reply = post(server).json()
    assert reply["choices"][0]["message"]["content"] == "[[ ## answer ## ]]\na answer\n\n[[ ## completed ## ]]"
    assert reply["usage"]["prompt_tokens"] > 0
    assert server.stats.requests == 1 and server.stats.outcomes == {"ok": 1}


def test_scripted_faults_come_first_then_the_seeded_plan():
    plan = FaultPlan(script=["rate_limit", "server_error", "empty", "garbage"], retry_after_s=0.7)
    with FakeModelServer(faults=plan) as server:
        limited = post(server)
        assert limited.status_code == 429 and limited.headers["Retry-After"] == "0.7"
        assert post(server).status_code == 500
        assert post(server).json()["choices"][0]["message"]["content"] == ""
        assert post(server).text.startswith("<html>")
        assert post(server).status_code == 200


def test_dropped_connections_and_hangs():
    with FakeModelServer(faults=FaultPlan(script=["drop", "timeout"], hang_s=0.5)) as server:
        with pytest.raises(httpx.HTTPError):
            post(server)
        with pytest.raises(httpx.HTTPError):
            post(server)


def test_fault_plans_replay_identically_and_follow_their_rates():
    plan = FaultPlan(rate_limit=0.3, empty=0.2)
    rngs = [random.Random(seed) for seed in (5, 5, 6)]
    draws = [[plan.draw(rng, i) for i in range(1000)] for rng in rngs]
    assert draws[0] == draws[1] != draws[2]
    assert 250 < draws[0].count("rate_limit") < 350 and 150 < draws[0].count("empty") < 250


def test_multi_field_responder():
    text = dspy_fields_responder([{"content": "Respond with the corresponding output fields, starting with the "
                                   "field `[[ ## reasoning ## ]]`, then `[[ ## score ## ]]`, and then ending with "
                                   "the marker for `[[ ## completed ## ]]`."}])  # fmt: skip
    assert text == "[[ ## reasoning ## ]]\na reasoning\n\n[[ ## score ## ]]\n7\n\n[[ ## completed ## ]]"


def test_lognormal_latency_is_seeded_and_has_the_asked_median_and_tail():
    from fusion_dspy.testing import LognormalLatency

    draws = [LognormalLatency(median_s=0.2, p99_s=2.0, seed=s) for s in (1, 1, 2)]
    samples = [[d.draw() for _ in range(4000)] for d in draws]
    assert samples[0] == samples[1] != samples[2]
    ordered = sorted(samples[0])
    assert 0.18 < ordered[2000] < 0.22 and 1.5 < ordered[3960] < 2.6
    assert abs(draws[0].quantile(0.99) - 2.0) < 1e-9
    with pytest.raises(ValueError, match="p99_s"):
        LognormalLatency(median_s=1.0, p99_s=0.5)


def test_server_draws_each_latency_and_notices_a_client_that_hangs_up():
    import time

    from fusion_dspy.testing import LognormalLatency

    with FakeModelServer(latency_s=LognormalLatency(median_s=0.01, p99_s=0.02, seed=0)) as server:
        post(server)
        post(server)
        assert len(server.stats.latencies) == 2 and server.stats.latencies[0] != server.stats.latencies[1]
    with FakeModelServer(latency_s=5.0) as server:
        with pytest.raises(httpx.TimeoutException):
            body = {"model": "fake", "messages": [{"role": "user", "content": "q"}]}
            httpx.post(f"{server.base_url}/chat/completions", json=body, timeout=0.2)
        deadline = time.time() + 2
        while time.time() < deadline and server.stats.cancelled == 0:
            time.sleep(0.02)
        assert server.stats.cancelled == 1 and server.stats.in_flight == 0


@pytest.mark.parametrize(("mode", "choices"), [("honour", 3), ("ignore", 1)])
def test_n_choices_for_one_prompt_billed_once(mode, choices):
    prompt = [{"role": "user", "content": "a prompt of some forty characters long"}]
    body = {"model": "fake", "n": 3, "messages": prompt}
    with FakeModelServer(n_choices=mode) as server:
        reply = httpx.post(f"{server.base_url}/chat/completions", json=body, timeout=5).json()
        assert server.stats.choices == choices and server.stats.prompt_tokens == 9
    assert [c["index"] for c in reply["choices"]] == list(range(choices))
    assert reply["usage"]["prompt_tokens"] == 9 and reply["usage"]["completion_tokens"] == choices * 12


def test_a_server_that_refuses_n_answers_400_like_llama_cpp():
    body = {"model": "fake", "n": 2, "messages": [{"role": "user", "content": "q"}]}
    with FakeModelServer(n_choices="refuse") as server:
        reply = httpx.post(f"{server.base_url}/chat/completions", json=body, timeout=5)
        assert reply.status_code == 400 and "one completion choice" in reply.json()["error"]["message"]
        assert post(server).status_code == 200, "n=1 is fine"


async def test_a_streamed_request_is_answered_in_pieces_as_server_sent_events():
    """Issue 26.8: FakeModelServer answered `stream=true` with one JSON body, so streaming code could not be tested."""
    import time

    with FakeModelServer(stream_chunk_chars=3, stream_delay_s=0.02) as server:
        lm = dspy.LM("openai/fake", api_base=server.base_url, api_key="k", cache=False, num_retries=0)
        listener = dspy.streaming.StreamListener("answer")
        stream = dspy.streamify(dspy.Predict("question -> answer"), stream_listeners=[listener])
        arrivals = []
        with dspy.context(lm=lm, track_usage=True):
            async for value in stream(question="q"):
                arrivals.append((time.perf_counter(), value))
    pieces = [v.chunk for _, v in arrivals if isinstance(v, dspy.streaming.StreamResponse)]
    assert "".join(pieces) == "a answer" == arrivals[-1][1].answer
    assert len([p for p in pieces if p]) >= 2 and arrivals[-1][0] - arrivals[0][0] >= 0.04
    assert arrivals[-1][1].get_lm_usage()["openai/fake"]["completion_tokens"] > 0  # the usage event was read


def test_a_wrong_api_key_is_refused_with_a_401():
    with FakeModelServer(api_keys={"right"}) as server:
        for key, ok in [("wrong", False), ("right", True)]:
            lm = dspy.LM("openai/fake", api_base=server.base_url, api_key=key, cache=False, num_retries=0)
            with dspy.context(lm=lm):
                if ok:
                    assert dspy.Predict("question -> answer")(question="q").answer == "a answer"
                else:
                    with pytest.raises(Exception, match=r"(?i)api key"):
                        dspy.Predict("question -> answer")(question="q")
