import dspy

import fusion_dspy as fd
from fusion_dspy.testing import LognormalLatency, ServerProcess


def test_a_server_in_its_own_process_answers_and_reports_what_it_saw():
    latency = LognormalLatency(median_s=0.01, p99_s=0.05, seed=1)
    with ServerProcess(latency_s=latency, max_concurrency=2, distinct=True) as server:
        lm = dspy.LM("openai/fake", api_base=server.base_url, api_key="x", cache=False, num_retries=0)
        pool = fd.RepeatSampler(3, lm=lm).bind(dspy.Predict("question -> answer")).generate({"question": "q"})
        stats = server.stats()
    assert len(pool.succeeded) == 3
    assert stats["requests"] == 3 and stats["outcomes"] == {"ok": 3} and stats["peak_in_flight"] <= 2
    assert len(stats["latencies"]) == 3 and all(0 < x < 1 for x in stats["latencies"])
    assert len({c.text() for c in pool}) == 3  # numbered answers: the candidates differ
