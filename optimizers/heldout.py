"""The held-out comparison of a tuned fusor with the default one: paired 95% CI, sign test, per-stratum means,
each example's pair of scores, and what those pairs say beyond the CI (`robustness`: a permutation test and the
difference without the two examples that carry most of it)."""

from __future__ import annotations

from collections.abc import Mapping

from pydantic import BaseModel

from fusion_dspy.eval.paired import Influence, PermutationTest, paired_difference, permutation_test, sign_test
from fusion_dspy.eval.paired import without_top as _without_top
from fusion_dspy.eval.stats import paired
from fusion_dspy.optimizers.scoring import Scored
from fusion_dspy.optimizers.strata import STRATA, Stratum
from fusion_dspy.registry import HeldOut, StratumScore

TOP = 2
"""How many of the most influential examples the influence figure leaves out."""


def _mean(values: list[float]) -> float:
    return sum(values) / len(values) if values else 0.0


def compare_held_out(before: Scored, after: Scored, strata: Mapping[str, Stratum], seed: int = 0) -> HeldOut:
    """after − before on the examples both scored (same ids), with strata means of each."""
    ids = sorted(i for i in before.scores if i in after.scores)
    pairs = {i: (b, a) for i in ids if (a := after.scores[i]) is not None and (b := before.scores[i]) is not None}
    return held_out_of(pairs, strata, seed)


def held_out_of(pairs: Mapping[str, tuple[float, float]], strata: Mapping[str, Stratum], seed: int = 0) -> HeldOut:
    """The comparison of example id → (default, tuned) scores."""
    kept = sorted(pairs)
    afters, befores = [pairs[i][1] for i in kept], [pairs[i][0] for i in kept]
    estimate = paired_difference(afters, befores, seed=seed)
    record = paired(afters, befores)
    by_stratum: dict[str, StratumScore] = {}
    for name in STRATA:
        members = [pairs[i] for i in kept if strata.get(i, "unscored") == name]
        if members:
            by_stratum[name] = StratumScore(
                n=len(members), before=_mean([b for b, _ in members]), after=_mean([a for _, a in members])
            )
    return HeldOut(
        n=estimate.n, difference=estimate.mean, low=estimate.low, high=estimate.high, win=record.win,
        tie=record.tie, loss=record.loss, p_sign=sign_test(record.win, record.tie, record.loss), strata=by_stratum,
        pairs={i: pairs[i] for i in kept},
    )  # fmt: skip


class Robustness(BaseModel):
    """A paired comparison beyond its bootstrap CI: the permutation test's p, and the difference without the TOP
    examples that push hardest in its direction."""

    permutation: PermutationTest
    influence: Influence

    @property
    def without_top(self) -> str:
        """`+0.011 [-0.004, +0.029] without 2 examples (+0.450, +0.300)`: the influence figure as a cell."""
        e = self.influence.estimate
        removed = ", ".join(f"{d:+.3f}" for d in self.influence.removed.values())
        count = len(self.influence.removed)
        if not count:
            return "— (no example differs)"
        return f"{e.mean:+.3f} [{e.low:+.3f}, {e.high:+.3f}] without {count} example{'s' * (count != 1)} ({removed})"


def robustness(held_out: HeldOut, seed: int = 0) -> Robustness | None:
    """The permutation test and the influence figure of `held_out` (None: its per-example scores were not kept,
    an entry older than them; `results/optimize/real/paired_scores.py` reads them back from the score store)."""
    if not held_out.pairs:
        return None
    differences = held_out.differences
    return Robustness(
        permutation=permutation_test(list(differences.values()), seed=seed),
        influence=_without_top(differences, k=TOP, seed=seed),
    )
