"""A registered fusor against the default one on fresh examples: those of a larger seeded subset that are not
in the study's own (with `Task.load`'s seeded sampling a larger subset usually holds the smaller one, so that is
limit − --limit examples), which no trial trained, validated or was tested on. A held-out result near the edge of
its CI, or one picked among several studies, is checked there."""

from __future__ import annotations

import dspy

from fusion_dspy.errors import ConfigurationError
from fusion_dspy.lm.response_log import response_log
from fusion_dspy.optimizers.heldout import compare_held_out
from fusion_dspy.optimizers.study import FusorStudy, adaptive_of, pick_best
from fusion_dspy.registry import FusorRegistry, RegistryEntry, Replication


def fresh(examples: list[dspy.Example], seen: set[str]) -> list[dspy.Example]:
    return [e for e in examples if e.id not in seen]


def registered_entry(runner: FusorStudy, registry: FusorRegistry, flag: str = "--replicate") -> RegistryEntry:
    """The registry's entry for the study's task and language, which must come from this study."""
    c = runner.config
    entry = registry.manifest().find(c.task, c.language)
    if entry is None or entry.study != c.study_name:
        found = f"its entry comes from study {entry.study}" if entry else "it has no entry for them"
        raise ConfigurationError(
            f"{flag} checks the fusor study {c.study_name} registered for {c.task}/{c.language} in "
            f"{registry.root}, but {found}: pass that study's --registry, or finish the study first."
        )
    return entry


def replicate(runner: FusorStudy, registry: FusorRegistry, limit: int) -> Replication:
    """Score the study's registered fusor and the task's default fusor on the examples between the study's
    --limit and `limit` (sampling their pools if missing), paired; write the result into the registry entry."""
    c = runner.config
    if limit <= c.limit:
        raise ConfigurationError(f"--replicate {limit}: give a --limit above the study's own ({c.limit}).")
    entry = registered_entry(runner, registry)
    best = pick_best(runner.study())
    params = best.params
    larger = FusorStudy(c.model_copy(update={"limit": limit}))
    seen = {i for ids in runner.split_ids().values() for i in ids}
    with response_log(c.responses_path, c.study_name):
        untuned = fresh(larger.examples(c.temperatures[0], c.n), seen)
        data = fresh(larger.examples(params["temperature"], params["n"], entry.k), seen)
        if not untuned:
            raise ConfigurationError(f"--replicate {limit}: the task has no examples beyond the study's {c.limit}.")
        tuned = runner.fusor(entry.chain_of_thought, entry.models["fusor"])
        tuned.fuser.load(str(registry.root / entry.path))
        label = f"replication ({len(untuned)} fresh examples)"
        before = runner.score_each(runner.default_fusor(), untuned, label=f"{label}: default fusor", stored=True)
        after = runner.score_each(tuned, data, adaptive_of(params), f"{label}: registered fusor", stored=True)
    held_out = compare_held_out(before, after, larger.strata(), seed=c.seed)
    result = Replication(limit=limit, trial=best.number, before=before.mean, after=after.mean, held_out=held_out)
    registry.save(tuned.fuser, entry.model_copy(update={"replication": result}))
    return result
