"""Tokens per second of the embedded models on this machine: one request alone, then k at once.

python benchmarks/local_model_speed.py --models local-small,local --tokens 96 --parallel 5
"""

from __future__ import annotations

import argparse
import asyncio
import time

from fusion_dspy.lm.resolve import LOCAL_API_KEY
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
    print(
        f"{name:12s} load {load_s:5.1f} s | 1 request: {alone / alone_s:5.1f} tok/s | "
        f"{parallel} at once: {together / together_s:5.1f} tok/s total "
        f"({together_s / alone_s:.2f}× the single request's time for {together / max(alone, 1):.1f}× the tokens)"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--models", default="local-small,local")
    parser.add_argument("--tokens", type=int, default=96)
    parser.add_argument("--parallel", type=int, default=5)
    args = parser.parse_args()
    for name in args.models.split(","):
        asyncio.run(measure(name.strip(), args.tokens, args.parallel))


if __name__ == "__main__":
    main()
