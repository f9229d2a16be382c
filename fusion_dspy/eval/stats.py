"""Bootstrap confidence intervals and paired win/tie/loss counts."""

from __future__ import annotations

import random
from collections.abc import Sequence

from pydantic import BaseModel

BOOTSTRAP_SAMPLES = 1000


class Estimate(BaseModel):
    """A mean with its 95% bootstrap confidence interval, over `n` examples."""

    mean: float
    low: float
    high: float
    n: int


def _mean(values: Sequence[float]) -> float:
    return sum(values) / len(values) if values else 0.0


def bootstrap(scores: Sequence[float], seed: int = 0, samples: int = BOOTSTRAP_SAMPLES) -> Estimate:
    """Percentile bootstrap (resampling examples with replacement), seeded so reports are reproducible."""
    if not scores:
        return Estimate(mean=0.0, low=0.0, high=0.0, n=0)
    rng = random.Random(seed)
    means = sorted(_mean(rng.choices(scores, k=len(scores))) for _ in range(samples))
    return Estimate(
        mean=_mean(scores), low=means[int(0.025 * samples)], high=means[int(0.975 * samples) - 1], n=len(scores)
    )


def bootstrap_macro(groups: Sequence[Sequence[float]], seed: int = 0, samples: int = BOOTSTRAP_SAMPLES) -> Estimate:
    """The mean of per-group means (each language counts once), resampling within each group."""
    groups = [g for g in groups if g]
    if not groups:
        return Estimate(mean=0.0, low=0.0, high=0.0, n=0)
    rng = random.Random(seed)
    means = sorted(_mean([_mean(rng.choices(g, k=len(g))) for g in groups]) for _ in range(samples))
    return Estimate(
        mean=_mean([_mean(g) for g in groups]),
        low=means[int(0.025 * samples)],
        high=means[int(0.975 * samples) - 1],
        n=sum(len(g) for g in groups),
    )


class WinTieLoss(BaseModel):
    """How often method A scored above, equal to, or below method B on the same example."""

    win: int = 0
    tie: int = 0
    loss: int = 0

    def __add__(self, other: WinTieLoss) -> WinTieLoss:
        return WinTieLoss(win=self.win + other.win, tie=self.tie + other.tie, loss=self.loss + other.loss)

    def __str__(self) -> str:
        return f"{self.win}/{self.tie}/{self.loss}"


def paired(a: Sequence[float], b: Sequence[float], tolerance: float = 1e-9) -> WinTieLoss:
    if len(a) != len(b):
        raise ValueError(f"paired comparison needs aligned scores; got {len(a)} and {len(b)}")
    result = WinTieLoss()
    for x, y in zip(a, b, strict=True):
        if x > y + tolerance:
            result.win += 1
        elif y > x + tolerance:
            result.loss += 1
        else:
            result.tie += 1
    return result
