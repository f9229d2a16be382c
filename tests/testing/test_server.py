import random

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
