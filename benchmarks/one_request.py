"""N samples in one request (`RepeatSampler(one_request=True)`) against N requests, on the fake server.

The fake server bills a request's prompt once however many choices it returns, as OpenAI and vLLM do, and takes
`latency` seconds per request whatever `n` is. So the prompt-token ratio is the saving in billed prompt tokens
(≈ 1/n), and the time ratio is ≈ 1 on a server with a slot free for every request; on a server with one slot
(requests queue), N requests take N latencies and one request one.

    python benchmarks/one_request.py -n 5
"""

from __future__ import annotations

import argparse
import asyncio
import time
from typing import Any

import dspy

import fusion_dspy as fd
from fusion_dspy.testing import FakeModelServer
from fusion_dspy.testing.server import numbered_fields_responder

QA = "question -> answer"


def _run(n: int, one_request: bool, latency: float, prompts: int, slots: int | None) -> tuple[float, int, int]:
    """Wall seconds, prompt tokens billed and requests for `prompts` pools of `n`, one pool after the other."""
    with FakeModelServer(latency_s=latency, responder=numbered_fields_responder(), max_concurrency=slots) as server:
        lm = dspy.LM("openai/fake", api_base=server.base_url, api_key="fake", cache=False, num_retries=0)
        sampler = fd.RepeatSampler(n, lm=lm, one_request=one_request).bind(dspy.Predict(QA))
        start = time.perf_counter()
        for i in range(prompts):
            pool = asyncio.run(sampler.agenerate({"question": f"What is {i} times {i + 1}? Show the product only."}))
            assert len(pool.succeeded) == n, [c.error for c in pool]
        return time.perf_counter() - start, server.stats.prompt_tokens, server.stats.requests


def one_request_costs(n: int = 5, latency: float = 0.25, prompts: int = 8) -> dict[str, Any]:
    """Billed prompt tokens and wall time of `prompts` pools of `n`: one request with `n` ÷ `n` requests."""
    results: dict[str, Any] = {"one_request_n": n, "one_request_prompts": prompts, "one_request_latency_s": latency}
    _run(n, True, 0.0, 1, None)  # the first shared request imports LiteLLM (its engine sends `n`): seconds, once
    for suffix, slots in [("", None), ("_one_slot", 1)]:
        many_s, many_tokens, many_requests = _run(n, False, latency, prompts, slots)
        one_s, one_tokens, one_requests = _run(n, True, latency, prompts, slots)
        results |= {
            f"one_request_time_ratio{suffix}": one_s / many_s,
            f"one_request_wall_s{suffix}": one_s,
            f"n_requests_wall_s{suffix}": many_s,
        }
    results |= {
        "one_request_prompt_tokens_ratio": one_tokens / many_tokens,
        "one_request_prompt_tokens": one_tokens,
        "n_requests_prompt_tokens": many_tokens,
        "one_request_requests": one_requests,
        "n_requests_requests": many_requests,
    }
    return results


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("-n", type=int, default=5)
    parser.add_argument("--latency", type=float, default=0.25)
    parser.add_argument("--prompts", type=int, default=8)
    args = parser.parse_args()
    dspy.configure_cache(enable_disk_cache=False, enable_memory_cache=False)
    for key, value in one_request_costs(args.n, args.latency, args.prompts).items():
        print(f"{key}: {value:.3f}" if isinstance(value, float) else f"{key}: {value}")


if __name__ == "__main__":
    main()
