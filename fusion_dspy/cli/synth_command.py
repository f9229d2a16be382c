"""`fusion-dspy synth`: build a fused (and best-of-N) training set from a pool of teachers."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from pathlib import Path
from typing import Annotated

import typer
from rich.markup import escape
from rich.progress import Progress, ProgressColumn, Task, TaskID
from rich.text import Text

from fusion_dspy.cli.app import app, err, friendly_errors, out, progress_bar
from fusion_dspy.errors import ConfigurationError
from fusion_dspy.lm.keys import missing_keys
from fusion_dspy.lm.resolve import API_BASE_ENV
from fusion_dspy.outcome import Outcome
from fusion_dspy.select.registry import SCORERS
from fusion_dspy.synth import SynthConfig, checkpoint, export, load_prompts, pending, run_job


class RateColumn(ProgressColumn):
    def render(self, task: Task) -> Text:
        failures = task.fields.get("failures", 0)
        rate = f"{task.speed:.2f} rows/s" if task.speed else "… rows/s"
        return Text(f"{rate} · {failures} failed", style="red" if failures else "dim")


@app.command("synth")
@friendly_errors
def synth_command(
    prompts: Annotated[
        str, typer.Option(help="A JSONL, CSV, Parquet or text file, or a hub dataset id (when online).")
    ],
    out_dir: Annotated[Path, typer.Option("--out", help="Output folder; rerun the same command to resume.")],
    teachers: Annotated[str, typer.Option(help="Comma-separated teacher models (litellm strings, local).")] = "local",
    fusor: Annotated[str | None, typer.Option(help="Fusor model (default: the first teacher).")] = None,
    bon: Annotated[str | None, typer.Option(help=f"Also keep a best-of-N pick: {', '.join(SCORERS)}.")] = None,
    api_base: Annotated[str | None, typer.Option(envvar=API_BASE_ENV, help="OpenAI-compatible server URL.")] = None,
    column: Annotated[str, typer.Option(help="Column holding the prompt.")] = "prompt",
    split: Annotated[str, typer.Option(help="Split of a hub dataset.")] = "train",
    limit: Annotated[int | None, typer.Option(min=1, help="Only the first N prompts.")] = None,
    samples_per_teacher: Annotated[int, typer.Option(min=1, help="Samples per teacher (n of one model).")] = 1,
    concurrency: Annotated[int, typer.Option(min=1, help="Prompts in flight at once.")] = 16,
    teacher_concurrency: Annotated[int, typer.Option(min=1, help="Calls in flight per teacher.")] = 4,
    temperature: Annotated[
        float | None, typer.Option(min=0.0, help="Teacher temperature (default: the model's).")
    ] = None,
    max_tokens: Annotated[int | None, typer.Option(min=1, help="Token limit per call.")] = None,
    retries: Annotated[int, typer.Option(min=0, help="Retries per call on 429/5xx/drops; honours Retry-After.")] = 3,
    ray: Annotated[bool, typer.Option("--ray", help="Run on Ray Data (RAY_ADDRESS for a cluster).")] = False,
) -> None:
    """Sample one answer per teacher for every prompt, fuse them, and write a training set.

    Rows are checkpointed as they finish (append-only); kill the job at any moment and the same command
    continues without losing or repeating a row. Writes DIR/dataset (datasets.save_to_disk), DIR/fused.jsonl
    (chat messages for SFT), DIR/bon.jsonl with --bon, and DIR/stats.json.

    \b
    Example:
      fusion-dspy synth --prompts prompts.jsonl --teachers openai/gpt-4o-mini,anthropic/claude-3-5-haiku-latest,local \\
        --fusor openai/gpt-4o --bon judge --out synth/
    """
    config = SynthConfig(
        prompts=prompts, out_dir=out_dir, teachers=[t.strip() for t in teachers.split(",") if t.strip()],
        fusor=fusor, bon=bon, api_base=api_base, column=column, split=split, limit=limit,
        samples_per_teacher=samples_per_teacher, concurrency=concurrency,
        per_teacher_concurrency=teacher_concurrency, temperature=temperature, max_tokens=max_tokens, retries=retries,
    )  # fmt: skip
    config.check()
    rows = load_prompts(config.prompts, config.column, config.split, config.limit)
    done = checkpoint(config.out_dir)
    todo = pending(rows, done)
    if not todo:
        export(config, rows, done)
        out.print(f"nothing to do: all {len(rows)} rows are already in {config.out_dir} (no model started)")
        return
    _check_keys(config)
    if len(todo) < len(rows):
        err.print(f"resuming: {len(rows) - len(todo)} of {len(rows)} rows already done in {config.out_dir}")
    with progress_bar() as progress:
        progress.columns = (*progress.columns, RateColumn())
        task = progress.add_task("rows", total=len(todo), failures=0)
        if ray:
            from fusion_dspy.synth.distributed import run_on_ray

            done = run_on_ray(config, todo, on_row=_advance(progress, task))
        else:
            done = asyncio.run(run_job(config, todo, on_row=_advance(progress, task)))
    stats = export(config, rows, done)
    out.print(
        f"{stats.rows} of {stats.prompts} rows fused ({stats.failed_rows} failed, retried on rerun); "
        f"wrote {config.out_dir}/dataset, fused.jsonl{', bon.jsonl' if config.bon else ''}, stats.json"
    )
    for teacher, entry in stats.teachers.items():
        if entry.failures:
            err.print(f"[yellow]{escape(teacher)}: {entry.failures} of {entry.samples} calls failed[/]")
    if stats.failed_rows:
        cause = next((row.error for row in done.rows.values() if row.error), "unknown error")
        first = escape(cause.splitlines()[0])
        err.print(
            f"[bold red]error:[/] {stats.failed_rows} of {stats.prompts} rows failed ({first}); "
            "fix that and rerun the same command to retry them (done rows are kept).",
            highlight=False,
        )
        raise typer.Exit(2)


def _check_keys(config: SynthConfig) -> None:
    """Every teacher and the fusor can authenticate: a missing key fails now, not after minutes of sampling."""
    named = [("--teachers", t, "leave it out of --teachers (e.g. --teachers local)") for t in config.teachers]
    named.append(("--fusor", config.fusor_model, "choose another --fusor (e.g. --fusor local)"))
    for option, model, instead in named:
        keys = missing_keys(model, config.api_base)
        if keys:
            raise ConfigurationError(
                f"{option} {model} needs {' or '.join(keys)}: set it in the environment, or {instead}."
            )


def _advance(progress: Progress, task: TaskID) -> Callable[[Outcome], None]:
    failures = 0

    def on_row(row: Outcome) -> None:
        nonlocal failures
        failures += row.error is not None
        progress.update(task, advance=1, failures=failures)

    return on_row
