"""Tail latency of a fused answer on a heavy-tailed server: first-k against waiting for all n.

The server draws each call's latency from a seeded lognormal (median 0.2 s, p99 10x the median), like real
providers. Waiting for all n candidates makes a fused answer's latency the maximum of n such draws plus a fusor
call; first-k stops at the k-th answer and cancels the rest; hedging the fusor call also bounds the last step.
"""

from __future__ import annotations

import asyncio
import statistics
import time
from typing import Any

import dspy

import fusion_dspy as fd
from fusion_dspy.testing import LognormalLatency, ServerProcess

QA = "question -> answer"


def p(values: list[float], q: float) -> float:
    """The q-quantile (nearest rank) of `values`."""
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(q * len(ordered)) - 1))]


async def _answers(program: fd.NofN, count: int, tag: str, concurrency: int) -> list[tuple[float, fd.FusedPrediction]]:
    gate = asyncio.Semaphore(concurrency)

    async def one(i: int) -> tuple[float, fd.FusedPrediction]:
        async with gate:
            start = time.perf_counter()
            pred = await program.acall(question=f"tail {tag} {i}")
            return time.perf_counter() - start, pred

    return list(await asyncio.gather(*(one(i) for i in range(count))))


def tail(
    n: int = 5, k: int = 3, answers: int = 200, median_s: float = 0.2, p99_s: float = 2.0, concurrency: int = 8,
    hedge_after_s: float = 0.1, hedge_copies: int = 3, seed: int = 0,
) -> dict[str, Any]:  # fmt: skip
    """p95 of `answers` fused answers with all n, first-k, and first-k with a hedged fusor, on one server."""
    latency = LognormalLatency(median_s=median_s, p99_s=p99_s, seed=seed)
    with ServerProcess(latency_s=latency) as server:
        lm = dspy.LM("openai/fake", api_base=server.base_url, api_key="fake", cache=False, num_retries=0)

        def program(first_k: int | None, hedged: bool) -> fd.NofN:
            fuser: fd.Aggregator = fd.Fuser(lm=lm)
            if hedged:
                fuser = fd.Hedged(fuser, after_s=hedge_after_s, copies=hedge_copies)
            return fd.NofN(dspy.Predict(QA), fuser, source=fd.RepeatSampler(n, lm=lm, k=first_k))

        runs, requests = {}, {}
        for name, first_k, hedged in [("all", None, False), ("first_k", k, False), ("hedged", k, True)]:
            before = server.stats()["requests"]
            runs[name] = asyncio.run(_answers(program(first_k, hedged), answers, name, concurrency))
            requests[name] = server.stats()["requests"] - before
        cancelled = server.stats()["cancelled"]
    walls = {name: [w for w, _ in runs[name]] for name in ("all", "first_k", "hedged")}
    sample_p50 = statistics.median(c.latency_s for _, pred in runs["all"] for c in pred.nofn.candidates)
    fusor_p50 = statistics.median(pred.nofn.usage.aggregation_s for _, pred in runs["all"])
    single = sample_p50 + fusor_p50
    return {
        "tail_answers": answers, "tail_n": n, "tail_k": k, "tail_median_s": median_s, "tail_p99_s": p99_s,
        "tail_p95_all_s": p(walls["all"], 0.95), "tail_p95_first_k_s": p(walls["first_k"], 0.95),
        "tail_p95_first_k_hedged_s": p(walls["hedged"], 0.95),
        "tail_p50_sample_s": sample_p50, "tail_p50_fusor_s": fusor_p50,
        "tail_p95_ratio": p(walls["first_k"], 0.95) / p(walls["all"], 0.95),
        "tail_p95_vs_single": p(walls["hedged"], 0.95) / single,
        "tail_p95_vs_single_unhedged": p(walls["first_k"], 0.95) / single,
        "tail_hedge": {"after_s": hedge_after_s, "copies": hedge_copies},
        "tail_fusor_calls_per_answer_hedged": (requests["hedged"] - n * answers) / answers,
        "tail_cut_per_answer": sum(len(pred.nofn.candidates.cut) for _, pred in runs["first_k"]) / answers,
        "tail_server_saw_cancelled": cancelled,
    }  # fmt: skip


if __name__ == "__main__":
    dspy.configure_cache(enable_disk_cache=False)
    import sys

    print(tail(answers=int(sys.argv[1]), concurrency=int(sys.argv[2])))
