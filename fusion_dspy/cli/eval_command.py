"""`fusion-dspy eval`: FusionOfN vs BestOfN vs single sample vs oracle on a benchmark, per language."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Annotated

import typer
from rich.markdown import Markdown
from rich.progress import TaskID

from fusion_dspy.cli.app import app, err, friendly_errors, out, progress_bar
from fusion_dspy.eval import DEFAULT_SCORERS, EvalConfig, run_evaluation
from fusion_dspy.lm.resolve import API_BASE_ENV, MODEL_ENV
from fusion_dspy.programs import TASKS


def _split(text: str) -> list[str]:
    return [part.strip() for part in text.split(",") if part.strip()]


@app.command("eval")
@friendly_errors
def eval_command(
    task: Annotated[str, typer.Option(help=f"Benchmark: {', '.join(TASKS)}.")],
    langs: Annotated[str, typer.Option(help="Comma-separated language codes, e.g. de,ja,zh.")],
    out_dir: Annotated[Path, typer.Option("--out", help="Folder for pools, predictions and the report.")],
    n: Annotated[int, typer.Option("-n", "--n", min=1, help="Candidates per example.")] = 5,
    limit: Annotated[int | None, typer.Option(min=1, help="Examples per language (seeded random subset).")] = 50,
    model: Annotated[str | None, typer.Option(envvar=MODEL_ENV, help="Candidate model (default: local).")] = None,
    fusor_model: Annotated[
        str | None, typer.Option(help="Fusor model (default: --model), run at temperature 0.")
    ] = None,
    judge_model: Annotated[
        str | None, typer.Option(help="Judge for BoN scorers and judged metrics (default: fusor).")
    ] = None,
    api_base: Annotated[str | None, typer.Option(envvar=API_BASE_ENV, help="OpenAI-compatible server URL.")] = None,
    scorers: Annotated[str, typer.Option(help="BoN scorers to compare, comma-separated.")] = ",".join(DEFAULT_SCORERS),
    temperature: Annotated[float, typer.Option(min=0.0, help="Sampling temperature of the candidates.")] = 0.8,
    max_tokens: Annotated[int | None, typer.Option(min=1, help="Token limit per call.")] = None,
    seed: Annotated[int, typer.Option(min=0, help="Seed for the subset, rollouts, shuffles and bootstrap.")] = 0,
    concurrency: Annotated[int, typer.Option(min=1, help="Examples in flight at once.")] = 4,
    data_dir: Annotated[
        str | None, typer.Option(help="Folder laid out like shared/data (default: found beside the project).")
    ] = None,
) -> None:
    """Compare Fusion-of-N with Best-of-N (each scorer), a single sample and the oracle, on identical candidates.

    Candidate pools are generated once per (task, language, model, n, temperature, seed) and stored under
    --out; every method's answers are stored too, so an interrupted run resumes and a finished one re-reports
    without new LM calls. Writes report.md, report.json and figure.png (per-language bars with 95% CIs).

    \b
    Example:
      fusion-dspy eval --task translation --langs de,ja,zh -n 5 --limit 50 --out runs/translation
    """
    import datasets

    datasets.disable_progress_bars()
    config = EvalConfig(
        task=task, languages=_split(langs), out_dir=out_dir, n=n, limit=limit, model=model, fusor_model=fusor_model,
        judge_model=judge_model, api_base=api_base, scorers=_split(scorers), temperature=temperature,
        max_tokens=max_tokens, seed=seed, concurrency=concurrency, data_dir=data_dir,
    )  # fmt: skip
    with progress_bar() as progress:
        bars: dict[str, TaskID] = {}

        def advance(label: str, total: int | None) -> None:
            if label not in bars:
                bars[label] = progress.add_task(label, total=total)
            else:
                progress.advance(bars[label])

        report, paths = asyncio.run(run_evaluation(config, advance))
    out.print(Markdown(report.markdown()))
    err.print("wrote " + ", ".join(str(p) for p in paths))
