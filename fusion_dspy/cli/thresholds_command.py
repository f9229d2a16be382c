"""`fusion-dspy thresholds`: choose a task's adaptive-fusion thresholds on a tuning slice of stored pools."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Annotated

import typer
from rich.markdown import Markdown

from fusion_dspy.answer_thresholds import default_path as answer_types_path
from fusion_dspy.answer_thresholds import save_answer_thresholds
from fusion_dspy.cli import options as opt
from fusion_dspy.cli.app import app, err, friendly_errors, out, progress_bar
from fusion_dspy.eval import EvalConfig, Evaluation, plan
from fusion_dspy.eval.thresholds import BASELINES, choose_thresholds
from fusion_dspy.files import write_atomically
from fusion_dspy.programs.adaptive_defaults import Thresholds, default_path, save_thresholds
from fusion_dspy.select.answer_fields import ANSWER_KINDS, AnswerKind


@app.command("thresholds")
@friendly_errors
def thresholds_command(
    task: opt.TaskName,
    langs: Annotated[str, typer.Option(help="The tuning slice's languages, e.g. fr (not the ones you report).")],
    out_dir: Annotated[Path, typer.Option("--out", help="The tuning run's folder (pools, predictions).")],
    n: opt.Candidates = 5,
    limit: opt.Limit = 30,
    model: opt.Model = None,
    fusor_model: opt.FusorModel = None,
    api_base: opt.ApiBase = None,
    temperature: opt.Temperature = 0.8,
    max_tokens: opt.MaxTokens = None,
    seed: opt.Seed = 0,
    concurrency: opt.Concurrency = 4,
    data_dir: opt.DataDir = None,
    write: Annotated[
        bool,
        typer.Option(
            "--write",
            help=f"Store the choice as the task's default (in {default_path().name}), or with --generic as the "
            f"default for its kind of answer (in {answer_types_path().name}).",
        ),
    ] = False,
    generic: Annotated[
        bool,
        typer.Option(
            "--generic",
            help="Choose for the policy any signature gets (FusionOfN(..., adaptive=True): consensus on the answer "
            "by kind), not the task's, on the slice's examples of one kind of answer.",
        ),
    ] = False,
    answer_type: Annotated[
        str | None,
        typer.Option(
            help="With --generic: number, exact, short text, text or json (default: the slice's most common)."
        ),
    ] = None,
) -> None:
    """Choose skip_agreement and floor_margin for a task's adaptive fusion on a tuning slice.

    Uses the slice's stored pools and plain fusion's answers (making the missing ones: the plan says how many
    LM calls), then scores every grid point without an LM call. Writes thresholds-<task>.json and .md under
    --out; --write stores the choice as the task's default, with the evidence it was chosen on. --generic
    chooses instead for what a user's own signature gets, per kind of answer (numbers, free text...).

    \b
    Example:
      fusion-dspy thresholds --task math --langs es -n 5 --limit 30 --model local --max-tokens 256 --out runs/tuning
    """
    import datasets

    datasets.disable_progress_bars()
    kind = _answer_kind(answer_type)
    config = EvalConfig(
        task=task, languages=opt.split_list(langs), out_dir=out_dir, n=n, limit=limit, model=model,
        fusor_model=fusor_model, api_base=api_base, temperature=temperature, max_tokens=max_tokens, seed=seed,
        concurrency=concurrency, data_dir=data_dir, methods=list(BASELINES),
    )  # fmt: skip
    with err.status("Loading the data and the model…"):
        evaluation = Evaluation(config)
        todo = plan(evaluation)
    err.print(todo.text(), highlight=False)
    with progress_bar() as progress:
        advance = opt.progress_advancer(progress)
        choice = asyncio.run(choose_thresholds(evaluation, advance, generic=generic, answer_type=kind))
    stem = out_dir / (
        f"thresholds-generic-{choice.answer_type}-{task}".replace(" ", "-") if generic else f"thresholds-{task}"
    )
    write_atomically(stem.with_suffix(".json"), choice.model_dump_json(indent=2) + "\n")
    write_atomically(stem.with_suffix(".md"), choice.markdown())
    out.print(Markdown(choice.markdown()))
    if write:
        chosen = choice.chosen
        slug = evaluation.pool_key(config.languages[0]).slug()
        thresholds = Thresholds(
            skip_agreement=chosen.skip_agreement, floor_margin=chosen.floor_margin, basis=choice.basis(slug)
        )
        if choice.answer_type is not None:
            path = save_answer_thresholds(choice.answer_type, thresholds)
            err.print(f"stored as the default thresholds for {choice.answer_type} answers in {path}")
        else:
            path = save_thresholds(task, thresholds)
            err.print(f"stored as {task}'s default thresholds in {path}")


def _answer_kind(name: str | None) -> AnswerKind | None:
    if name is None:
        return None
    for kind in ANSWER_KINDS:
        if kind == name.replace("-", " "):
            return kind
    raise typer.BadParameter(f"unknown answer type {name!r}; use one of {', '.join(ANSWER_KINDS)}.")
