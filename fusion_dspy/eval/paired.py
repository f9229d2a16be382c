"""Paired comparison of two methods on the same examples: the bootstrap CI of the mean difference and an exact
sign test on wins and losses. Overlapping per-method CIs can hide a real difference; the paired CI does not.

    difference = paired_difference(fusion_scores, single_scores, seed=0)  # Estimate: mean, low, high, n
    p = sign_test(win, tie, loss)
    comparison = compare_methods(fusion_by_language, single_by_language, seed=0)  # per language and "all"
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from math import comb

from pydantic import BaseModel

from fusion_dspy.eval.stats import BOOTSTRAP_SAMPLES, Estimate, WinTieLoss, bootstrap, bootstrap_macro, paired

ALL = "all"
MIN_PAIRS = 10
"""Fewest paired examples for a verdict: below it the bootstrap CI is too rough to call a difference."""


def paired_difference(
    a: Sequence[float | None], b: Sequence[float | None], seed: int = 0, samples: int = BOOTSTRAP_SAMPLES
) -> Estimate:
    """Mean of a − b over the examples both scored (None = unscored), with its 95% paired bootstrap CI."""
    if len(a) != len(b):
        raise ValueError(f"paired comparison needs aligned scores; got {len(a)} and {len(b)}")
    return bootstrap([x - y for x, y in zip(a, b, strict=True) if x is not None and y is not None], seed, samples)


def sign_test(win: int, tie: int = 0, loss: int = 0) -> float:
    """Exact two-sided sign test: the p-value of `win` wins against `loss` losses if both were equally likely.

    Ties carry no sign and are left out (the usual convention); no wins and no losses gives p = 1.
    """
    n = win + loss
    if n == 0:
        return 1.0
    tail = sum(comb(n, k) for k in range(min(win, loss) + 1)) / 2**n
    return min(1.0, 2 * tail)


class Comparison(BaseModel):
    """Method A against method B: mean paired difference (A − B) with its CI, W/T/L, and the sign test's p."""

    difference: Estimate
    record: WinTieLoss
    p_sign: float

    @property
    def verdict(self) -> str:
        """`better` / `worse` when the paired CI excludes 0, else `no difference`; below MIN_PAIRS examples
        `too few to tell` (a percentile bootstrap of 3 negative differences excludes 0 every time)."""
        if self.difference.n < MIN_PAIRS:
            return "too few to tell"
        if self.difference.spans_zero:
            return "no difference"
        return "better" if self.difference.mean > 0 else "worse"


def _both_scored(a: Mapping[str, float | None], b: Mapping[str, float | None]) -> dict[str, tuple[float, float]]:
    return {k: (x, y) for k, x in a.items() if x is not None and (y := b.get(k)) is not None}


def compare_methods(
    a: Mapping[str, Mapping[str, float | None]],
    b: Mapping[str, Mapping[str, float | None]],
    seed: int = 0,
    samples: int = BOOTSTRAP_SAMPLES,
) -> dict[str, Comparison]:
    """A against B per language and over all of them (`"all"`), on the items both scored.

    `a` and `b` map language → item key → score. The `"all"` difference is the macro mean (each language once)
    with items resampled jointly across languages (see `bootstrap_macro`); its W/T/L and sign test pool every
    (item, language) pair.
    """
    result: dict[str, Comparison] = {}
    differences: dict[str, dict[str, float]] = {}
    for language in a:
        pairs = _both_scored(a[language], b.get(language, {}))
        differences[language] = {k: x - y for k, (x, y) in pairs.items()}
        record = paired([x for x, _ in pairs.values()], [y for _, y in pairs.values()])
        result[language] = Comparison(
            difference=bootstrap(list(differences[language].values()), seed, samples),
            record=record,
            p_sign=sign_test(record.win, record.tie, record.loss),
        )
    total = sum((c.record for c in result.values()), WinTieLoss())
    result[ALL] = Comparison(
        difference=bootstrap_macro(differences, seed, samples),
        record=total,
        p_sign=sign_test(total.win, total.tie, total.loss),
    )
    return result
