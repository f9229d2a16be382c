import pytest

from fusion_dspy.eval.stats import WinTieLoss, bootstrap, bootstrap_macro, paired


def test_bootstrap_is_seeded_and_brackets_the_mean():
    scores = [0, 1, 1, 0, 1, 1, 1, 0, 1, 1]
    a, b = bootstrap(scores, seed=3), bootstrap(scores, seed=3)
    assert a == b
    assert a.low <= a.mean <= a.high and a.n == 10 and a.mean == 0.7
    assert bootstrap([1, 1, 1]).low == bootstrap([1, 1, 1]).high == 1.0
    assert bootstrap([]).n == 0


def test_macro_mean_weights_languages_equally():
    estimate = bootstrap_macro([[1.0] * 10, [0.0] * 2])
    assert estimate.mean == 0.5 and estimate.n == 12


def test_paired_counts():
    assert paired([1, 0.5, 0], [0, 0.5, 1]) == WinTieLoss(win=1, tie=1, loss=1)
    assert str(paired([1, 1], [0, 0]) + paired([0], [1])) == "2/0/1"
    with pytest.raises(ValueError, match="aligned"):
        paired([1], [1, 2])
