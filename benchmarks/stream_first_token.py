"""Time to the first fused token vs time to the whole fused answer, streaming on, with an embedded model.

`FusionOfN(dspy.Predict("question -> answer"), n)` under `dspy.streamify` with a listener on the fused `answer`
(`program.stream_listeners`): the candidates are sampled, then the fusor writes the answer and its tokens reach
the caller as it writes them. Times are measured from the fusor's start (the end of sampling, `pred.nofn.usage`)
and from the call's start. No cache: every run calls the model.

python benchmarks/stream_first_token.py --model local-small -n 3 --max-tokens 256 --runs 2
"""

from __future__ import annotations

import argparse
import asyncio
import os
import time

import dspy
from dspy.streaming import StreamResponse

import fusion_dspy as fd
from fusion_dspy.lm import local_lm

PROMPT = "Why is the sky blue?"  # the README's


async def one_run(program: fd.FusionOfN, prompt: str) -> dict[str, float | int | str]:
    stream = dspy.streamify(program, stream_listeners=program.stream_listeners("answer"))
    start = time.perf_counter()
    first = last = None
    pieces = 0
    prediction = None
    async for item in stream(question=prompt):
        now = time.perf_counter() - start
        if isinstance(item, StreamResponse) and item.chunk:
            first = now if first is None else first
            last, pieces = now, pieces + 1
        elif isinstance(item, dspy.Prediction):
            prediction = item
    assert prediction is not None
    total = time.perf_counter() - start
    fusor_start = prediction.nofn.usage.sampling_s
    return {
        "path": prediction.nofn.path,
        "sampling_s": fusor_start,
        "first_token_after_fusor_start_s": (first - fusor_start) if first is not None else float("nan"),
        "last_token_after_fusor_start_s": (last - fusor_start) if last is not None else float("nan"),
        "prediction_s": total,
        "pieces": pieces,
        "fusor_tokens": prediction.nofn.usage.aggregation.completion_tokens,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--model", default="local-small")
    parser.add_argument("-n", type=int, default=3)
    parser.add_argument("--max-tokens", type=int, default=256)
    parser.add_argument("--runs", type=int, default=1)
    parser.add_argument("--prompt", default=PROMPT)
    args = parser.parse_args()
    print(f"load average before: {os.getloadavg()[0]:.2f} (1 min) on {os.cpu_count()} cores; model {args.model}")
    lm = local_lm(args.model, max_tokens=args.max_tokens, temperature=0.8, cache=False)
    program = fd.FusionOfN(dspy.Predict("question -> answer"), n=args.n)
    with dspy.context(lm=lm):
        for run in range(args.runs):
            result = asyncio.run(one_run(program, args.prompt))
            first, last = result["first_token_after_fusor_start_s"], result["last_token_after_fusor_start_s"]
            assert isinstance(first, float) and isinstance(last, float)
            sampling = result["sampling_s"]
            assert isinstance(sampling, float)
            print(
                f"run {run + 1}: path {result['path']}; sampling {sampling:.1f} s; fusor: first token after "
                f"{first:.2f} s, whole answer after {last:.2f} s ({result['pieces']} pieces, {result['fusor_tokens']} "
                f"tokens; first/whole {first / last:.2f}); from the call's start: first token "
                f"{sampling + first:.1f} s, whole answer {sampling + last:.1f} s, "
                f"prediction {result['prediction_s']:.1f} s"
            )
    print(f"load average after: {os.getloadavg()[0]:.2f}")


if __name__ == "__main__":
    main()
