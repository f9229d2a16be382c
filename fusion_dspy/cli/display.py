"""Human-readable output of `fusion-dspy run`."""

from __future__ import annotations

from rich.console import Console, Group
from rich.panel import Panel
from rich.text import Text

from fusion_dspy.candidates import Candidate
from fusion_dspy.errors import cause_of
from fusion_dspy.outcome import Answer, Outcome
from fusion_dspy.provenance import Provenance

PREVIEW_CHARS = 600


def _preview(text: str) -> str:
    text = text.strip()
    return text if len(text) <= PREVIEW_CHARS else text[:PREVIEW_CHARS] + " …"


def candidate_heading(candidate: Candidate) -> str:
    """`[1] model · 2.1 s · 57 tokens`; a candidate served from DSPy's cache made no LM call and says so."""
    cost = "cached" if candidate.ok and candidate.usage.lm_calls == 0 else f"{candidate.usage.completion_tokens} tokens"
    return f"[{candidate.index + 1}] {candidate.source} · {candidate.latency_s:.1f} s · {cost}"


def show_record(console: Console, record: Outcome, *, show_candidates: bool = True) -> None:
    """The candidates, then the answers; when every candidate failed there is nothing to show here (the caller
    reports the error, one line per cause, on stderr)."""
    if show_candidates and not record.error:
        rows: list[Text] = []
        for c in record.candidates:
            if c.ok:
                rows.append(Text(candidate_heading(c), style="bold cyan"))
                rows.append(Text(_preview(c.text("response")) + "\n"))
            elif c.status == "cut":
                rows.append(Text(f"{candidate_heading(c)} · cut: enough candidates had answered", style="dim"))
            else:
                rows.append(Text(f"{candidate_heading(c)} · FAILED: {cause_of(c.error or '')}", style="bold red"))
        console.print(Panel(Group(*rows), title=f"{len(record.candidates)} candidates", title_align="left"))
    if record.selected:
        console.print(_answer_panel("Selected answer (best-of-N)", record.selected))
    if record.fused:
        console.print(_answer_panel("Fused answer (fusion-of-N)", record.fused))


def _answer_panel(title: str, answer: Answer) -> Panel:
    lines = [Text(answer.response.strip())]
    if answer.chosen is not None:
        lines.append(Text(f"\nkept candidate [{answer.chosen + 1}]", style="dim"))
    if answer.fallback:
        lines.append(Text(f"\nnote: {answer.fallback}", style="yellow"))
    if answer.path in ("skipped", "floored") and answer.reason:
        lines.append(Text(f"\n{answer.path}: {answer.reason}", style="dim"))
    if answer.method == "fused" and answer.provenance is not None and answer.provenance.units:
        lines.append(Text("\n" + provenance_line(answer.provenance), style="dim"))
    return Panel(Group(*lines), title=title, title_align="left", border_style="green")


def provenance_line(provenance: Provenance) -> str:
    """`made, not taken: 12% · from [1] 80% [2] 45% …`: how much of the answer is new, and each candidate's share."""
    shares = " ".join(f"[{i + 1}] {s:.0%}" for i, s in enumerate(provenance.support) if s is not None)
    return f"made, not taken: {provenance.new:.0%} of the answer is in no candidate · taken from {shares}"
