"""`fusion-dspy optimize`: tune the fusor per task and language (DSPy optimisers inside an Optuna study)."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import optuna
import typer
from rich.table import Table

from fusion_dspy.cli import options as opt
from fusion_dspy.cli.app import app, err, friendly_errors, out, progress_bar
from fusion_dspy.errors import ConfigurationError
from fusion_dspy.registry import FusorRegistry

if TYPE_CHECKING:
    from rich.progress import Progress

    from fusion_dspy.optimizers.finetune_sources import TrainingSet
    from fusion_dspy.optimizers.study import FusorStudy
    from fusion_dspy.optimizers.study_config import StudyConfig


def _print_budget(config: StudyConfig) -> None:
    """Metric calls (= fusor LM calls) the study may spend, from the split sizes --limit implies."""
    from fusion_dspy.optimizers.budget import instruction_language_calls, study_budget, trial_budget

    config.check()
    train, val = max(1, round(0.4 * config.limit)), max(1, round(0.3 * config.limit))
    test = config.limit - train - val
    for name in config.optimizers:
        per_demos = (trial_budget(name, train, val, d, config.optimizer_budget) for d in range(config.max_demos + 1))
        worst = max(per_demos, key=lambda b: b.total)
        out.print(f"{name}: at most {worst.total} metric calls per trial ({worst.compile} compiling, "
                  f"{worst.validation} validating; splits {train}/{val}/{test})")  # fmt: skip
    total = study_budget(config.optimizers, config.trials, train, val, test, config.max_demos, config.optimizer_budget)
    extra = ""
    if config.compares_instruction_languages:
        translating = instruction_language_calls(val, test)
        total += translating
        extra = f" (incl. {translating} for the {config.language} instructions; --english-only skips them)"
    out.print(f"{config.study_name}: at most {total} metric calls for {config.trials} trials and the held-out "
              f"test{extra}")  # fmt: skip


def _bars(progress: Progress) -> Callable[[str, int, int], Callable[[], None]]:
    """A study's `progress`: a bar for each scoring step (examples read back from the score store shown as done,
    not counted in its time to go); the callable it returns advances the bar by one example."""

    def bar(label: str, total: int, done: int) -> Callable[[], None]:
        task_id = progress.add_task(label, total=total, completed=done)
        return lambda: progress.advance(task_id)

    return bar


@app.command("optimize")
@friendly_errors
def optimize_command(
    task: opt.TaskName,
    lang: Annotated[str, typer.Option(help="Language code, e.g. de.")],
    optimizer: Annotated[
        str,
        typer.Option(
            help="bootstrap, mipro, gepa; comma-separated to let the study choose. Or finetune alone: a LoRA on the "
            "fusor's own weights (needs the \\[train] extra; CPU budget below)."
        ),
    ] = "bootstrap",
    trials: Annotated[
        int, typer.Option(min=1, help="Trials in the study; rerunning continues up to this number.")
    ] = 20,
    storage: Annotated[str, typer.Option(help="Optuna storage (SQLAlchemy URL).")] = "sqlite:///studies.db",
    model: opt.Model = None,
    fusor_models: Annotated[str | None, typer.Option(help="Fusor models to choose from (default: --model).")] = None,
    api_base: opt.ApiBase = None,
    n: Annotated[int, typer.Option("-n", "--n", min=1, help="Candidates per stored pool; trials use 2..n.")] = 5,
    limit: Annotated[int, typer.Option(min=3, help="Examples split 40/30/30 into train/val/test.")] = 30,
    temperatures: Annotated[str, typer.Option(help="Sampling temperatures to choose from.")] = "0.8",
    cot: Annotated[str, typer.Option(help="Chain of thought in the fusor: both, on, off.")] = "both",
    max_demos: Annotated[int, typer.Option(min=0, help="Most few-shot demos a trial may use.")] = 2,
    first_k: Annotated[
        bool, typer.Option("--first-k", help="Also tune k: fuse only the k earliest answers of each pool.")
    ] = False,
    adaptive: Annotated[
        bool, typer.Option("--adaptive", help="Also tune adaptive fusion (skip_agreement, floor_margin).")
    ] = False,
    objectives: Annotated[
        str, typer.Option(help="score; or score,tokens: a Pareto front of validation score and fusor tokens.")
    ] = "score",
    stratum_threshold: Annotated[
        float | None, typer.Option(help="Score at which a candidate counts as right for the strata (default: task's).")
    ] = None,
    optimizer_budget: Annotated[
        int | None,
        typer.Option(min=1, help="Metric calls mipro/gepa may spend compiling per trial (default: light)."),
    ] = None,
    reflection_model: Annotated[
        str | None, typer.Option(help="Proposes instructions for mipro and gepa (default: the fusor model).")
    ] = None,
    english_only: Annotated[
        bool,
        typer.Option(
            "--english-only",
            help="Do not try the best fusor with its instructions translated into --lang (by --reflection-model; "
            "by default a non-English study keeps whichever scores better on validation and reports both).",
        ),
    ] = False,
    no_response_log: Annotated[
        bool,
        typer.Option(
            "--no-response-log",
            help="Do not keep the study's LM responses in <out>/responses.jsonl (kept by default: a study cut by "
            "the end of a session, or rerun on another machine, replays its finished calls from there).",
        ),
    ] = False,
    cost_penalty: Annotated[float, typer.Option(min=0.0, help="Objective penalty per 1,000 tokens per example.")] = 0.0,
    max_tokens: opt.MaxTokens = None,
    fusor_max_tokens: Annotated[
        int | None,
        typer.Option(
            min=1,
            help="The fusor's token limit, if above --max-tokens (a chain of thought over N candidates needs more "
            "than one candidate); the default fusor it is tested against gets it too.",
        ),
    ] = None,
    seed: opt.Seed = 0,
    data_dir: opt.DataDir = None,
    out_dir: Annotated[
        Path, typer.Option("--out", help="Per-trial fusor states and reports (and pools, unless --pools).")
    ] = Path("runs/optimize"),
    pools_dir: Annotated[
        Path | None, typer.Option("--pools", help="Stored candidate pools: an `eval --out` folder (default: --out).")
    ] = None,
    registry: Annotated[
        Path | None, typer.Option(help="Register the best fusor here (default: the package's).")
    ] = None,
    no_register: Annotated[bool, typer.Option("--no-register", help="Do not write the registry.")] = False,
    replicate: Annotated[
        int | None,
        typer.Option(
            min=1,
            help="Then compare the registered fusor with the default one again on the examples a larger --limit "
            "adds (fresh: no trial saw them; their pools are sampled if missing), and record it in the entry.",
        ),
    ] = None,
    ablate: Annotated[
        bool,
        typer.Option(
            "--ablate",
            help="Then score the registered fusor's instructions without its demos, and the default instructions "
            "with its demos, on the held-out split against the default fusor (which half carries the gain), and "
            "record it in the entry.",
        ),
    ] = False,
    budget: Annotated[
        bool, typer.Option("--budget", help="Print the study's metric-call budget (upper bound) and stop.")
    ] = False,
    train_steps: Annotated[int, typer.Option(min=1, help="finetune: LoRA optimiser steps.")] = 100,
    train_samples: Annotated[int, typer.Option(min=1, help="finetune: fusor samples drawn per training pool.")] = 4,
    easy_per_hard: Annotated[
        float, typer.Option(min=0.0, help="finetune: easy pools per hard pool in the training mix (AggLM's balance).")
    ] = 1.0,
    train_tokens: Annotated[
        int,
        typer.Option(
            min=64,
            help="finetune: longest training example in tokens (longer ones are left out, and counted: a math "
            "fusor example over five 0.5B chains of thought runs ~900-1,100 tokens).",
        ),
    ] = 2048,
    train_base: Annotated[
        str | None,
        typer.Option(help="finetune: the GGUF file (or embedded model) trained and served (default: the fusor's)."),
    ] = None,
    train_from: Annotated[
        list[str] | None,
        typer.Option(
            "--train-from",
            help="finetune: train on these TASK:LANG,LANG[:LIMIT] pools of unreported items instead (repeatable, "
            "e.g. math:de,fr,sw and gsm8k:en:300; made by `eval --items unreported --pools-only --out "
            "<--train-pools>`); the study's own pools are then the test set, whole.",
        ),
    ] = None,
    train_pools: Annotated[
        Path | None, typer.Option(help="finetune: the folder holding the --train-from pools (default: --pools).")
    ] = None,
) -> None:
    """Tune the fusor for one task and language, and register the best one.

    Each trial picks n, temperature, chain of thought, demos, optimiser and fusor model, compiles the fusor
    alone on stored candidate pools (one program call = one LM call) and scores it on the validation split
    with the language-aware metric. Splits are stratified by pool difficulty (easy / hard / impossible).
    `--objectives score,tokens` makes the study multi-objective (a Pareto front of score and fusor tokens);
    `--adaptive` adds adaptive fusion's thresholds to the search. The study lives in --storage, named by
    everything that defines it (task, language, limit, seed, models, n, the search space): rerun the same
    command to continue it, and browse it with `optuna-dashboard <storage>`. The best fusor is tested against
    the task's default fusor on the held-out split (paired 95% CI) and saved to the registry with its scores,
    unless it is worse beyond noise; a study report (markdown + figures) is written beside the entry.
    `--replicate 150` then checks the registered fusor on the examples 101–150 of a --limit 100 study;
    `--ablate` tells whether its instructions or its demos carry its held-out gain.

    `--optimizer finetune` tunes the fusor's weights instead (needs `pip install -e '.\\[train]'`): it samples the
    default fusor --train-samples times per train+val pool, keeps the answers that pass the metric (hard pools
    balanced 1:1 with easy ones by default), trains a LoRA on the fusor's embedded GGUF read into transformers and
    serves it beside the quantised base model; the adapter is registered with the fusor. CPU budget on 2 cores
    under load (0.5B fusor): 80-88 s to read the model, 27-55 s per LoRA step on a 512-token example, so about
    0.75-1.5 CPU-hours per 100 steps at 512 tokens and twice that at 1,024 (a math fusor example over five 0.5B
    samples: 67-69 s a step, `benchmarks/lora_step.py`); use `local-small` as the fusor model.
    A killed run continues from its checkpoint (rerun the same command). `--budget` prints the estimate.

    \b
    Example:
      fusion-dspy optimize --task math --lang de --optimizer mipro --trials 20 --storage sqlite:///studies.db
    """
    from fusion_dspy.optimizers import FusorStudy, StudyConfig
    from fusion_dspy.optimizers.study_config import FINETUNE, params_text

    optuna.logging.set_verbosity(optuna.logging.WARNING)
    choices = {"both": [False, True], "on": [True], "off": [False]}
    if cot not in choices:
        raise typer.BadParameter("use both, on or off", param_hint="--cot")
    config = StudyConfig(
        task=task, language=lang, out_dir=out_dir, storage=storage, trials=trials, model=model, api_base=api_base,
        max_tokens=max_tokens, fusor_max_tokens=fusor_max_tokens, n=n, limit=limit,
        temperatures=[float(t) for t in opt.split_list(temperatures)],
        optimizers=opt.split_list(optimizer), fusor_models=opt.split_list(fusor_models or ""),
        chain_of_thought=choices[cot], max_demos=max_demos, cost_penalty=cost_penalty, seed=seed, first_k=first_k,
        data_dir=data_dir,
        adaptive=adaptive, objectives=opt.split_list(objectives), reflection_model=reflection_model,
        stratum_threshold=stratum_threshold, pools_dir=pools_dir, optimizer_budget=optimizer_budget,
        translate_instructions=not english_only, log_responses=not no_response_log,
    )  # fmt: skip
    config.check()
    finetune = config.optimizers == [FINETUNE]
    knobs = (train_steps, train_samples, easy_per_hard, train_tokens)
    sources = (train_from or [], train_pools or pools_dir or out_dir)
    if budget:
        _print_finetune_budget(config, knobs, sources) if finetune else _print_budget(config)
        return
    study_runner = FusorStudy(config)
    if finetune:
        _finetune(study_runner, None if no_register else FusorRegistry(registry), knobs, train_base, sources)
        return
    existing = study_runner.study()
    finished = len(existing.get_trials(states=(optuna.trial.TrialState.COMPLETE,)))
    if finished >= trials:
        err.print(f"nothing left to do: all {trials} trials of {config.study_name} are done; the result is rebuilt "
                  "from the stored scores (the model starts only for a held-out answer not stored yet)")  # fmt: skip
    elif finished:
        err.print(f"continuing study {config.study_name}: {finished} of {trials} trials already done")
    with progress_bar() as progress:
        bar = progress.add_task("trials", total=trials, completed=finished)

        study_runner.progress = _bars(progress)
        study = study_runner.run(on_trial=lambda study, trial: progress.advance(bar), study=existing)
        result = study_runner.finish(study, None if no_register else FusorRegistry(registry))
    table = Table(title=f"{config.study_name} ({config.storage})")
    for column in ["trial", "state", "objective", "val", "tokens/ex", "params"]:
        table.add_column(column)
    for trial in study.trials:
        attrs = trial.user_attrs
        table.add_row(
            str(trial.number), trial.state.name, f"{trial.values[0]:.3f}" if trial.values else "-",
            f"{attrs.get('val_score', float('nan')):.3f}", f"{attrs.get('tokens_per_example', 0):.0f}",
            params_text(trial.params),
        )  # fmt: skip
    out.print(table)
    held = result.held_out
    ci = f", paired difference {held.summary}" if held else ""
    out.print(
        f"best trial {result.best_trial}: val {result.val_score:.3f}; held-out test {result.before:.3f} (default fusor)"
        f" → {result.after:.3f} (tuned){ci}; splits {result.splits}"
        + (f"; registered {result.registered}" if result.registered else "")
    )
    if result.refused:
        err.print(result.refused)
    if result.report:
        out.print(f"study report: {result.report}")
    if replicate is not None:
        _replicate(study_runner, FusorRegistry(registry), replicate)
    if ablate:
        _ablate(study_runner, FusorRegistry(registry))
    if (replicate is not None or ablate) and result.report:
        study_runner.progress = None
        report = study_runner.finish(study, FusorRegistry(registry)).report  # again, now with the checks
        out.print(f"study report with the checks: {report}")


def _print_finetune_budget(
    config: StudyConfig, knobs: tuple[int, int, float, int], sources: tuple[list[str], Path]
) -> None:
    """The LoRA steps' CPU-hours and, with --train-from, the fusor samples' (read from the stored pools, no model)."""
    from fusion_dspy.map.cost import fusor_call_seconds
    from fusion_dspy.optimizers.finetune import cpu_hours
    from fusion_dspy.optimizers.finetune_data import worth_sampling
    from fusion_dspy.optimizers.strata import split_sizes

    steps, samples, easy_per_hard, tokens = knobs
    low, high = cpu_hours(steps, tokens)
    out.print(f"finetune: {steps} LoRA steps on examples of up to {tokens} tokens: at most {low:.1f}-{high:.1f} "
              "CPU-hours for the 0.5B fusor on 2 cores (27-55 s per 512-token step, measured under load; a math "
              "example over five 0.5B samples is ~1,000 tokens), plus reading the model (~90 s)")  # fmt: skip
    fusor = config.default_fusor_model()
    each = fusor_call_seconds(config.task, fusor)
    tested = config.limit if sources[0] else split_sizes(config.limit)["test"]
    out.print(f"held-out test: up to {tested} pools ({'all the study' if sources[0] else 'the test split'}'s): a call "
              f"of the tuned fusor each, and of the default fusor where no stored score has it: at most {2 * tested} "
              f"calls, ~{2 * tested * each / 3600:.1f} CPU-hours on 2 idle cores")  # fmt: skip
    if not sources[0]:
        out.print(f"fusor samples: {samples} per pool worth sampling of the study's train and val splits, ~{each:.0f} "
                  f"s each for {fusor} on 2 idle cores")  # fmt: skip
        return
    try:
        training = _training_set(config, sources)
    except ConfigurationError as exc:
        out.print(f"fusor samples: not counted yet: {exc}")
        return
    ids = [e.id for e in training.examples]
    wanted = worth_sampling(ids, training.strata, easy_per_hard=easy_per_hard, seed=config.seed)
    hard = sum(training.strata.get(i) == "hard" for i in wanted)
    calls = len(wanted) * samples
    out.print(f"fusor samples: {len(wanted)} of {len(ids)} training pools are worth sampling ({hard} hard), {samples} "
              f"samples each: {calls} calls of {fusor}, at most ~{calls * each / 3600:.1f} CPU-hours on 2 idle cores "
              "(a pool's samples share the server's slots, so usually less)")  # fmt: skip


def _training_set(config: StudyConfig, sources: tuple[list[str], Path]) -> TrainingSet:
    """The --train-from pools, read with the study's candidate settings (no model)."""
    from fusion_dspy.optimizers.finetune_sources import PoolSettings, TrainSource, training_set

    pools = PoolSettings(model=config.model, n=config.n, temperature=config.temperatures[0],
                         max_tokens=config.max_tokens, seed=config.seed, data_dir=config.data_dir)  # fmt: skip
    specs = [TrainSource.parse(text) for text in sources[0]]
    return training_set(specs, sources[1], pools, config.task, config.stratum_threshold)


