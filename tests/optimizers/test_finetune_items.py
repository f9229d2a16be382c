"""Training items for the weight-tuned fusor are disjoint from every reported item, in every language (issue 29)."""

from fusion_dspy.optimizers.finetune_items import REPORTED_SUBSETS, reported_items, unreported
from fusion_dspy.programs import task_by_name


def test_a_reported_problem_is_excluded_in_every_language_of_a_parallel_task():
    task = task_by_name("math")()
    english = task.load("en", 5, 0)
    reported = reported_items(task, [("en", 5)])
    assert reported == {e.id.removeprefix("en-") for e in english}
    german = task.load("de")
    kept = unreported(task, german, "de", reported)
    assert len(kept) == len(german) - 5
    assert not {e.id.removeprefix("de-") for e in kept} & reported


def test_the_reported_math_subsets_leave_61_mgsm_problems_for_training(real_data_dir):
    task = task_by_name("math")(data_dir=real_data_dir)
    reported = reported_items(task, REPORTED_SUBSETS["math"])
    assert len(reported) == 189  # of MGSM's 250 problems: en 40/100/150, de 40, fr 40, es 30 (seed 0)
    assert len(unreported(task, task.load("ja"), "ja", reported)) == 61
