import random

import pytest

from fusion_dspy.eval.paired import (
    compare_methods,
    holm,
    macro_differences,
    paired_difference,
    permutation_test,
    sign_test,
    without_top,
)
from fusion_dspy.eval.stats import WinTieLoss, bootstrap, bootstrap_macro, paired


def test_bootstrap_is_seeded_and_brackets_the_mean():
    scores = [0, 1, 1, 0, 1, 1, 1, 0, 1, 1]
    a, b = bootstrap(scores, seed=3), bootstrap(scores, seed=3)
    assert a == b
    assert a.low <= a.mean <= a.high and a.n == 10 and a.mean == 0.7
    assert bootstrap([1, 1, 1]).low == bootstrap([1, 1, 1]).high == 1.0
    assert bootstrap([]).n == 0


def test_macro_mean_weights_languages_equally():
    estimate = bootstrap_macro({"de": {str(i): 1.0 for i in range(10)}, "ja": {"x": 0.0, "y": 0.0}})
    assert estimate.mean == 0.5 and estimate.n == 12


def test_macro_ci_resamples_items_jointly_across_languages():
    rng = random.Random(0)
    item = {str(i): float(rng.random() < 0.5) for i in range(60)}
    parallel = {lang: dict(item) for lang in ("de", "en", "fr", "ja")}  # the same item scores alike everywhere
    joint = bootstrap_macro(parallel)
    alone = bootstrap_macro({"de": item})
    assert (joint.low, joint.high) == pytest.approx((alone.low, alone.high))  # four copies carry no more evidence
    independent = bootstrap_macro({lang: {f"{lang}-{k}": v for k, v in item.items()} for lang in parallel})
    assert (joint.high - joint.low) > 1.6 * (independent.high - independent.low)


def test_paired_difference_sees_what_overlapping_cis_hide():
    rng = random.Random(1)
    b = [rng.random() for _ in range(50)]
    a = [x + 0.02 if i < 45 else x for i, x in enumerate(b)]  # +0.02 on 45 of 50 examples
    ci_a, ci_b = bootstrap(a), bootstrap(b)
    assert ci_a.low < ci_b.high  # the per-method CIs overlap …
    difference = paired_difference(a, b)
    assert difference.low > 0.01 and difference.high < 0.02 and difference.n == 50  # … the paired CI does not
    assert not difference.spans_zero
    assert paired_difference([1.0, None, 0.0], [0.0, 1.0, None]).n == 1  # unscored examples drop out
    with pytest.raises(ValueError, match="aligned"):
        paired_difference([1.0], [1.0, 0.0])


def test_sign_test_is_exact():
    assert sign_test(5, 0, 0) == pytest.approx(2 / 32)
    assert sign_test(8, 2, 2) == pytest.approx(2 * (1 + 10 + 45) / 1024)  # ties left out: n = 10
    assert sign_test(0, 7, 0) == 1.0
    assert sign_test(3, 0, 3) == 1.0


def test_compare_methods_per_language_and_overall():
    fusion = {"de": {"1": 1.0, "2": 1.0, "3": 0.0}, "en": {"1": 1.0, "2": None, "3": 1.0}}
    single = {"de": {"1": 0.0, "2": 1.0, "3": 0.0}, "en": {"1": 0.0, "2": 1.0, "3": 0.0}}
    result = compare_methods(fusion, single)
    assert result["de"].record == WinTieLoss(win=1, tie=2, loss=0)
    assert result["en"].record == WinTieLoss(win=2, tie=0, loss=0) and result["en"].difference.n == 2
    assert result["all"].record == WinTieLoss(win=3, tie=2, loss=0)
    assert result["all"].difference.mean == pytest.approx((1 / 3 + 1.0) / 2)
    assert result["all"].p_sign == pytest.approx(0.25)
    assert result["all"].verdict == "too few to tell"  # 5 pairs: the CI excludes 0, but that proves little
    many = compare_methods({"de": {str(i): 1.0 for i in range(12)}}, {"de": {str(i): 0.0 for i in range(12)}})
    assert many["all"].verdict == "better"
    mixed = compare_methods({"de": {str(i): float(i % 2) for i in range(12)}}, {"de": {str(i): 0.5 for i in range(12)}})
    assert mixed["all"].verdict == "no difference"


def test_paired_counts():
    assert paired([1, 0.5, 0], [0, 0.5, 1]) == WinTieLoss(win=1, tie=1, loss=1)
    assert str(paired([1, 1], [0, 0]) + paired([0], [1])) == "2/0/1"
    with pytest.raises(ValueError, match="aligned"):
        paired([1], [1, 2])


