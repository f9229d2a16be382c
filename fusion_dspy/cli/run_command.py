"""`fusion-dspy run`: one prompt or a batch, fused and/or selected."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.markup import escape

from fusion_dspy._async import run_sync
from fusion_dspy.cli.app import app, err, friendly_errors, out, progress_bar
from fusion_dspy.cli.batch import PromptItem, read_prompts
from fusion_dspy.cli.display import show_record
from fusion_dspy.cli.run import Mode, RunConfig, Runner
from fusion_dspy.errors import ConfigurationError
from fusion_dspy.jsonl import JsonlLog
from fusion_dspy.lm.resolve import API_BASE_ENV, MODEL_ENV
from fusion_dspy.outcome import Outcome
from fusion_dspy.select.registry import SCORERS

MODEL_HELP = (
    "Candidate model: local (the embedded 1.5B model, the default), local-small (embedded 0.5B), a litellm model "
    "string such as openai/gpt-4o-mini, or openai/<name> with --api-base for vLLM, llama.cpp or Ollama."
)


@app.command()
@friendly_errors
def run(
    prompt: Annotated[str | None, typer.Argument(help="The prompt. Omit it and use --input for a batch.")] = None,
    n: Annotated[int, typer.Option("-n", "--n", min=1, help="Candidates to sample (the paper uses 5).")] = 5,
    mode: Annotated[
        Mode, typer.Option(help="fuse: write one answer from all candidates; select: keep the best one; both.")
    ] = Mode.fuse,
    model: Annotated[str | None, typer.Option(envvar=MODEL_ENV, help=MODEL_HELP)] = None,
    fusor_model: Annotated[str | None, typer.Option(help="Model that fuses (and judges). Default: --model.")] = None,
    api_base: Annotated[
        str | None,
        typer.Option(
            envvar=API_BASE_ENV, help="Base URL of an OpenAI-compatible server, used with --model openai/<name>."
        ),
    ] = None,
    scorer: Annotated[
        str, typer.Option(help=f"Best-of-N scorer: {', '.join(SCORERS)} (mbr and majority make no LM calls).")
    ] = "mbr",
    temperature: Annotated[
        float,
        typer.Option(
            min=0.0, help="Sampling temperature of the candidates (the fusor and judge answer at 0, as measured)."
        ),
    ] = 0.8,
    max_tokens: Annotated[
        int | None, typer.Option(min=1, help="Token limit per call (embedded model default: 512).")
    ] = None,
    seed: Annotated[
        int, typer.Option(min=0, help="Seed for rollout ids and candidate order; same seed, same pool from the cache.")
    ] = 0,
    cot: Annotated[
        bool, typer.Option("--cot", help="Reason step by step before answering (candidates and fusor).")
    ] = False,
    adaptive: Annotated[
        bool,
        typer.Option(
            "--adaptive",
            help="Skip the fusor when the candidates largely agree; keep the best candidate when the fused answer "
            "is an unsupported outlier. (Identical candidates never reach the fusor.)",
        ),
    ] = False,
    call_concurrency: Annotated[
        int | None,
        typer.Option(min=1, help="Most candidate calls in flight at once, across a batch (default: no bound)."),
    ] = None,
    first_k: Annotated[
        int | None,
        typer.Option("--first-k", min=1, help="Aggregate once K candidates have answered; cancel the rest."),
    ] = None,
    deadline: Annotated[
        float | None,
        typer.Option(min=0.001, help="Seconds to wait for candidates; then aggregate what has answered."),
    ] = None,
    concurrency: Annotated[
        int, typer.Option(min=1, help="Batch: prompts sampled at once (rows are written as they finish).")
    ] = 4,
    input: Annotated[
        str | None,
        typer.Option("--input", "-i", help="Batch: a file of prompts (text lines or JSONL), or - for stdin."),
    ] = None,
    field: Annotated[str, typer.Option(help="Batch: the JSONL field that holds the prompt.")] = "prompt",
    output: Annotated[
        Path | None, typer.Option("--output", "-o", help="Batch: JSONL results; rerun the same command to resume.")
    ] = None,
    json_output: Annotated[
        bool, typer.Option("--json", help="Print the result as JSON (one line per prompt).")
    ] = False,
) -> None:
    """Sample N candidates for a prompt and print the fused (and/or selected) answer.

    \b
    Examples:
      fusion-dspy run "Why is the sky blue?" -n 3
      fusion-dspy run "Traduis : le chat dort." --mode both --scorer judge
      fusion-dspy run -i prompts.jsonl -o results.jsonl --model openai/gpt-4o-mini
      fusion-dspy run "Hi" --model openai/qwen --api-base http://localhost:8000/v1
    """
    if scorer not in SCORERS:
        raise ConfigurationError(f"unknown --scorer {scorer!r}; choose one of {', '.join(SCORERS)}.")
    if input is None and (prompt is None or not prompt.strip()):
        raise ConfigurationError(
            'the prompt is empty: pass one, e.g. fusion-dspy run "Why is the sky blue?", or use --input FILE.'
        )
    if input is not None and prompt is not None:
        raise ConfigurationError("pass either a PROMPT or --input FILE, not both.")
    if output is not None and input is None:
        raise ConfigurationError("--output is for batches; add --input FILE (or use --json for a single prompt).")
    items = read_prompts(input, field) if input is not None else []  # bad input fails before any model starts
    if input is not None and not items:
        raise ConfigurationError(f"no prompts in {input!r}: it is empty; write one prompt per line (or JSONL rows).")
    config = RunConfig(
        n=n, mode=mode, model=model, fusor_model=fusor_model, api_base=api_base, scorer=scorer,
        temperature=temperature, max_tokens=max_tokens, seed=seed, chain_of_thought=cot,
        call_concurrency=call_concurrency, first_k=first_k, deadline_s=deadline,
        adaptive=adaptive,
    )  # fmt: skip
    with err.status("Preparing the model (a first run assembles and checks its weights)…"):
        runner = Runner(config)
        runner.start()
    if input is None:
        assert prompt is not None
        _run_one(runner, prompt, json_output)
    else:
        _run_batch(runner, items, output, json_output, concurrency)


def _run_one(runner: Runner, prompt: str, json_output: bool) -> None:
    with err.status(runner.status()):
        record = run_sync(runner.arun("1", prompt))
    if json_output:
        out.print_json(record.model_dump_json()) if out.is_terminal else print(record.model_dump_json())
    else:
        show_record(out, record)
    if record.error:
        err.print(f"[bold red]error:[/] {escape(str(record.error))}", highlight=False)
        raise typer.Exit(2)


def _run_batch(
    runner: Runner, items: list[PromptItem], output: Path | None, json_output: bool, concurrency: int
) -> None:
    """Prompts run `concurrency` at a time; each row is appended (and flushed) as it finishes, carrying its
    prompt id, so a killed run resumes without losing or repeating a row. A finished run's file is rewritten
    in input order."""
    writer = JsonlLog(output, Outcome) if output else None
    todo = [item for item in items if writer is None or item.id not in writer or writer.rows[item.id].error]
    if writer and len(todo) < len(items):
        err.print(f"resuming: {len(items) - len(todo)} of {len(items)} prompts already in {output}")
    failures = 0
    fallbacks: list[str] = []
    causes: dict[str, None] = {}  # each distinct error once, in order
    with progress_bar() as progress:
        task = progress.add_task("prompts", total=len(todo))

        def on_row(record: Outcome) -> None:
            nonlocal failures
            failures += record.error is not None
            if record.fused is not None and record.fused.fallback is not None:
                fallbacks.append(record.fused.fallback)
            causes.update({record.error: None} if record.error else {})
            if writer:
                writer.append(record)
            if json_output or writer is None:
                print(record.model_dump_json(), flush=True)
            progress.update(task, advance=1, description=f"prompts ({failures} failed)" if failures else "prompts")

        run_sync(runner.arun_batch(todo, concurrency, on_row))
    if writer:
        writer.compact(order=[item.id for item in items])
    if fallbacks:
        err.print(
            f"[yellow]{len(fallbacks)} of {len(todo)} fused answers were not written by the fusor as is "
            f"(first reason: {fallbacks[0]}); their rows say why in fused.fallback.[/]",
            highlight=False,
        )
    if failures:
        err.print(
            f"[yellow]{failures} of {len(todo)} prompts failed; their rows carry the error. Rerun to retry them.[/]"
        )
        for cause in causes:
            err.print(f"[bold red]error:[/] {escape(str(cause))}", highlight=False)
        raise typer.Exit(2)
