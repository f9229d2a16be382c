"""How long one FusionOfN call takes against a model with fixed latency, versus the physical limit.

With a fake LM that sleeps `--delay` seconds per call, FusionOfN(n) should take one sample's time plus the
fusor's (≈ 2 × delay), not n + 1 delays; dspy.BestOfN(N=n) samples serially (≈ n × delay). Prints ratios.

    python benchmarks/fusion_latency.py --delay 0.5 -n 5
"""

from __future__ import annotations

import argparse
import time

import dspy

import fusion_dspy as fd
from fusion_dspy.testing import SlowLM


def respond(prompt: str) -> dict[str, str]:
    return {"answer": "fused" if "<candidate 1>" in prompt else "sample"}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--delay", type=float, default=0.5, help="seconds per fake LM call")
    parser.add_argument("-n", type=int, default=5)
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()

    program = fd.NofN(dspy.Predict("question -> answer"), fd.Fuser(), n=args.n)  # always fuses: identical samples
    serial = dspy.BestOfN(dspy.Predict("question -> answer"), N=args.n, reward_fn=lambda a, p: 0.0, threshold=1.0)
    ours, theirs = [], []
    for repeat in range(args.repeats):
        lm = SlowLM(respond, delay_s=args.delay)
        with dspy.context(lm=lm):
            start = time.perf_counter()
            program(question=f"q{repeat}")
            ours.append(time.perf_counter() - start)
            start = time.perf_counter()
            serial(question=f"q{repeat}")
            theirs.append(time.perf_counter() - start)
    floor = 2 * args.delay
    best_ours, best_theirs = min(ours), min(theirs)
    print(f"n={args.n}, {args.delay:.2f} s per call, best of {args.repeats}")
    print(f"FusionOfN(n={args.n}):          {best_ours:.3f} s  = {best_ours / floor:.3f} × (slowest sample + fusor)")
    print(f"dspy.BestOfN(N={args.n}), serial: {best_theirs:.3f} s  = {best_theirs / args.delay:.2f} × one call")
    print(f"speed-up of FusionOfN (incl. its fusor call) over dspy.BestOfN: {best_theirs / best_ours:.2f}×")


if __name__ == "__main__":
    main()
