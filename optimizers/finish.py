"""The end of a study: the best trial against the default fusor on the held-out split, the registry entry
(refused when the tuned fusor is worse beyond noise), and the study report."""

from __future__ import annotations

from collections import Counter
from pathlib import Path
from typing import TYPE_CHECKING

import optuna

from fusion_dspy.errors import ConfigurationError
from fusion_dspy.optimizers.heldout import compare_held_out
from fusion_dspy.optimizers.instruction_language import choose_instruction_language
from fusion_dspy.optimizers.reuse import held_out_reuse
from fusion_dspy.optimizers.scoring import Scored
from fusion_dspy.optimizers.study_config import StudyResult
from fusion_dspy.registry import Ablation, FusorRegistry, HeldOut, RegistryEntry, Replication

if TYPE_CHECKING:
    from fusion_dspy.optimizers.study import FusorStudy


def split_strata(runner: FusorStudy) -> dict[str, dict[str, int]]:
    """How many examples of each stratum every split holds."""
    strata = runner.strata()
    return {name: dict(Counter(strata[i] for i in ids)) for name, ids in runner.split_ids().items()}


def report_dir(runner: FusorStudy, registry: FusorRegistry | None, registered: bool) -> Path:
    """Beside the registry entry (`<root>/<task>/<language>-report/`) when one was written, else under --out."""
    c = runner.config
    if registry is not None and registered:
        return registry.root / c.task / f"{c.language}-report"
    return c.out_dir / "reports" / c.study_name


def finish_study(
    runner: FusorStudy, study: optuna.Study, registry: FusorRegistry | None, report: bool = True
) -> StudyResult:
    """ "Before" is what a user gets without tuning: the task's default fusor over the study's full pools (n,
    first temperature), plain fusion; "after" is the best trial's fusor over the pools, k and adaptive thresholds
    it chose. Same test examples, paired."""
    from fusion_dspy.optimizers.study import COMPLETE, adaptive_of, pick_best

    c = runner.config
    best = pick_best(study)
    params = best.params
    data = runner.splits(params["temperature"], params["n"], best.user_attrs.get("k"))
    untuned = runner.splits(c.temperatures[0], c.n)
    if [e.id for e in untuned.test] != [e.id for e in data.test]:
        raise ConfigurationError("the held-out split differs between pools; rerun with the same --limit/--seed.")
    before = runner.score_each(runner.default_fusor(), untuned.test, label="held-out: default fusor", stored=True)
    tuned = runner.fusor(params["chain_of_thought"], params["fusor_model"])
    tuned.fuser.load(str(c.out_dir / "trials" / best.user_attrs["state"]))
    adaptive = adaptive_of(params)
    after = runner.score_each(tuned, data.test, adaptive, "held-out: tuned fusor", stored=True)
    instructions = None
    if c.compares_instruction_languages:
        tuned, after, instructions = choose_instruction_language(
            runner, tuned, data, adaptive, after, params["fusor_model"], trial_val_scores(best)
        )
    held_out = compare_held_out(before, after, runner.strata(), seed=c.seed)
    result = StudyResult(
        best_trial=best.number, best_params=params, val_score=best.user_attrs["val_score"], before=before.mean,
        after=after.mean, splits=data.sizes(), strata=split_strata(runner), held_out=held_out,
        trials_completed=len(study.get_trials(deepcopy=False, states=COMPLETE)), instructions=instructions,
    )  # fmt: skip
    written: RegistryEntry | None = None
    if registry is not None and held_out.worse_beyond_noise:
        result.refused = (
            "not registered: the tuned fusor is worse than the default one beyond noise (held-out difference "
            f"{held_out.summary})"
        )
    elif registry is not None:
        directory = report_dir(runner, registry, registered=True)
        replication, ablation = kept_checks(registry, c.task, c.language, c.study_name, best.number)
        written = RegistryEntry(
            task=c.task, language=c.language, metric=f"{runner.task.description}; 0 in the wrong language",
            before=before.mean, after=after.mean, splits=data.sizes(), optimizer=params["optimizer"],
            n=params["n"], k=best.user_attrs.get("k"), chain_of_thought=params["chain_of_thought"],
            models={"candidates": c.candidate_model(), "fusor": params["fusor_model"]},
            adaptive=adaptive.model_dump(exclude={"basis"}) if adaptive else None, held_out=held_out,
            instructions=instructions,
            study=c.study_name, report=str(directory.relative_to(registry.root) / "README.md") if report else None,
            note=verdict(held_out), held_out_reuse=held_out_reuse(c.storage, c.study_name),
            replication=replication,
            ablation=ablation,
        )  # fmt: skip
        result.registered = registry.save(tuned.fuser, written)
    if report:
        from fusion_dspy.optimizers.report import write_report

        directory = report_dir(runner, registry, registered=result.registered is not None)
        threshold = c.stratum_threshold if c.stratum_threshold is not None else runner.task.pass_threshold
        result.report = write_report(study, result, c, directory, threshold, tuned, written)
    return result


def trial_val_scores(trial: optuna.trial.FrozenTrial) -> Scored | None:
    """The per-example validation scores a trial stored (None for a trial stored before they were kept)."""
    scores = trial.user_attrs.get("val_scores")
    return Scored(scores=scores) if scores is not None else None


def kept_checks(
    registry: FusorRegistry, task: str, language: str, study: str, trial: int
) -> tuple[Replication | None, Ablation | None]:
    """The replication and the ablation of the entry being rewritten, each kept when it checked this same fusor
    (study and trial)."""
    entry = registry.manifest().find(task, language)
    if entry is None or entry.study != study:
        return None, None
    replication, ablation = entry.replication, entry.ablation
    return (
        replication if replication is not None and replication.trial == trial else None,
        ablation if ablation is not None and ablation.trial == trial else None,
    )


def verdict(held_out: HeldOut) -> str:
    """The held-out result in words, for the manifest's note: this study alone (the verdict, which adjusts for
    every study on the split and asks fresh examples, is `fusion-dspy studies`'s, `optimizers.comparison`)."""
    ci = f"paired difference {held_out.summary}"
    if held_out.better_beyond_noise:
        return f"held-out CI above 0 in this study alone ({ci}); the verdict: `fusion-dspy studies`"
    return f"no held-out difference beyond noise ({ci}); route with care"
