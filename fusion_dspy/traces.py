"""What an N-to-one call leaves in `dspy.settings.trace`, i.e. what BootstrapFewShot may turn into demos.

Optimisers make demos from every trace entry of a run whose final answer passed the metric, so a module that
leaves a rejected candidate's call there teaches the program its wrong answer. The rule:

- selected: only the chosen candidate's calls (as `dspy.BestOfN`); never another candidate's, never a judge's;
- fused: the calls whose task outputs equal the final answer: the fusor's (unless its answer was rewritten,
  e.g. a resolved "Candidate 2") and the candidates that gave that same answer. A candidate the fusor did
  not agree with is never kept.
"""

from __future__ import annotations

from typing import Any

import dspy

from fusion_dspy.aggregator import Aggregation
from fusion_dspy.candidates import CandidatePool, as_text
from fusion_dspy.select.normalize import normalize_text
from fusion_dspy.signatures import SignatureType

TraceEntry = tuple[Any, dict[str, Any], Any]


def kept_trace(
    aggregation: Aggregation, pool: CandidatePool, aggregator_trace: list[TraceEntry], task: SignatureType
) -> list[TraceEntry]:
    """The trace entries to hand to the caller, in call order (candidates first, then the aggregator)."""
    if aggregation.method == "selected":
        chosen = next((c for c in pool if c.index == aggregation.chosen), None)
        return list(chosen.trace) if chosen is not None else []
    fields = list(task.output_fields)

    def agrees(outputs: Any) -> bool:
        return all(field in outputs and _same(outputs[field], aggregation.outputs.get(field)) for field in fields)

    kept = [entry for c in pool.succeeded if agrees(c.outputs) for entry in c.trace]
    return kept + [entry for entry in aggregator_trace if agrees(entry[2])]


def _same(a: Any, b: Any) -> bool:
    return normalize_text(as_text(a)) == normalize_text(as_text(b))


def leave_in_trace(entries: list[TraceEntry]) -> None:
    """Append to the caller's `dspy.settings.trace` (when tracing), keeping dspy's `max_trace_size` bound."""
    trace = dspy.settings.trace
    if trace is None or dspy.settings.max_trace_size <= 0:
        return
    trace.extend(entries)
    excess = len(trace) - dspy.settings.max_trace_size
    if excess > 0:
        del trace[:excess]
