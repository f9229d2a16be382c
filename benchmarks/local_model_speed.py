"""Tokens per second of the embedded models on this machine: generation with one request alone, then k at once,
and prompt processing (a long new prompt, read from llama.cpp's own timings). Run it on an idle machine: the
single-request figures are `EmbeddedModel.tokens_per_s` and `prompt_tokens_per_s`, which the map's cost per item
uses.

python benchmarks/local_model_speed.py --models local-small,local --tokens 96 --parallel 5
"""

from __future__ import annotations

import argparse
import asyncio
import os
import time

from fusion_dspy.lm.embedded import LOCAL_API_KEY
from fusion_dspy.lm.server import local_server

PROMPT = "Write a detailed paragraph about the history of the bicycle."


async def generate(base_url: str, name: str, tokens: int, seed: int) -> tuple[int, int]:
    import litellm  # after fusion_dspy, which points litellm at its offline price map

    response = await litellm.acompletion(
        model=f"openai/{name}",
        api_base=base_url,
        api_key=LOCAL_API_KEY,
        messages=[{"role": "user", "content": f"{PROMPT} (variant {seed})"}],
        max_tokens=tokens,
        temperature=0.8,
    )
    return response.usage.prompt_tokens, response.usage.completion_tokens


LONG_PROMPT = " ".join(
    f"Sentence {i} is about the weather, the markets and the history of the bicycle." for i in range(80)
)


def prompt_speed(base_url: str, name: str) -> float:
    """Prompt tokens per second of one request with a ~1,300-token prompt nothing in the cache shares."""
    import json
    import urllib.request

    body = {"model": name, "messages": [{"role": "user", "content": f"{time.time()} Summarise: {LONG_PROMPT}"}],
            "max_tokens": 4, "temperature": 0, "cache_prompt": False}  # fmt: skip
    headers = {"Content-Type": "application/json", "Authorization": f"Bearer {LOCAL_API_KEY}"}
    request = urllib.request.Request(f"{base_url}/chat/completions", data=json.dumps(body).encode(), headers=headers)
    with urllib.request.urlopen(request, timeout=600) as response:
        return float(json.loads(response.read())["timings"]["prompt_per_second"])


async def measure(name: str, tokens: int, parallel: int) -> None:
    start = time.perf_counter()
    server = local_server(name)
    load_s = time.perf_counter() - start
    await generate(server.base_url, name, 8, -1)
    start = time.perf_counter()
    _, alone = await generate(server.base_url, name, tokens, 0)
    alone_s = time.perf_counter() - start
    start = time.perf_counter()
    results = await asyncio.gather(*(generate(server.base_url, name, tokens, i + 1) for i in range(parallel)))
    together_s = time.perf_counter() - start
    together = sum(c for _, c in results)
    prompt = await asyncio.to_thread(prompt_speed, server.base_url, name)
    print(
        f"{name:12s} load {load_s:5.1f} s | prompt: {prompt:6.1f} tok/s | 1 request: {alone / alone_s:5.1f} tok/s | "
        f"{parallel} at once: {together / together_s:5.1f} tok/s total "
        f"({together_s / alone_s:.2f}× the single request's time for {together / max(alone, 1):.1f}× the tokens)"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--models", default="local-small,local")
    parser.add_argument("--tokens", type=int, default=96)
    parser.add_argument("--parallel", type=int, default=5)
    args = parser.parse_args()
    before = os.getloadavg()[0]
    for name in args.models.split(","):
        asyncio.run(measure(name.strip(), args.tokens, args.parallel))
    print(f"load average (1 min) {before:.2f} before, {os.getloadavg()[0]:.2f} after: quote it with the figures")


if __name__ == "__main__":
    main()
