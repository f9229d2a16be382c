"""The pools a weight-tuned fusor trains on, kept apart from the pools it is tested on.

A study's own splits train and test on one seeded subset of one language. Weight tuning wants more pools, from
several languages (and GSM8K for math), and must never see a reported item: `--train-from math:de,fr,sw` reads
the stored pools of `fusion-dspy eval --items unreported --pools-only` (items no reported number was measured on,
in any language of a parallel task) and the study's own pools become the test set, whole.
"""

from __future__ import annotations

from pathlib import Path

import dspy
from pydantic import BaseModel, ConfigDict, Field

from fusion_dspy.errors import ConfigurationError
from fusion_dspy.eval import EvalConfig, Evaluation
from fusion_dspy.optimizers.fusor_data import fusor_examples
from fusion_dspy.optimizers.strata import Stratum, strata_of
from fusion_dspy.programs import task_by_name
from fusion_dspy.programs.base import Task


class TrainSource(BaseModel):
    """Some languages of a task whose unreported items train the fusor: all of them, or a seeded `limit` each.
    Written `task:lang,lang[:limit]`, e.g. `math:de,fr,sw` or `gsm8k:en:300`."""

    task: str
    languages: list[str] = Field(min_length=1)
    limit: int | None = Field(default=None, ge=1)

    @classmethod
    def parse(cls, text: str) -> TrainSource:
        parts = [p.strip() for p in text.split(":")]
        if len(parts) not in (2, 3) or (len(parts) == 3 and not parts[2].isdigit()):
            raise ConfigurationError(f"--train-from {text!r}: write TASK:LANG,LANG[:LIMIT], e.g. math:de,fr,sw.")
        languages = [lang.strip() for lang in parts[1].split(",") if lang.strip()]
        return cls(task=parts[0], languages=languages, limit=int(parts[2]) if len(parts) == 3 else None)


class PoolSettings(BaseModel):
    """What identifies the stored pools: the candidate model and its sampling (as `eval` keys them)."""

    model: str | None
    n: int
    temperature: float
    max_tokens: int | None
    seed: int = 0
    data_dir: str | None = None


class TrainingSet(BaseModel):
    """Fusor examples over the training pools, each pool's difficulty, and how many pools each source gave."""

    model_config = ConfigDict(arbitrary_types_allowed=True)

    examples: list[dspy.Example]
    strata: dict[str, Stratum]
    sources: dict[str, int] = Field(description="`task:lang` → pools used.")
    items: dict[str, list[str]] = Field(default_factory=dict, description="Task → the item keys of its pools.")


def eval_command(source: TrainSource, language: str, pools_dir: Path, pools: PoolSettings) -> str:
    """The command that makes one source language's pools."""
    parts = [f"fusion-dspy eval --task {source.task} --langs {language} -n {pools.n} --items unreported",
             f"--model {pools.model}" if pools.model else "", f"--limit {source.limit}" if source.limit else "",
             f"--max-tokens {pools.max_tokens}" if pools.max_tokens else "", f"--temperature {pools.temperature:g}",
             f"--pools-only --out {pools_dir}"]  # fmt: skip
    return " ".join(p for p in parts if p)


def training_set(
    sources: list[TrainSource], pools_dir: Path, pools: PoolSettings, study_task: str, threshold: float | None = None
) -> TrainingSet:
    """The fusor examples of every source's stored unreported pools. Their tasks must share the study task's
    signature (one fusor serves them all); a missing pool is an error naming the command that makes it."""
    signature = task_by_name(study_task).signature
    examples: list[dspy.Example] = []
    strata: dict[str, Stratum] = {}
    counts: dict[str, int] = {}
    items: dict[str, list[str]] = {}
    for source in sources:
        if task_by_name(source.task).signature is not signature:
            raise ConfigurationError(
                f"--train-from {source.task}: its fusor writes other fields than {study_task}'s (train on tasks "
                "that share the study task's signature, e.g. math and gsm8k)."
            )
        for language in source.languages:
            evaluation = Evaluation(EvalConfig(
                task=source.task, languages=[language], out_dir=pools_dir, n=pools.n, limit=source.limit,
                items="unreported", model=pools.model, temperature=pools.temperature, max_tokens=pools.max_tokens,
                seed=pools.seed, scorers=[], data_dir=pools.data_dir,
            ))  # fmt: skip
            task = evaluation.task
            loaded = task.load(language, source.limit, pools.seed)
            stored = evaluation.pools(language)
            missing = [e.id for e in loaded if e.id not in stored]
            if missing:
                raise ConfigurationError(
                    f"{len(missing)} of {len(loaded)} {source.task} {language} training pools are not stored in "
                    f"{pools_dir}; make them with: {eval_command(source, language, pools_dir, pools)}"
                )
            found = fusor_examples(task, loaded, stored, pools.n)
            examples += found
            strata |= strata_of(task, found, threshold)
            counts[f"{source.task}:{language}"] = len(found)
            items.setdefault(source.task, []).extend(task.item_key(e.id, language) for e in found)
    return TrainingSet(examples=examples, strata=strata, sources=counts, items=items)


def refuse_overlap(task: Task, train: list[dspy.Example], test: list[dspy.Example]) -> None:
    """An error when a test item is also a training item (in any language, for a parallel task)."""
    keys = {task.item_key(e.id, e.get("language", "")) for e in train}
    shared = sorted(e.id for e in test if task.item_key(e.id, e.get("language", "")) in keys)
    if shared:
        raise ConfigurationError(f"{len(shared)} test items are also training items (first: {shared[0]}); train on "
                                 "unreported items only (eval --items unreported) or test on other items.")  # fmt: skip
