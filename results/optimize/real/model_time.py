"""Model time spent on the calls a study folder's response log holds: the embedded llama.cpp server reports each
call's prompt and generation milliseconds (`timings`), kept with the response. Summed per log and per run (the
study that logged the call; rows logged before runs were named are counted apart), it is the compute the studies
paid for, across sessions (a resumed run's wall time is not: it spans the gaps), with the caveat that calls made
while other model processes shared the cores took longer. Run from the repository root:

    python results/optimize/real/model_time.py results/optimize/real/*/responses.jsonl
"""

from __future__ import annotations

import json
import sys
from collections import Counter, defaultdict
from typing import Any

UNNAMED = "before runs were named"


def milliseconds(data: Any) -> float | None:
    """prompt_ms + predicted_ms of the first `timings` found in a logged response (None: not reported)."""
    if isinstance(data, dict):
        timings = data.get("timings")
        if isinstance(timings, dict):
            return float(timings.get("prompt_ms") or 0.0) + float(timings.get("predicted_ms") or 0.0)
        children: list[Any] = list(data.values())
    elif isinstance(data, list):
        children = data
    else:
        return None
    for child in children:
        found = milliseconds(child)
        if found is not None:
            return found
    return None


def main() -> None:
    for name in sys.argv[1:]:
        calls: Counter[str] = Counter()
        missing: Counter[str] = Counter()
        hours: defaultdict[str, float] = defaultdict(float)
        with open(name, encoding="utf-8") as log:
            for line in log:
                try:
                    row = json.loads(line)
                except json.JSONDecodeError:
                    continue  # a torn last line
                run = row.get("run") or UNNAMED
                calls[run] += 1
                ms = milliseconds(row.get("response"))
                missing[run] += ms is None
                hours[run] += (ms or 0.0) / 3.6e6
        total = sum(hours.values())
        print(f"{name}: {calls.total()} calls, {total:.1f} h of model time ({missing.total()} without timings)")
        for run in sorted(calls, key=lambda r: (r == UNNAMED, r)):
            print(f"  {run}: {calls[run]} calls, {hours[run]:.1f} h ({missing[run]} without timings)")


if __name__ == "__main__":
    main()
