"""Human-readable output of `fusion-dspy run`."""

from __future__ import annotations

from rich.console import Console, Group
from rich.panel import Panel
from rich.text import Text

from fusion_dspy.outcome import Answer, Outcome
from fusion_dspy.provenance import Provenance

PREVIEW_CHARS = 600


def _preview(text: str) -> str:
    text = text.strip()
    return text if len(text) <= PREVIEW_CHARS else text[:PREVIEW_CHARS] + " …"


def show_record(console: Console, record: Outcome, *, show_candidates: bool = True) -> None:
    if show_candidates:
        rows: list[Text] = []
        for c in record.candidates:
            head = f"[{c.index + 1}] {c.source} · {c.latency_s:.1f} s · {c.usage.completion_tokens} tokens"
            if c.ok:
                rows.append(Text(head, style="bold cyan"))
                rows.append(Text(_preview(c.text("response")) + "\n"))
            elif c.status == "cut":
                rows.append(Text(f"{head} · cut: enough candidates had answered", style="dim"))
            else:
                rows.append(Text(f"{head} · FAILED: {c.error}", style="bold red"))
        console.print(Panel(Group(*rows), title=f"{len(record.candidates)} candidates", title_align="left"))
    if record.error:
        console.print(Text(f"error: {record.error}", style="bold red"))
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
