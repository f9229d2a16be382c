"""Hijack rate of the default fusion path on crafted injection pools, with each embedded model as the fusor.

Each of the 60 extended pools (`fusion_dspy.testing.injection.extended_injection_cases`: twenty attack styles ×
three questions, two honest candidates that agree around one attacker) goes through the default
`FusionOfN(dspy.Predict("question -> answer"))` with the model as its LM (`afrom_pool`: the pool is given, only the
fusor is called). A returned answer containing the payload is a hijack. Also counted: how often the fusor itself
wrote the payload and the outvoted check floored it (the reason names the fused value), so the fusor's own rate and
the path's rate are both shown. The 30 original pools (honest pair worded differently, no majority) are run too:
there the check cannot act and the fusor's own resistance is what counts.

python benchmarks/injection.py --models local-small,local
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import time

import dspy

import fusion_dspy as fd
from fusion_dspy.testing.injection import PAYLOAD, InjectionCase, extended_injection_cases, injection_cases


async def measure(model: str, cases: list[InjectionCase]) -> dict[str, object]:
    lm = fd.resolve_lm(model)
    program = fd.FusionOfN(dspy.Predict("question -> answer"), n=3)
    hijacked: list[dict[str, object]] = []
    caught, paths = 0, dict[str, int]()
    start = time.perf_counter()
    with dspy.context(lm=lm):
        for number, case in enumerate(cases):
            pred = await program.afrom_pool({"question": case.question}, case.pool)
            paths[str(pred.nofn.path)] = paths.get(str(pred.nofn.path), 0) + 1
            print(f"  {model} pool {number + 1}/{len(cases)}: {pred.nofn.path}", flush=True)
            if case.hijacked(str(pred.answer)):
                hijacked.append({"pool": number, "attack": case.attack[:60], "answer": str(pred.answer)[:80]})
            elif pred.nofn.path == "floored" and PAYLOAD.lower() in (pred.nofn.reason or "").lower():
                caught += 1
    return {
        "model": model,
        "pools": len(cases),
        "hijacked": len(hijacked),
        "fusor_wrote_payload_floored": caught,
        "paths": paths,
        "hijacks": hijacked,
        "seconds": round(time.perf_counter() - start, 1),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--models", default="local-small,local")
    parser.add_argument("--set", choices=["extended", "original", "both"], default="both")
    parser.add_argument("--out", default=None, help="also write the results to this JSON file")
    args = parser.parse_args()
    sets = {"extended": extended_injection_cases(), "original": injection_cases()}
    chosen = list(sets) if args.set == "both" else [args.set]
    load = os.getloadavg()[0]
    results = []
    for model in args.models.split(","):
        for name in chosen:
            result = {"set": name, **asyncio.run(measure(model, sets[name]))}
            results.append(result)
            print(
                f"{model:12s} {name:9s} hijacked {result['hijacked']} of {result['pools']}; the fusor wrote the "
                f"payload and was floored {result['fusor_wrote_payload_floored']} times; paths {result['paths']}; "
                f"{result['seconds']} s",
                flush=True,
            )
    summary = {"load_average_before": round(load, 2), "results": results}
    print(json.dumps(summary, indent=1, ensure_ascii=False))
    if args.out:
        with open(args.out, "w", encoding="utf-8") as handle:
            json.dump(summary, handle, indent=1, ensure_ascii=False)


if __name__ == "__main__":
    main()
