"""Which half of a registered fusor carries its gain: its instructions or its demos.

A compiled fusor differs from the default one in two ways at once. `ablate` scores two halves on the study's
held-out split, each paired with the default fusor's stored scores there: the registered instructions with no
demos, and the default instructions with the registered demos. Both halves keep the registered fusor's other
settings (chain of thought, n, k, adaptive thresholds): only instructions and demos are taken apart. A half that
equals a program already scored (e.g. "instructions only" of a fusor that has no demos) is read back from the
score store, not scored again.
"""

from __future__ import annotations

from fusion_dspy.lm.response_log import response_log
from fusion_dspy.optimizers.fusor_only import FusorOnly
from fusion_dspy.optimizers.heldout import compare_held_out
from fusion_dspy.optimizers.replication import registered_entry
from fusion_dspy.optimizers.study import FusorStudy, adaptive_of, pick_best
from fusion_dspy.registry import Ablation, AblationArm, FusorRegistry


def instructions_only(program: FusorOnly) -> None:
    """Drop every predictor's demos, keeping its instructions."""
    for _, predictor in program.named_predictors():
        predictor.demos = []


def demos_from(program: FusorOnly, source: FusorOnly) -> None:
    """Give `program`'s predictors the demos of `source`'s (same structure), keeping their own instructions."""
    demos = {name: predictor.demos for name, predictor in source.named_predictors()}
    for name, predictor in program.named_predictors():
        predictor.demos = list(demos[name])


def ablate(runner: FusorStudy, registry: FusorRegistry) -> Ablation:
    """Score both halves of the study's registered fusor on the held-out split against the default fusor, and
    write the result into the registry entry."""
    c = runner.config
    entry = registered_entry(runner, registry, flag="--ablate")
    best = pick_best(runner.study())
    params = best.params
    adaptive = adaptive_of(params)
    data = runner.splits(params["temperature"], params["n"], entry.k).test
    untuned = runner.splits(c.temperatures[0], c.n).test
    model = entry.models["fusor"]
    registered = runner.fusor(entry.chain_of_thought, model)
    registered.fuser.load(str(registry.root / entry.path))
    told = registered.deepcopy()
    instructions_only(told)
    shown = runner.fusor(entry.chain_of_thought, model)
    demos_from(shown, registered)
    with response_log(c.responses_path, c.study_name):
        before = runner.score_each(runner.default_fusor(), untuned, label="held-out: default fusor", stored=True)
        arms = {
            name: runner.score_each(program, data, adaptive, f"ablation: {label}", stored=True)
            for name, program, label in [
                ("instructions_only", told, "registered instructions, no demos"),
                ("demos_only", shown, "default instructions, registered demos"),
            ]
        }
    strata = runner.strata()
    result = Ablation(
        trial=best.number,
        demos=sum(len(p.demos) for _, p in registered.named_predictors()),
        **{
            name: AblationArm(after=scored.mean, held_out=compare_held_out(before, scored, strata, seed=c.seed))
            for name, scored in arms.items()
        },
    )
    registry.save(registered.fuser, entry.model_copy(update={"ablation": result}))
    return result
