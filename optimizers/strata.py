"""Pool difficulty strata and the stratified 40/30/30 split (following AggLM, arXiv 2509.06870).

A pool is **easy** when its majority answer is right, **hard** when the majority is wrong but some candidate is
right, **impossible** when no candidate is right. A fusor has to keep a right majority and rescue a right
minority, so every split holds each stratum in proportion and the optimiser's trainset leads with hard pools.
"Right" is the task's own metric (language-checked, no LM for math or translation) at `task.pass_threshold`;
the majority is the answer with the most consensus support (`task.consensus()`: votes for verifiable answers,
symmetric chrF for free text), and a tie at the top counts as right only when every tied answer is right.
"""

from __future__ import annotations

import random
from collections.abc import Mapping, Sequence
from typing import Literal

import dspy

from fusion_dspy._async import run_sync
from fusion_dspy.optimizers.fusor_data import shown_outputs
from fusion_dspy.programs.base import Task

Stratum = Literal["easy", "hard", "impossible", "unscored"]
STRATA: tuple[Stratum, ...] = ("easy", "hard", "impossible", "unscored")
SPLITS = ("train", "val", "test")


async def acandidate_scores(task: Task, example: dspy.Example) -> list[float]:
    """Each shown candidate's score by the task's metric (no LM for reference-scored tasks)."""
    return [await task.ascore(example, outputs) for outputs in shown_outputs(example)]


def stratum_of(task: Task, example: dspy.Example, threshold: float | None = None) -> Stratum:
    """The difficulty of a fusor example's pool; `unscored` for judged tasks (their metric needs an LM). A
    candidate is right at `threshold` (default: `task.pass_threshold`)."""
    outputs = shown_outputs(example)
    if task.needs_baseline or task.metric_lm_calls or not outputs:
        return "unscored"
    scores = run_sync(acandidate_scores(task, example))
    bar = task.pass_threshold if threshold is None else threshold
    right = [score >= bar for score in scores]
    if not any(right):
        return "impossible"
    consensus = task.consensus()
    field = consensus.field_of(task.signature)
    texts = [str(o.get(field, "")) for o in outputs]
    support = [consensus.support(text, texts) for text in texts]
    top = max(support)
    majority_right = all(ok for ok, s in zip(right, support, strict=True) if s >= top - 1e-9)
    return "easy" if majority_right else "hard"


def strata_of(task: Task, examples: Sequence[dspy.Example], threshold: float | None = None) -> dict[str, Stratum]:
    """Example id → stratum."""
    return {example.id: stratum_of(task, example, threshold) for example in examples}


def apportion(total: int, sizes: Mapping[str, int]) -> dict[str, int]:
    """Split `total` units over groups in proportion to `sizes` (largest remainder, never above a group's size)."""
    whole = sum(sizes.values())
    if whole == 0:
        return dict.fromkeys(sizes, 0)
    shares = {key: total * size / whole for key, size in sizes.items()}
    result = {key: min(sizes[key], int(share)) for key, share in shares.items()}
    by_remainder = sorted(sizes, key=lambda key: (-(shares[key] - int(shares[key])), key))
    while sum(result.values()) < min(total, whole):
        for key in by_remainder:
            if result[key] < sizes[key] and sum(result.values()) < total:
                result[key] += 1
    return result


FRACTIONS = (0.4, 0.3)
"""Train and validation shares of a study's pools; the test split has the rest."""


def split_sizes(count: int, fractions: tuple[float, float] = FRACTIONS) -> dict[str, int]:
    """Train / val / test sizes of `count` examples: a plain 40 / 30 / 30 split, at least one in train and val."""
    sizes = {"train": max(1, round(fractions[0] * count)), "val": max(1, round(fractions[1] * count))}
    return {**sizes, "test": count - sizes["train"] - sizes["val"]}


def stratified_ids(
    strata: Mapping[str, Stratum], seed: int = 0, fractions: tuple[float, float] = FRACTIONS
) -> dict[str, list[str]]:
    """Seeded train / val / test ids with every stratum in proportion; the split sizes are those of a plain
    40 / 30 / 30 split (`split_sizes`), so only the membership changes."""
    sizes = split_sizes(len(strata), fractions)
    groups: dict[str, list[str]] = {}
    for example_id in sorted(strata):
        groups.setdefault(strata[example_id], []).append(example_id)
    for name, ids in groups.items():
        random.Random(f"{seed}:{name}").shuffle(ids)
    remaining = {name: len(ids) for name, ids in groups.items()}
    result: dict[str, list[str]] = {}
    for split_name in SPLITS:
        quota = apportion(sizes[split_name], remaining) if split_name != "test" else dict(remaining)
        result[split_name] = []
        for name, ids in groups.items():
            taken = len(ids) - remaining[name]
            result[split_name] += ids[taken : taken + quota[name]]
            remaining[name] -= quota[name]
    return result


def hard_first(examples: Sequence[dspy.Example], strata: Mapping[str, Stratum]) -> list[dspy.Example]:
    """The optimiser's trainset order: hard, easy, hard, easy, … then the rest, impossible pools last.

    BootstrapFewShot (and MIPROv2's unshuffled demo set) tries training examples in order and keeps the first
    that pass, so a hard pool the fusor rescues is the first demo it can keep.
    """
    hard = [e for e in examples if strata.get(e.id) == "hard"]
    easy = [e for e in examples if strata.get(e.id) == "easy"]
    rest = [e for e in examples if strata.get(e.id) not in ("hard", "easy", "impossible")]
    impossible = [e for e in examples if strata.get(e.id) == "impossible"]
    woven = [e for pair in zip(hard, easy, strict=False) for e in pair]
    shorter = min(len(hard), len(easy))
    return woven + hard[shorter:] + easy[shorter:] + rest + impossible


def by_stratum(scores: Mapping[str, float | None], strata: Mapping[str, Stratum]) -> dict[str, list[float | None]]:
    """Per-example scores (id → score) grouped by stratum, in id order."""
    result: dict[str, list[float | None]] = {}
    for example_id in sorted(scores):
        result.setdefault(strata.get(example_id, "unscored"), []).append(scores[example_id])
    return result