def test_permutation_test_enumerates_every_sign_flip_exactly():
    # ±1 ±2 ±3 gives 6, 4, 2, 0, 0, -2, -4, -6: |sum| ≥ 6 twice in 8
    test = permutation_test([1.0, 2.0, 3.0])
    assert (test.p, test.exact, test.nonzero, test.draws) == (0.25, True, 3, 8)
    assert permutation_test([0.0, 1.0, 0.0, 2.0, 3.0]).p == 0.25  # zeros carry no sign
    # four ±1: sums 4 (1 way), 2 (4), 0 (6), -2 (4), -4 (1); |sum| ≥ 2 in 10 of 16
    assert permutation_test([1.0, 1.0, 1.0, -1.0]).p == pytest.approx(10 / 16)
    assert permutation_test([-1.0, -2.0, -3.0]).p == 0.25  # two-sided
    # 0.1 + 0.2 + 0.3 = 0.6000000000000001 in floats; the flips that give 0.6 exactly still reach it
    assert permutation_test([0.3, 0.2, 0.1]).p == 0.25
    assert permutation_test([0.0, 0.0]).p == 1.0 and permutation_test([]).p == 1.0
    assert permutation_test([1.0, 2.0, 3.0]).method == "exact, 2^3 sign flips"


def test_permutation_test_draws_seeded_flips_above_the_exact_limit():
    rng = random.Random(1)
    differences = [rng.gauss(0.05, 0.2) for _ in range(16)]
    exact = permutation_test(differences)
    drawn = permutation_test(differences, seed=3, draws=50_000, exact_up_to=10)
    assert exact.exact and not drawn.exact and drawn.draws == 50_000
    assert drawn.p == pytest.approx(exact.p, abs=0.01)
    assert drawn == permutation_test(differences, seed=3, draws=50_000, exact_up_to=10)  # seeded
    assert drawn.method == "Monte-Carlo, 50,000 sign flips, seed 3"
    assert permutation_test([1.0] * 30, draws=1000).p == pytest.approx(1 / 1001)  # never 0: add-one


def test_holm_adjusts_known_p_vectors():
    assert holm([0.01, 0.04, 0.03, 0.005]) == pytest.approx([0.03, 0.06, 0.06, 0.02])
    assert holm([0.5, 0.6]) == [1.0, 1.0]  # at most 1
    assert holm([0.02]) == [0.02] and holm([]) == []
    assert holm([0.01, 0.01]) == [0.02, 0.02]


def test_without_top_removes_the_largest_differences_in_the_direction_of_the_effect():
    differences = {"a": 0.5, "b": 0.0, "c": 0.3, "d": -0.4, "e": 0.1, "f": 0.2}
    influence = without_top(differences)
    assert influence.removed == {"a": 0.5, "c": 0.3}  # the loss "d" is against the effect: kept
    assert influence.estimate.mean == pytest.approx((0.0 - 0.4 + 0.1 + 0.2) / 4) and influence.estimate.n == 4
    losing = without_top({"a": -0.5, "b": 0.2, "c": -0.1})
    assert losing.removed == {"a": -0.5, "c": -0.1} and losing.estimate.mean == pytest.approx(0.2)
    assert without_top({"a": 0.4, "b": -0.1}, k=2).removed == {"a": 0.4}  # only one pushes the effect's way


def test_the_permutation_test_of_a_macro_mean_weighs_each_language_once():
    """Nine German items gain 0.1, one Spanish item loses 0.5: the item mean is +0.04, the macro mean (what
    `compare_methods` reports for "all", each language once) is -0.2. The test's statistic follows the macro."""
    a = {"de": {f"d{i}": 0.6 for i in range(9)}, "es": {"s0": 0.0}}
    b = {"de": {f"d{i}": 0.5 for i in range(9)}, "es": {"s0": 0.5}}
    weighted = macro_differences(a, b)
    assert sum(weighted) / 2 == pytest.approx(compare_methods(a, b)["all"].difference.mean) == pytest.approx(-0.2)
    item_mean = sum(x - b[lang][k] for lang in a for k, x in a[lang].items()) / 10
    assert item_mean == pytest.approx(0.04)
    # exact over the 10 flips: the Spanish item alone outweighs the German ones, so every flip reaches the macro
    # statistic (p 1); the item sum is not (p 0.75)
    assert permutation_test(weighted).p == 1.0
    assert permutation_test([0.1] * 9 + [-0.5]).p == pytest.approx(0.748, abs=0.001)
