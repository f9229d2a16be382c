"""Seeded latency for the test server: a fixed delay, or a heavy tail like real providers (lognormal)."""

from __future__ import annotations

import math
import random
import threading
from statistics import NormalDist

from pydantic import BaseModel, Field, PrivateAttr, model_validator

_Z99 = NormalDist().inv_cdf(0.99)


class LognormalLatency(BaseModel):
    """Seconds per request drawn from a lognormal with the given median and 99th percentile.

    Real providers are heavy-tailed: most calls near the median, a few 5-10x slower. `p99_s = 10 * median_s`
    is such a tail. Draws are seeded and taken in request order, so a run replays the same sequence.
    """

    median_s: float = Field(gt=0)
    p99_s: float = Field(gt=0)
    seed: int = 0
    _rng: random.Random = PrivateAttr()
    _lock: threading.Lock = PrivateAttr(default_factory=threading.Lock)

    @model_validator(mode="after")
    def _tail_above_median(self) -> LognormalLatency:
        if self.p99_s < self.median_s:
            raise ValueError(f"p99_s ({self.p99_s}) must be ≥ median_s ({self.median_s})")
        self._rng = random.Random(self.seed)
        return self

    @property
    def sigma(self) -> float:
        return math.log(self.p99_s / self.median_s) / _Z99

    def quantile(self, q: float) -> float:
        """The distribution's `q` quantile (e.g. 0.95), for computing expected ratios."""
        return self.median_s * math.exp(self.sigma * NormalDist().inv_cdf(q))

    def draw(self) -> float:
        with self._lock:
            return self._rng.lognormvariate(math.log(self.median_s), self.sigma)