def _finetune(
    study_runner: FusorStudy,
    registry: FusorRegistry | None,
    knobs: tuple[int, int, float, int],
    base: str | None,
    sources: tuple[list[str], Path],
) -> None:
    """Tune the fusor's weights on the study's pools, or on `sources` (--train-from specs, their pools' folder);
    `knobs`: steps, samples per pool, easy per hard, tokens."""
    from fusion_dspy.optimizers.finetune import FinetuneSettings
    from fusion_dspy.optimizers.finetune_study import run_finetune
    from fusion_dspy.optimizers.lora_train import LoraSettings

    config = study_runner.config
    training = None
    if sources[0]:
        with err.status("Reading the training pools…"):
            training = _training_set(config, sources)
        err.print("training pools: " + ", ".join(f"{k} {v}" for k, v in training.sources.items()), highlight=False)
    steps, samples, easy_per_hard, tokens = knobs
    settings = FinetuneSettings(samples=samples, easy_per_hard=easy_per_hard, threads=config.threads, seed=config.seed,
                                lora=LoraSettings(steps=steps, max_tokens=tokens, seed=config.seed))  # fmt: skip
    with progress_bar() as progress:
        outcome = run_finetune(study_runner, settings, registry, _bars(progress), base, training)
    t = outcome.training
    out.print(
        f"finetune: {t.examples} training examples ({t.selection}; {t.too_long} too long), {t.train.step} steps in "
        f"{t.train.seconds / 3600:.2f} h; adapter {t.adapter} (sha256 {t.adapter_sha256[:12]})"
        + (f"; made in {t.cost.cpu_hours:.2f} CPU-hours (fusor samples and training, all runs)" if t.cost else "")
    )
    registered = f"; registered {outcome.registered}" if outcome.registered else ""
    versus = outcome.vs_selection
    out.print(
        f"held-out test {outcome.before:.3f} (default fusor) → {outcome.after:.3f} (tuned), paired difference "
        f"{outcome.held_out.summary}; against {study_runner.task.selection} on the same pools "
        f"({outcome.selection:.3f}): {versus.summary}{registered}"
    )
    if outcome.refused:
        err.print(outcome.refused)


def _ablate(study_runner: FusorStudy, registry: FusorRegistry) -> None:
    from fusion_dspy.optimizers.ablation import ablate

    with progress_bar() as progress:
        study_runner.progress = _bars(progress)
        result = ablate(study_runner, registry)
    for name, arm in [("instructions only", result.instructions_only), ("demos only", result.demos_only)]:
        out.print(f"ablation, {name}: held-out {arm.after:.3f}, against the default fusor {arm.held_out.summary}")
    out.print(f"recorded in {registry.root / 'manifest.json'}")


def _replicate(study_runner: FusorStudy, registry: FusorRegistry, limit: int) -> None:
    from fusion_dspy.optimizers.replication import replicate

    with progress_bar() as progress:
        study_runner.progress = _bars(progress)
        result = replicate(study_runner, registry, limit)
    out.print(
        f"replication on {result.held_out.n} fresh examples (--limit {study_runner.config.limit} → {limit}): default "
        f"fusor {result.before:.3f} → registered {result.after:.3f}, paired difference {result.held_out.summary}; "
        f"recorded in {registry.root / 'manifest.json'}"
    )
