"""Which fused answers a fine-tuned fusor learns from: those that pass the metric, hard pools balanced with easy.

Following AggLM (arXiv 2509.06870): the signal is a right fused answer, and the pools that teach aggregation are
the hard ones (the majority is wrong, a minority is right); training on them alone makes a fusor that distrusts
majorities, so easy pools (the majority is right) are mixed in. Here every usable hard pool is kept and easy pools
are drawn, seeded, up to `easy_per_hard` per hard pool (default 1.0: a 1:1 mix). Impossible pools (no candidate
right) teach nothing to copy and are left out; unscored pools (judged tasks) count as easy.
"""

from __future__ import annotations

import math
import random
from collections.abc import Mapping, Sequence
from typing import Any, Literal

from pydantic import BaseModel, Field

from fusion_dspy.optimizers.strata import Stratum

Source = Literal["fusor", "pool"]


class FusedSample(BaseModel):
    """One fused answer for one pool: the fusor's own sample (`fusor`), or a right candidate of the pool taken as
    the target where the fusor found no right answer (`pool`, gold-backed: the reference says which one is right)."""

    example_id: str
    outputs: dict[str, Any]
    score: float
    passed: bool
    source: Source = "fusor"
    sample: int = Field(default=0, description="Which of the fusor's samples (rollout) it is; 0 for a pool target.")


class PoolSamples(BaseModel):
    """One pool's samples, as the bootstrap keeps them (a JSONL row per pool: a killed run keeps what it drew)."""

    id: str
    samples: list[FusedSample]


class Selection(BaseModel):
    """The chosen targets and how they were chosen (for the registry entry and the report)."""

    targets: list[FusedSample]
    hard_pools: int
    easy_pools: int
    gold_backed: int = Field(description="Targets taken from a right candidate where no fused sample passed.")
    pools_without_target: int = Field(description="Hard or easy pools with no passing sample and no usable candidate.")
    easy_per_hard: float

    def counts(self) -> dict[str, int]:
        return {"targets": len(self.targets), "hard_pools": self.hard_pools, "easy_pools": self.easy_pools,
                "gold_backed": self.gold_backed, "without_target": self.pools_without_target}  # fmt: skip


EASY_MARGIN = 1.5
"""Easy pools sampled per easy pool the mix needs: some easy pools yield no passing fused answer."""


def worth_sampling(
    ids: Sequence[str], strata: Mapping[str, Stratum], *, easy_per_hard: float = 1.0, seed: int = 0
) -> list[str]:
    """The pools whose fusor samples the mix can use, in `ids`' order: every hard pool, and a seeded share of the
    easy (and unscored) ones, `EASY_MARGIN` × what `select_targets` keeps of them (all of them without a hard
    pool); impossible pools never. Sampling the fusor on pools the mix would drop is most of a bootstrap's cost."""
    hard = [i for i in ids if strata.get(i) == "hard"]
    easy = [i for i in ids if strata.get(i, "unscored") in ("easy", "unscored")]
    if hard:
        easy = random.Random(seed).sample(easy, min(len(easy), math.ceil(EASY_MARGIN * easy_per_hard * len(hard))))
    chosen = set(hard) | set(easy)
    return [i for i in ids if i in chosen]


def passing(samples: Sequence[FusedSample], per_pool: int) -> list[FusedSample]:
    """Up to `per_pool` passing samples of one pool, best score first, identical outputs once."""
    kept: list[FusedSample] = []
    seen: set[str] = set()
    for sample in sorted(samples, key=lambda s: (-s.score, s.source != "fusor", s.sample)):
        key = repr(sorted(sample.outputs.items()))
        if sample.passed and key not in seen:
            seen.add(key)
            kept.append(sample)
        if len(kept) == per_pool:
            break
    return kept


def select_targets(
    samples: Mapping[str, Sequence[FusedSample]],
    strata: Mapping[str, Stratum],
    *,
    easy_per_hard: float = 1.0,
    per_pool: int = 1,
    gold_backed: bool = True,
    seed: int = 0,
) -> Selection:
    """The SFT targets: every hard pool with a passing sample, and easy pools drawn (seeded) up to
    `easy_per_hard` × the hard pools kept (all easy pools when there is no hard one). A pool's own fusor samples
    come first; with `gold_backed`, a pool whose fusor samples all failed uses its right candidate instead."""
    chosen: dict[str, list[FusedSample]] = {}
    missing = 0
    for example_id in sorted(samples):
        stratum = strata.get(example_id, "unscored")
        if stratum == "impossible":
            continue
        pool = list(samples[example_id])
        own = passing([s for s in pool if s.source == "fusor"], per_pool)
        if not own and gold_backed:
            own = passing([s for s in pool if s.source == "pool"], per_pool)
        if own:
            chosen[example_id] = own
        else:
            missing += 1
    hard = [i for i in chosen if strata.get(i) == "hard"]
    easy = [i for i in chosen if strata.get(i) != "hard"]
    random.Random(seed).shuffle(easy)
    if hard:
        easy = easy[: round(easy_per_hard * len(hard))]
    kept = set(hard) | set(easy)
    gold = sum(1 for i in kept if chosen[i][0].source == "pool")
    order = [i for pair in zip(hard, easy, strict=False) for i in pair]
    shorter = min(len(hard), len(easy))
    order += hard[shorter:] + easy[shorter:]
    targets = [sample for i in order for sample in chosen[i]]
    return Selection(
        targets=targets, hard_pools=len(hard), easy_pools=len(easy), gold_backed=gold,
        pools_without_target=missing, easy_per_hard=easy_per_hard,
    )  # fmt: skip
