"""`fusion-dspy optimize --optimizer finetune`: the fusor's weights tuned on stored pools, tested on held-out ones
against the default fusor, and registered with its adapter.

By default it reuses the study's data (the same stored pools, stratified 40/30/30 splits and score store as the
prompt optimisers), trains on the train and validation splits together (nothing is chosen on validation), and pairs
the tuned fusor with the task's default fusor on the test split. With `--train-from` it trains on other items'
pools (`finetune_sources`: unreported items, several languages) and tests on all of the study's pools.
"""

from __future__ import annotations

from pathlib import Path

from pydantic import BaseModel, Field

from fusion_dspy._async import run_sync
from fusion_dspy.lm.adapter_items import write_trained_items
from fusion_dspy.optimizers.finetune import ADAPTER_FILE, FinetuneFusor, FinetuneResult, FinetuneSettings, Progress
from fusion_dspy.optimizers.finetune_sources import TrainingSet, refuse_overlap
from fusion_dspy.optimizers.finish import verdict
from fusion_dspy.optimizers.heldout import compare_held_out
from fusion_dspy.optimizers.selection_baseline import ascore_selection
from fusion_dspy.optimizers.study import FusorStudy
from fusion_dspy.registry import AdapterRecord, FusorRegistry, HeldOut, RegistryEntry


class FinetuneOutcome(BaseModel):
    """The held-out comparison and where the tuned fusor went."""

    before: float
    after: float
    held_out: HeldOut
    selection: float = Field(description="Held-out test score of the task's selection (majority vote or MBR).")
    vs_selection: HeldOut = Field(description="The tuned fusor against the task's selection on the same pools.")
    training: FinetuneResult
    registered: str | None = None
    refused: str | None = None


def run_finetune(
    runner: FusorStudy,
    settings: FinetuneSettings,
    registry: FusorRegistry | None,
    progress: Progress | None = None,
    base_model: str | Path | None = None,
    training: TrainingSet | None = None,
) -> FinetuneOutcome:
    """Train the study's default fusor on its train + validation pools, score it on the test split beside the
    default fusor (paired), and register it with its adapter unless it is worse beyond noise. `base_model`: the
    GGUF (or embedded model) trained and served (default: the fusor's embedded model). `training`: pools of other
    items to train on (`finetune_sources`); the study's pools are then the test set, whole."""
    c = runner.config
    strata = runner.strata()
    if training is None:
        data = runner.splits(c.temperatures[0], c.n)
        trainset, test = data.train + data.val, data.test
    else:
        trainset, test = training.examples, runner.examples(c.temperatures[0], c.n)
        refuse_overlap(runner.task, trainset, test)
        strata = {**training.strata, **strata}
    offered = training.items if training else {c.task: [runner.task.item_key(e.id, e.language) for e in trainset]}
    student = runner.default_fusor()
    threshold = c.stratum_threshold if c.stratum_threshold is not None else runner.task.pass_threshold
    out_dir = c.out_dir / "finetune" / c.study_name
    optimizer = FinetuneFusor(runner.task.metric, out_dir=out_dir, base_model=base_model, settings=settings,
                              progress=progress)  # fmt: skip
    write_trained_items(out_dir / ADAPTER_FILE, offered)  # beside the adapter: its evaluations leave these items out
    tuned = optimizer.compile(student, trainset, strata, threshold)
    assert optimizer.result is not None
    trained = optimizer.result
    runner.progress = progress
    before = runner.score_each(student, test, label="held-out: default fusor", stored=True)
    # stored too: the tuned fusor's LM name carries its adapter's digest, so a resumed run (a session cut off
    # during this test) reads back what it scored, and an adapter trained again is scored anew
    after = runner.score_each(tuned, test, label="held-out: tuned fusor", stored=True)
    held_out = compare_held_out(before, after, strata, seed=c.seed)
    selection = run_sync(ascore_selection(runner.task, test, seed=c.seed))  # no LM: majority vote or MBR
    vs_selection = compare_held_out(selection, after, strata, seed=c.seed)
    outcome = FinetuneOutcome(before=before.mean, after=after.mean, held_out=held_out, selection=selection.mean,
                              vs_selection=vs_selection, training=trained)  # fmt: skip
    if registry is None:
        return outcome
    if held_out.worse_beyond_noise:
        outcome.refused = f"not registered: the tuned fusor is worse than the default one ({held_out.summary})"
        return outcome
    record = AdapterRecord(
        file="", sha256=trained.adapter_sha256, base_model=trained.base_model, steps=trained.train.step,
        examples=trained.examples, selection=trained.selection, train_seconds=trained.train.seconds,
    )  # fmt: skip
    entry = RegistryEntry(
        task=c.task, language=c.language, metric=f"{runner.task.description}; 0 in the wrong language",
        before=before.mean, after=after.mean, optimizer="finetune", n=c.n,
        splits={"train": len(trainset), "val": 0, "test": len(test)},
        chain_of_thought=runner.task.chain_of_thought, held_out=held_out, vs_selection=vs_selection, adapter=record,
        study=c.study_name,
        models={"candidates": c.candidate_model(), "fusor": f"{trained.base_model} + LoRA"}, note=verdict(held_out),
    )  # fmt: skip
    outcome.registered = str(registry.save(tuned.fuser, entry, adapter=trained.adapter))
    return outcome
