"""Options shared by the benchmark commands (eval, thresholds, optimize): one definition and one help text each,
so the commands cannot drift apart."""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated

import typer
from rich.progress import Progress, TaskID

from fusion_dspy.lm.resolve import API_BASE_ENV, MODEL_ENV
from fusion_dspy.programs import TASKS

if TYPE_CHECKING:
    from fusion_dspy.eval.runner import Advance

TaskName = Annotated[str, typer.Option("--task", help=f"Benchmark: {', '.join(TASKS)}.")]
Candidates = Annotated[int, typer.Option("-n", "--n", min=1, help="Candidates per example.")]
Limit = Annotated[int | None, typer.Option(min=1, help="Examples per language (seeded random subset).")]
Model = Annotated[str | None, typer.Option(envvar=MODEL_ENV, help="Candidate model (default: local).")]
FusorModel = Annotated[
    str | None,
    typer.Option(
        help="Fusor model (default: --model), run at temperature 0; a tuned one (base@adapter.gguf) is never "
        "scored on the items it trained on."
    ),
]
ApiBase = Annotated[str | None, typer.Option(envvar=API_BASE_ENV, help="OpenAI-compatible server URL.")]
Temperature = Annotated[float, typer.Option(min=0.0, help="Sampling temperature of the candidates.")]
MaxTokens = Annotated[int | None, typer.Option(min=1, help="Token limit per call.")]
Seed = Annotated[int, typer.Option(min=0, help="Seed for the subset, rollouts, shuffles and bootstrap.")]
Concurrency = Annotated[int, typer.Option(min=1, help="Examples in flight at once.")]
DataDir = Annotated[
    str | None, typer.Option(help="Folder laid out like shared/data (default: found beside the project).")
]


def split_list(text: str) -> list[str]:
    """`"de, ja,,zh"` → `["de", "ja", "zh"]`."""
    return [part.strip() for part in text.split(",") if part.strip()]


def progress_advancer(progress: Progress) -> Advance:
    """The `advance(label, total, done)` callback of the eval harness (`eval.runner.Advance`), drawn as one bar per
    label; the steps a resumed run found `done` are out of its time to go."""
    bars: dict[str, TaskID] = {}

    def advance(label: str, total: int | None, done: int = 0) -> None:
        if label not in bars:
            bars[label] = progress.add_task(label, total=total, completed=done)
        else:
            progress.advance(bars[label])

    return advance
