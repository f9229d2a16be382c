"""The held-out comparison of a tuned fusor with the default one: paired 95% CI, sign test, per-stratum means."""

from __future__ import annotations

from collections.abc import Mapping

from fusion_dspy.eval.paired import paired_difference, sign_test
from fusion_dspy.eval.stats import paired
from fusion_dspy.optimizers.scoring import Scored
from fusion_dspy.optimizers.strata import STRATA, Stratum
from fusion_dspy.registry import HeldOut, StratumScore


def _mean(values: list[float]) -> float:
    return sum(values) / len(values) if values else 0.0


def compare_held_out(before: Scored, after: Scored, strata: Mapping[str, Stratum], seed: int = 0) -> HeldOut:
    """after − before on the examples both scored (same ids), with strata means of each."""
    ids = sorted(i for i in before.scores if i in after.scores)
    pairs = [(a, b) for i in ids if (a := after.scores[i]) is not None and (b := before.scores[i]) is not None]
    kept = [i for i in ids if after.scores[i] is not None and before.scores[i] is not None]
    estimate = paired_difference([a for a, _ in pairs], [b for _, b in pairs], seed=seed)
    record = paired([a for a, _ in pairs], [b for _, b in pairs])
    by_stratum: dict[str, StratumScore] = {}
    for name in STRATA:
        members = [(a, b) for i, (a, b) in zip(kept, pairs, strict=True) if strata.get(i, "unscored") == name]
        if members:
            by_stratum[name] = StratumScore(
                n=len(members), before=_mean([b for _, b in members]), after=_mean([a for a, _ in members])
            )
    return HeldOut(
        n=estimate.n, difference=estimate.mean, low=estimate.low, high=estimate.high, win=record.win,
        tie=record.tie, loss=record.loss, p_sign=sign_test(record.win, record.tie, record.loss), strata=by_stratum,
    )  # fmt: skip
