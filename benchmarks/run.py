"""Speed benchmark: fusion-dspy against a latency-controlled local server and the embedded model.

Prints a table and writes benchmarks/results.json. Every number is a ratio against a baseline measured in the
same run (a physical limit, a raw litellm call, or dspy.BestOfN), so it means the same on a busy machine.
The test server runs in its own process (`ServerProcess`), as a real model server would.

    python benchmarks/run.py            # ~5-10 minutes on 2 cores; --skip-local to leave out the embedded model

Speculative decoding on the embedded models takes hours and runs apart (`python benchmarks/speculative.py --write`),
as does a LoRA step of the real fusor (`python benchmarks/lora_step.py --write`); this script keeps the keys they
merged into results.json.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import math
import statistics
import time
from pathlib import Path
from typing import Any

import dspy
from batch_cli import run_batch
from lora_step import RESULT_KEYS as LORA_KEYS
from one_request import one_request_costs
from prompt_cache import fusor_prompt_cache_share
from speculative import RESULT_KEYS as SPECULATIVE_KEYS
from tail import tail

import fusion_dspy as fd
from fusion_dspy.testing import FakeModelServer, ServerProcess

RESULTS = Path(__file__).with_name("results.json")
QA = "question -> answer"


def plain_fusion(n: int, max_in_flight: int | None = None) -> fd.NofN:
    """N samples and always one fusor call (the test server's candidates are identical, which FusionOfN skips)."""
    return fd.NofN(dspy.Predict(QA), fd.Fuser(), source=fd.RepeatSampler(n, max_in_flight=max_in_flight))


def fake_lm(server: ServerProcess | FakeModelServer, cache: bool = False) -> dspy.LM:
    return dspy.LM("openai/fake", api_base=server.base_url, api_key="fake", cache=cache, num_retries=0)


def single_call(latency: float, n: int, repeats: int) -> dict[str, float]:
    """One FusionOfN(n) call: wall ÷ (slowest sample + fusor call); the floor is 2 × latency here."""
    walls = []
    with ServerProcess(latency_s=latency) as server, dspy.context(lm=fake_lm(server)):
        program = plain_fusion(n)
        for i in range(repeats):
            start = time.perf_counter()
            program(question=f"single {i}")
            walls.append(time.perf_counter() - start)
    wall = statistics.median(walls)
    return {"single_wall_s": wall, "single_ratio": wall / (2 * latency)}


def batch(latency: float, n: int, prompts: int, concurrency: int) -> dict[str, float]:
    """`prompts` FusionOfN(n) calls at once, server with C slots: wall ÷ ceil(prompts·(n+1)/C)·latency.

    Measured with the samples' in-flight bound set to the server's slots plus a quarter (so the server always
    has the next request queued), and without any bound (every call is formatted before the first is sent).
    """
    limit = math.ceil(prompts * (n + 1) / concurrency) * latency
    results: dict[str, float] = {"batch_limit_s": limit}
    for suffix, bound in [("", concurrency + concurrency // 4), ("_unbounded", None)]:
        with ServerProcess(latency_s=latency, max_concurrency=concurrency) as server, dspy.context(lm=fake_lm(server)):
            program = plain_fusion(n, max_in_flight=bound)

            async def run_all(program: fd.NofN) -> None:
                await asyncio.gather(*(program.acall(question=f"batch {i}") for i in range(prompts)))

            start = time.perf_counter()
            asyncio.run(run_all(program))
            wall = time.perf_counter() - start
            requests = server.stats()["requests"]
        results |= {f"batch{suffix}_wall_s": wall, f"batch{suffix}_ratio": wall / limit}
    results |= {"batch_max_in_flight": concurrency + concurrency // 4, "batch_requests": requests}
    return results


def versus_dspy(latency: float, n: int, repeats: int) -> dict[str, float]:
    """Best-of-n: our BestOfN (parallel samples) against dspy.BestOfN (serial), same server, same selection cost."""
    ours, theirs = [], []
    with ServerProcess(latency_s=latency) as server, dspy.context(lm=fake_lm(server)):
        best = fd.BestOfN(dspy.Predict(QA), n=n, scorer=fd.MajorityVote())
        serial = dspy.BestOfN(dspy.Predict(QA), N=n, reward_fn=lambda args, pred: 0.0, threshold=1.0)
        for i in range(repeats):
            start = time.perf_counter()
            best(question=f"versus {i}")
            ours.append(time.perf_counter() - start)
            start = time.perf_counter()
            serial(question=f"versus {i}")
            theirs.append(time.perf_counter() - start)
    return {
        "bestofn_ours_s": statistics.median(ours),
        "bestofn_dspy_s": statistics.median(theirs),
        "speedup_vs_dspy_bestofn": statistics.median(theirs) / statistics.median(ours),
    }


def overhead(calls: int) -> dict[str, float]:
    """Per-call overhead of a sample through fusion-dspy (DSPy adapter included) over a raw litellm call,
    and over a bare HTTP POST (the least any client can spend)."""
    import httpx
    import litellm

    with ServerProcess(latency_s=0.0) as server:
        with httpx.Client() as client:
            body = {"model": "fake", "messages": [{"role": "user", "content": "question: http"}]}
            start = time.perf_counter()
            for _ in range(calls):
                client.post(f"{server.base_url}/chat/completions", json=body).raise_for_status()
            http = (time.perf_counter() - start) / calls
        messages = [{"role": "user", "content": "question: warm-up"}]
        litellm.completion(model="openai/fake", api_base=server.base_url, api_key="fake", messages=messages)
        start = time.perf_counter()
        for i in range(calls):
            messages = [{"role": "user", "content": f"question: raw {i}"}]
            litellm.completion(model="openai/fake", api_base=server.base_url, api_key="fake", messages=messages)
        raw = (time.perf_counter() - start) / calls
        sampler = fd.RepeatSampler(1, lm=fake_lm(server)).bind(dspy.Predict(QA))
        sampler.generate({"question": "warm-up"})
        start = time.perf_counter()
        for i in range(calls):
            sampler.generate({"question": f"ours {i}"})
        ours = (time.perf_counter() - start) / calls
    return {
        "raw_http_ms": http * 1000,
        "raw_litellm_ms": raw * 1000,
        "ours_ms": ours * 1000,
        "overhead_ms_per_call": (ours - raw) * 1000,
        "overhead_ms_per_call_vs_http": (ours - http) * 1000,
    }


def warm_cache(n: int) -> dict[str, float]:
    """A second identical FusionOfN call with the cache on makes no LM calls."""
    with ServerProcess(latency_s=0.0) as server, dspy.context(lm=fake_lm(server, cache=True)):
        program = plain_fusion(n)
        question = f"warm cache {time.time_ns()}"
        program(question=question)
        cold = server.stats()["requests"]
        program(question=question)
        warm = server.stats()["requests"] - cold
    return {"cold_cache_lm_calls": cold, "warm_cache_lm_calls": warm}


def connection_reuse(latency: float, n: int, calls: int, setup_s: float) -> dict[str, float]:
    """`calls` sync FusionOfN(n) calls against a server whose every new connection costs `setup_s` (a TLS
    handshake to a remote API): connections opened and time per call, against the same calls each on a fresh
    event loop (what a sync call did before one long-lived loop; dspy keeps its HTTP clients per loop)."""
    results: dict[str, float] = {}
    for name, call in [("sync", _sync_call), ("fresh_loop", _fresh_loop_call)]:
        with FakeModelServer(latency_s=latency, connection_setup_s=setup_s) as server:
            with dspy.context(lm=fake_lm(server)):
                program = plain_fusion(n)
                start = time.perf_counter()
                for i in range(calls):
                    call(program, f"connections {name} {i}")
                wall = time.perf_counter() - start
            results[f"connections_{name}"] = server.stats.connections
            results[f"per_call_s_{name}"] = wall / calls
    results["connection_setup_s"] = setup_s
    results["connection_calls"] = calls
    results["per_call_ratio_vs_fresh_loop"] = results["per_call_s_sync"] / results["per_call_s_fresh_loop"]
    results["per_call_ratio_vs_floor"] = results["per_call_s_sync"] / (2 * latency)
    return results


def _sync_call(program: fd.NofN, question: str) -> None:
    program(question=question)


def _fresh_loop_call(program: fd.NofN, question: str) -> None:
    asyncio.run(program.acall(question=question))


def local_model(ns: list[int]) -> dict[str, Any]:
    """On the embedded model: the single-call ratio and fused-answer tokens as n grows."""
    lm = fd.local_lm("local-small", max_tokens=48, temperature=0.8)
    tokens: dict[str, Any] = {}
    ratio = 0.0
    with dspy.context(lm=lm):
        for n in ns:
            start = time.perf_counter()
            pred = plain_fusion(n)(question=f"Name three uses of copper. (benchmark n={n})")
            wall = time.perf_counter() - start
            usage = pred.nofn.usage
            tokens[str(n)] = {
                "fusor_prompt_tokens": usage.aggregation.prompt_tokens,
                "fusor_completion_tokens": usage.aggregation.completion_tokens,
                "total_tokens": usage.total.total_tokens,
            }
            slowest = max(c.latency_s for c in pred.nofn.candidates)
            ratio = wall / (slowest + usage.aggregation_s)
    return {"local_single_ratio": ratio, "local_tokens_by_n": tokens}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--latency", type=float, default=0.25, help="seconds per call on the test server")
    parser.add_argument("-n", type=int, default=5)
    parser.add_argument("--prompts", type=int, default=64)
    parser.add_argument("--concurrency", type=int, default=32)
    parser.add_argument("--skip-local", action="store_true", help="leave out the embedded-model measurements")
    parser.add_argument(
        "--connection-setup", type=float, default=0.1, help="seconds each new connection costs (HTTPS-like server)"
    )
    args = parser.parse_args()
    dspy.configure_cache(enable_disk_cache=False)

    results: dict[str, Any] = {
        "latency_s": args.latency, "n": args.n, "prompts": args.prompts, "concurrency": args.concurrency,
    }  # fmt: skip
    results |= single_call(args.latency, args.n, repeats=5)
    results |= batch(args.latency, args.n, args.prompts, args.concurrency)
    results |= versus_dspy(args.latency, args.n, repeats=3)
    results |= overhead(calls=200)
    results |= warm_cache(args.n)
    results |= connection_reuse(args.latency, args.n, calls=20, setup_s=args.connection_setup)
    results |= tail(n=args.n, k=3, answers=200)
    results |= run_batch(args.latency, args.n, args.prompts, args.concurrency)
    results |= one_request_costs(args.n, args.latency)
    if not args.skip_local:
        results |= local_model([1, 2, 3, 5])
        results |= fusor_prompt_cache_share()
    previous = json.loads(RESULTS.read_text()) if RESULTS.exists() else {}
    results |= {key: value for key, value in previous.items() if key in SPECULATIVE_KEYS + LORA_KEYS}
    RESULTS.write_text(json.dumps(results, indent=2) + "\n")

    prompts_row = f"{args.prompts} prompts × n={args.n} at C={args.concurrency} ÷ physical limit"
    rows = [
        ("one FusionOfN(n) call ÷ (slowest sample + fusor)", f"{results['single_ratio']:.3f}", "≤ 1.15"),
        (prompts_row, f"{results['batch_ratio']:.3f}", "≤ 1.2"),
        ("  the same without an in-flight bound", f"{results['batch_unbounded_ratio']:.3f}", "(info)"),
        ("speed-up of BestOfN over dspy.BestOfN", f"{results['speedup_vs_dspy_bestofn']:.2f}×", "≥ 4×"),
        ("overhead per LM call over raw litellm", f"{results['overhead_ms_per_call']:.2f} ms", "≤ 2 ms"),
        ("overhead per LM call over a bare HTTP POST", f"{results['overhead_ms_per_call_vs_http']:.2f} ms", "(info)"),
        ("LM calls on a warm cache", str(results["warm_cache_lm_calls"]), "0"),
        (
            f"connections opened by 20 sync calls (fresh loop per call: {results['connections_fresh_loop']})",
            str(results["connections_sync"]),
            f"≤ {args.n}",
        ),
        (
            f"per sync call with {args.connection_setup:g} s connection set-up ÷ fresh loop per call",
            f"{results['per_call_ratio_vs_fresh_loop']:.3f}",
            "(info)",
        ),
        (
            "per sync call with connection set-up ÷ (sample + fusor latency)",
            f"{results['per_call_ratio_vs_floor']:.3f}",
            "(info)",
        ),
        ("heavy tail: p95 first-3-of-5 ÷ p95 all 5", f"{results['tail_p95_ratio']:.3f}", "≤ 0.6"),
        ("heavy tail: p95 first-k (hedged fusor) ÷ (p50 sample + p50 fusor)", f"{results['tail_p95_vs_single']:.3f}",
         "≤ 2.0"),
        ("  the same, fusor not hedged", f"{results['tail_p95_vs_single_unhedged']:.3f}", "(info)"),
        (f"`fusion-dspy run --input` {args.prompts} prompts at --concurrency {args.concurrency} ÷ physical limit",
         f"{results['run_batch_ratio']:.3f}", "≤ 1.25"),
        (f"prompt tokens billed: n={args.n} in one request ÷ {args.n} requests (one_request=True)",
         f"{results['one_request_prompt_tokens_ratio']:.3f}", f"≈ 1/{args.n}"),
        ("  wall time, server with a slot per request / with one slot",
         f"{results['one_request_time_ratio']:.2f} / {results['one_request_time_ratio_one_slot']:.2f}", "(info)"),
    ]  # fmt: skip
    if results.get("fusor_spec_time_ratio") is not None:
        best = f"embedded fusor time with speculative decoding ({results['fusor_spec_best_type']}) ÷ without"
        rows.append((best, f"{results['fusor_spec_time_ratio']:.3f}", "≤ 0.7 to adopt"))
    if "local_single_ratio" in results:
        local = f"{results['local_single_ratio']:.3f}"
        rows.append(("embedded model: one FusionOfN call ÷ (slowest sample + fusor)", local, "≤ 1.15"))
        share = f"{results['fusor_prompt_cache_share']:.3f}"
        rows.append(("embedded model: fusor prompt tokens served from the server's cache", share, "(higher is better)"))
    width = max(len(r[0]) for r in rows)
    print(f"{'measure':{width}}  {'value':>10}  target")
    for name, value, target in rows:
        print(f"{name:{width}}  {value:>10}  {target}")
    for n, t in results.get("local_tokens_by_n", {}).items():
        fusor = f"fusor prompt {t['fusor_prompt_tokens']} + completion {t['fusor_completion_tokens']} tokens"
        print(f"embedded model, n={n}: {fusor}; all calls {t['total_tokens']}")
    print(f"wrote {RESULTS}")


if __name__ == "__main__":
    main()
