"""`fusion-dspy eval`: FusionOfN vs BestOfN vs single sample vs oracle on a benchmark, per language."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.markdown import Markdown

from fusion_dspy.cli import options as opt
from fusion_dspy.cli.app import app, err, friendly_errors, out, progress_bar
from fusion_dspy.errors import ConfigurationError
from fusion_dspy.eval import DEFAULT_SCORERS, EvalConfig, Evaluation, make_pools, plan, run_evaluation
from fusion_dspy.eval.config import PLAIN_METHODS, Items


@app.command("eval")
@friendly_errors
def eval_command(
    task: opt.TaskName,
    langs: Annotated[str, typer.Option(help="Comma-separated language codes, e.g. de,ja,zh.")],
    out_dir: Annotated[Path, typer.Option("--out", help="Folder for pools, predictions and the report.")],
    n: opt.Candidates = 5,
    limit: opt.Limit = 50,
    items: Annotated[
        Items,
        typer.Option(
            help="unreported: only items that no reported number was measured on (in any language, for parallel "
            "tasks), for training data; --limit then samples among them."
        ),
    ] = "all",
    model: opt.Model = None,
    fusor_model: opt.FusorModel = None,
    judge_model: Annotated[
        str | None, typer.Option(help="Selection judge for bon:judge and bon:pairwise (default: fusor).")
    ] = None,
    metric_judge_model: Annotated[
        str | None,
        typer.Option(
            help="Judge of the judged metrics (open_ended, summarization); keep it apart from --judge-model "
            "(default: the same, which makes judge-based selection near-oracle; the report says so)."
        ),
    ] = None,
    api_base: opt.ApiBase = None,
    methods: Annotated[
        str | None,
        typer.Option(
            help=f"Rows to compare, comma-separated: {', '.join(PLAIN_METHODS)} and Best-of-N scorers by name "
            f"(majority, mbr, judge, pairwise). Default: single, {', '.join(DEFAULT_SCORERS)}, fusion, adaptive, "
            "oracle (the LLM judges only when asked)."
        ),
    ] = None,
    scorers: Annotated[
        str | None, typer.Option(help="Shorthand: the Best-of-N rows only, keeping the other default rows.")
    ] = None,
    pools_only: Annotated[
        bool, typer.Option("--pools-only", help="Only sample (or resume) the candidate pools; no answers, no report.")
    ] = False,
    dry_run: Annotated[
        bool, typer.Option("--dry-run", help="Print what is missing and roughly how many LM calls it takes; stop.")
    ] = False,
    temperature: opt.Temperature = 0.8,
    max_tokens: opt.MaxTokens = None,
    seed: opt.Seed = 0,
    concurrency: opt.Concurrency = 4,
    data_dir: opt.DataDir = None,
    rescore_only: Annotated[
        bool,
        typer.Option(
            "--rescore-only",
            help="Make no LM call: re-score and re-select what needs none; answers and scores that would need an "
            "LM stay as stored and the report counts them as stale.",
        ),
    ] = False,
) -> None:
    """Compare Fusion-of-N with Best-of-N (each scorer), a single sample and the oracle, on identical candidates.

    Candidate pools are generated once per (task, language, model, n, temperature, seed) and stored under
    --out; every method's answers are stored too, so an interrupted run resumes and a finished one re-reports
    without new LM calls. Before any call it prints what is missing and roughly how many LM calls that takes.
    Writes report.md, report.json and figure.png (per-language bars with 95% CIs).

    \b
    Examples:
      fusion-dspy eval --task translation --langs de,ja,zh -n 5 --limit 50 --out runs/translation
      fusion-dspy eval --task math --langs en -n 5 --limit 40 --out runs/math --pools-only
      fusion-dspy eval --task math --langs en -n 5 --limit 40 --out runs/math --methods single,majority,adaptive
      fusion-dspy eval --task math --langs en,de --items unreported --limit 20 --out runs/train --pools-only
    """
    import datasets

    datasets.disable_progress_bars()
    if methods is not None and scorers is not None:
        raise ConfigurationError("pass --methods (every row) or --scorers (the Best-of-N rows), not both.")
    rows: dict[str, Any] = {"methods": opt.split_list(methods)} if methods is not None else {}
    if scorers is not None:
        rows = {"scorers": opt.split_list(scorers)}
    config = EvalConfig(
        task=task, languages=opt.split_list(langs), out_dir=out_dir, n=n, limit=limit, items=items, model=model,
        fusor_model=fusor_model, judge_model=judge_model, metric_judge_model=metric_judge_model, api_base=api_base,
        temperature=temperature, max_tokens=max_tokens, seed=seed, concurrency=concurrency, data_dir=data_dir,
        rescore_only=rescore_only, **rows,
    )  # fmt: skip
    with err.status("Loading the data and the stores…"):
        evaluation = Evaluation(config)
        todo = plan(evaluation, pools_only=pools_only)
    err.print(todo.text(), highlight=False)
    if dry_run:
        return
    if todo.calls == 0:
        err.print("nothing left to do: every pool and answer is stored; the report is rebuilt from the stores "
                  "(no model started)", highlight=False)  # fmt: skip
    with progress_bar() as progress:
        advance = opt.progress_advancer(progress)
        if pools_only:
            made = asyncio.run(make_pools(config, advance, evaluation))
        else:
            report, paths = asyncio.run(run_evaluation(config, advance, evaluation))
    if pools_only:
        err.print("pools stored: " + ", ".join(f"{lang} {count}" for lang, count in made.items()))
        return
    out.print(Markdown(report.markdown()))
    err.print("wrote " + ", ".join(str(p) for p in paths))
