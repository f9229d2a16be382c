"""Paired comparison of two methods on the same examples: the bootstrap CI of the mean difference, an exact
sign test on wins and losses, a paired permutation (sign-flip) test on the differences, Holm's adjustment for
several such tests, and the difference without its most influential examples. Overlapping per-method CIs can
hide a real difference; the paired CI does not.

    difference = paired_difference(fusion_scores, single_scores, seed=0)  # Estimate: mean, low, high, n
    p = sign_test(win, tie, loss)
    test = permutation_test(differences, seed=0)  # .p, .exact, .method
    test = permutation_test(macro_differences(fusion_by_language, single_by_language))  # of the macro mean
    adjusted = holm([0.01, 0.04, 0.3])  # each p adjusted for the family of tests
    rest = without_top(differences_by_id, k=2)  # .estimate without the 2 largest differences of the effect's sign
    comparison = compare_methods(fusion_by_language, single_by_language, seed=0)  # per language and "all"
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from math import comb

import numpy as np
from pydantic import BaseModel, Field

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


EXACT_UP_TO = 20
"""Most non-zero differences whose 2^m sign flips are all enumerated (about a million sums); above it, drawn."""
PERMUTATION_DRAWS = 200_000
"""Seeded random sign flips above EXACT_UP_TO: the p-value's Monte-Carlo error is then below 0.001 near 0.05."""
_CHUNK = 10_000


class PermutationTest(BaseModel):
    """A two-sided paired permutation test: under "no difference" each paired difference is as likely to have
    either sign, so p is the share of sign flips whose |sum| reaches the observed one."""

    p: float
    nonzero: int = Field(description="Differences that carry a sign (zeros flip to themselves).")
    exact: bool = Field(description="Every one of the 2^nonzero flips counted; else `draws` drawn at random.")
    draws: int = Field(description="Sign assignments counted: 2^nonzero when exact.")
    seed: int | None = Field(default=None, description="The seed of the drawn flips (None when exact).")

    @property
    def method(self) -> str:
        """`exact, 2^20 sign flips` or `Monte-Carlo, 200,000 sign flips, seed 0`: how p was computed."""
        if self.exact:
            return f"exact, 2^{self.nonzero} sign flips"
        return f"Monte-Carlo, {self.draws:,} sign flips, seed {self.seed}"


def permutation_test(
    differences: Sequence[float], seed: int = 0, draws: int = PERMUTATION_DRAWS, exact_up_to: int = EXACT_UP_TO
) -> PermutationTest:
    """Paired sign-flip test of mean difference 0, two-sided. Exact (every sign assignment) for up to
    `exact_up_to` non-zero differences; above, `draws` seeded random assignments with the usual add-one
    correction, p = (1 + hits) / (1 + draws), so a drawn p is never 0."""
    signed = np.array([d for d in differences if d != 0.0], dtype=float)
    m = len(signed)
    if m == 0:
        return PermutationTest(p=1.0, nonzero=0, exact=True, draws=1)
    observed = abs(float(signed.sum()))
    reach = observed - 1e-9 * max(1.0, observed)  # equal sums in float arithmetic count as reaching it
    if m <= exact_up_to:
        sums = np.zeros(1)
        for d in signed:
            sums = np.concatenate([sums + d, sums - d])
        return PermutationTest(p=float(np.count_nonzero(np.abs(sums) >= reach)) / 2**m, nonzero=m, exact=True,
                               draws=2**m)  # fmt: skip
    rng = np.random.default_rng(seed)
    hits = 0
    for start in range(0, draws, _CHUNK):
        signs = rng.integers(0, 2, size=(min(_CHUNK, draws - start), m)) * 2 - 1
        hits += int(np.count_nonzero(np.abs(signs @ signed) >= reach))
    return PermutationTest(p=(1 + hits) / (1 + draws), nonzero=m, exact=False, draws=draws, seed=seed)


def holm(p_values: Sequence[float]) -> list[float]:
    """Holm's step-down adjustment, in the order given: the i-th smallest p times (m − i + 1), never below the
    adjusted p before it, at most 1. Rejecting adjusted p < alpha keeps the chance of any false "better" among
    the m tests at most alpha."""
    m = len(p_values)
    adjusted = [1.0] * m
    running = 0.0
    for rank, i in enumerate(sorted(range(m), key=lambda i: p_values[i])):
        running = max(running, min(1.0, (m - rank) * p_values[i]))
        adjusted[i] = running
    return adjusted


class Influence(BaseModel):
    """The mean difference without the `removed` examples: the k largest differences in the direction of the
    effect (gains for a positive mean, losses for a negative one). A gain that vanishes without them rests on
    one or two examples."""

    removed: dict[str, float] = Field(description="Example key → its difference, largest first.")
    estimate: Estimate


def without_top(
    differences: Mapping[str, float], k: int = 2, seed: int = 0, samples: int = BOOTSTRAP_SAMPLES
) -> Influence:
    """The paired difference with its bootstrap CI after removing the k examples that push hardest in the
    direction of the mean (fewer when fewer differ in that direction)."""
    sign = 1.0 if sum(differences.values()) >= 0 else -1.0
    pushing = sorted((i for i, d in differences.items() if sign * d > 0), key=lambda i: (-sign * differences[i], i))
    removed = {key: differences[key] for key in pushing[:k]}
    rest = [d for key, d in differences.items() if key not in removed]
    return Influence(removed=removed, estimate=bootstrap(rest, seed, samples))


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


def macro_differences(
    a: Mapping[str, Mapping[str, float | None]], b: Mapping[str, Mapping[str, float | None]]
) -> list[float]:
    """Each (language, item) difference of A minus B divided by its language's count of items both scored: their
    sum is the macro mean difference (each language once) times the number of languages, so a sign-flip test of
    them (`permutation_test`) tests the difference `compare_methods` reports for "all", not the item mean, which
    weighs a language with more items more."""
    weighted: list[float] = []
    for language in a:
        pairs = _both_scored(a[language], b.get(language, {}))
        weighted += [(x - y) / len(pairs) for x, y in pairs.values()]
    return weighted


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
