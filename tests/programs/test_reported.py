"""Items no reported number was measured on: disjoint from every reported item, in every language of a parallel
task (issue 29); a task can leave them out of `load` before its seeded subset."""

import random

import pytest

from fusion_dspy.errors import ConfigurationError
from fusion_dspy.programs import task_by_name
from fusion_dspy.programs.reported import REPORTED_KEYS, REPORTED_SUBSETS, reported_items, unreported
from tests.benchmark_files import COUNTS


def test_a_reported_problem_is_excluded_in_every_language_of_a_parallel_task():
    task = task_by_name("math")()
    english = task.load("en", 5, 0)
    reported = reported_items(task, [("en", 5)])
    assert reported == {e.id.removeprefix("en-") for e in english}
    german = task.load("de")
    kept = unreported(task, german, "de", reported)
    assert len(kept) == len(german) - 5
    assert not {e.id.removeprefix("de-") for e in kept} & reported


def test_a_task_excluding_items_loads_the_rest_and_samples_among_them_reproducibly():
    task = task_by_name("math")()
    reported = reported_items(task, [("en", 3), ("de", 4)])
    training = task.excluding(reported)
    for language in ["en", "de", "fr", "ja"]:
        rest = training.load(language)
        assert len(rest) == COUNTS["mgsm"] - len(reported)
        assert not {task.item_key(e.id, language) for e in rest} & reported
    sample = [e.id for e in training.load("fr", limit=3, seed=1)]
    assert sample == [e.id for e in training.load("fr", limit=3, seed=1)]
    assert len(sample) == 3 and set(sample) <= {e.id for e in training.load("fr")}
    assert [e.id for e in task.load("fr", 3)] == [e.id for e in task.excluding(()).load("fr", 3)]
    assert reported_items(training, [("en", 3), ("de", 4)]) == reported  # read with no exclusion


def test_a_task_with_no_record_of_its_reported_items_refuses():
    assert reported_items(task_by_name("gsm8k")()) == frozenset()
    with pytest.raises(ConfigurationError, match=r"programs/reported\.py"):
        reported_items(task_by_name("factual")())


def test_the_reported_math_items_leave_56_mgsm_problems_for_training(real_data_dir):
    task = task_by_name("math")(data_dir=real_data_dir)
    reported = reported_items(task)
    subsets = reported_items(task, REPORTED_SUBSETS["math"])
    assert len(subsets) == 189  # of MGSM's 250 problems: en 40/100/150, de 40, fr 40, es 30 (seed 0)
    assert len(reported) == 194  # and 5 more of the 20 that examples/synthetic_demos.py --full is scored on
    assert len(unreported(task, task.load("ja"), "ja", reported)) == 56
    assert len(task.excluding(reported).load("ja")) == 56


def test_the_synthetic_demos_held_out_problems_are_reported(monkeypatch):
    """The example scores its student on `random.Random(seed).sample(load_mgsm("en"), 20)` (seed 0, --full)."""
    from fusion_dspy.programs import reported

    monkeypatch.setitem(reported.REPORTED_SUBSETS, "math", (("en", 3),))  # the synthetic folder has no mgsm_es
    held_out = {str(i) for i in random.Random(0).sample(range(250), 20)}
    math = task_by_name("math")()
    assert held_out == REPORTED_KEYS["math"] and held_out < reported_items(math)
    assert not held_out & reported_items(math, (("en", 3),))  # given subsets: those alone


def test_a_task_dropping_items_keeps_its_seeded_subset_less_them_never_replaced():
    """Excluding samples among the rest; dropping removes items from the subset sampled as before (a tuned fusor's
    training items leave a test set without moving the rest of it), and reads of the reported items ignore it."""
    task = task_by_name("math")()
    subset = task.load("de", 6, 0)
    gone = {task.item_key(e.id, "de") for e in subset[:2]}
    dropped = task.dropping(gone)
    assert [e.id for e in dropped.load("de", 6, 0)] == [e.id for e in subset[2:]]
    assert [e.id for e in dropped.load("en", 6, 0)] == [
        e.id
        for e in task.load("en", 6, 0)
        if task.item_key(e.id, "en") not in gone  # every language of the item
    ]
    assert reported_items(dropped, [("de", 6)]) == reported_items(task, [("de", 6)])
