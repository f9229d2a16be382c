"""`fusion-dspy map`: where fusion pays off — a grid of candidates × fusor × n on stored pools, with cost."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.markdown import Markdown

from fusion_dspy.cli import options as opt
from fusion_dspy.cli.app import app, err, friendly_errors, out, progress_bar
from fusion_dspy.errors import ConfigurationError


@app.command("map")
@friendly_errors
def map_command(
    grids: Annotated[
        list[str],
        typer.Option("--grid", help="TASK:LANG,LANG:LIMIT, repeatable, e.g. math:en,de,fr:40 translation:de:100."),
    ],
    out_dir: Annotated[Path, typer.Option("--out", help="Folder for the map's answers and its report.")],
    candidates: Annotated[
        str, typer.Option(help="Candidate models, comma-separated; a+b is a mixed pool of a and b's samples in turn.")
    ] = "local-small,local,local-small+local",
    fusors: Annotated[
        str,
        typer.Option(
            help="Fusor models, comma-separated; a tuned one as base@adapter.gguf (from optimize --optimizer "
            "finetune): the items it trained on leave every cell."
        ),
    ] = "local-small,local",
    ns: Annotated[str, typer.Option("--ns", help="Pool sizes, comma-separated (each ≤ --pool-n).")] = "3,5",
    reference: Annotated[
        str | None,
        typer.Option(
            help="The model whose single sample on the same items is every cell's reference line "
            "(default: local, the embedded 1.5B model)."
        ),
    ] = None,
    pool_n: Annotated[int, typer.Option(min=1, help="Size of the stored pools; smaller n take their first n.")] = 5,
    pools: Annotated[
        str | None, typer.Option(help="Folders holding stored pools (eval --out), comma-separated; --out too.")
    ] = None,
    dry_run: Annotated[
        bool, typer.Option("--dry-run", help="Print the fusor calls and CPU-hours each cell still needs; stop.")
    ] = False,
    temperature: opt.Temperature = 0.8,
    max_tokens: opt.MaxTokens = 256,
    seed: opt.Seed = 0,
    concurrency: opt.Concurrency = 4,
    data_dir: opt.DataDir = None,
    rescore_only: Annotated[
        bool, typer.Option("--rescore-only", help="Make no LM call: re-report from stored answers.")
    ] = False,
) -> None:
    """Where fusion pays off: for every cell of candidates × fusor × n, the same items answered by a single
    sample, the task's selection (majority vote for math, MBR for translation), plain fusion, adaptive fusion and
    the oracle, with the model time each costs, against a 1.5B single sample as the reference line.

    Pools are never sampled here: they are read from --pools folders (make them with `fusion-dspy eval
    --pools-only`), n below --pool-n takes the first n of the stored pools, and a mixed pool a+b takes a's and
    b's stored samples in turn. Every answer is stored under --out, so a rerun continues where it stopped and a
    finished map re-reports with no LM call. Before any call it prints each cell's missing fusor calls and the
    CPU-hours they take. Writes report.md, report.json and one quality-vs-cost figure per task.

    \b
    Example (the committed map):
      fusion-dspy map --grid math:en,de,fr:40 --grid translation:de:100 --grid translation:es,ja:50 \\
        --pools results/realsize/math,results/realsize/translation,results/realsize/translation-50 --out results/map
    """
    import datasets

    from fusion_dspy.map import MapConfig, MapReport, MapRun, TaskGrid
    from fusion_dspy.map.config import REFERENCE_MODEL

    datasets.disable_progress_bars()
    config = MapConfig(
        tasks=[TaskGrid.parse(text) for text in grids], candidates=opt.split_list(candidates),
        fusors=opt.split_list(fusors), ns=[int(n) for n in opt.split_list(ns)], pool_n=pool_n, out_dir=out_dir,
        pool_folders=[Path(p) for p in opt.split_list(pools or "")], temperature=temperature,
        max_tokens=max_tokens, seed=seed, concurrency=concurrency, data_dir=data_dir, rescore_only=rescore_only,
        reference=reference or REFERENCE_MODEL,
    )  # fmt: skip
    with err.status("Loading the data and the stored pools…"):
        run = MapRun(config)
        plans = run.plan()
        reference_gaps = run.reference.missing()
    hours = sum(p.cpu_hours for p in plans)
    err.print(
        f"Plan: {sum(p.fusor_calls for p in plans)} fusor calls, ~{hours:.1f} CPU-hours on 2 idle cores",
        highlight=False,
    )
    for cell_plan in plans:
        err.print(cell_plan.text(), highlight=False)
    for gap in reference_gaps:
        err.print(f"  reference line: {gap}", highlight=False)
    if dry_run:
        return
    if reference_gaps:  # before any cell runs: the reference is read last, hours of fusor calls later
        raise ConfigurationError(reference_gaps[0])
    missing = [p for p in plans if p.missing_pools]
    if missing:
        raise ConfigurationError(
            f"{len(missing)} cells lack stored pools (first: {missing[0].task} {missing[0].cell.name}); make them "
            "with `fusion-dspy eval --pools-only` (see --dry-run) or leave those candidates out of --candidates."
        )
    if not any(p.fusor_calls for p in plans):
        err.print("nothing left to do: every cell's answers are stored; the report is rebuilt from the stores "
                  "(no model started)", highlight=False)  # fmt: skip
    with progress_bar() as progress:
        results = run.run(opt.progress_advancer(progress))
    report = MapReport.build(config, results)
    paths = report.write(out_dir)
    out.print(Markdown(report.markdown()))
    err.print("wrote " + ", ".join(str(p) for p in paths))
