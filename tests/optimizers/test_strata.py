"""Pool difficulty strata and the stratified 40/30/30 split (issue 13, point 1)."""

from collections import Counter

import dspy

from fusion_dspy.eval.store import PoolRecord
from fusion_dspy.jsonl import JsonlLog
from fusion_dspy.optimizers import fusor_examples, strata_of, stratified_ids
from fusion_dspy.optimizers.strata import apportion, by_stratum, hard_first
from fusion_dspy.programs import task_by_name
from tests.conftest import pool_of


def math_pools(tmp_path, answers):
    """Fusor examples whose reference is 42, one per tuple of candidate answers."""
    task = task_by_name("math")()
    examples = [
        dspy.Example(id=f"en-{i}", question=f"Problem {i}?", reference="42", language="en").with_inputs("question")
        for i in range(len(answers))
    ]
    pools = JsonlLog(tmp_path / "pools.jsonl", PoolRecord)
    for example, pool in zip(examples, answers, strict=True):
        pools.append(PoolRecord(id=example.id, pool=pool_of(*pool)))
    return task, fusor_examples(task, examples, pools)


FOX_REFERENCE = "Der schnelle braune Fuchs springt über den faulen Hund."


def fox_example() -> dspy.Example:
    """One en→de translation example (id t-1) whose reference is FOX_REFERENCE."""
    return dspy.Example(
        id="t-1", source_text="The quick brown fox jumps over the lazy dog.", target_language="German",
        reference=FOX_REFERENCE, language="de",
    ).with_inputs("source_text", "target_language")  # fmt: skip


def test_each_pool_gets_its_difficulty(tmp_path):
    task, data = math_pools(tmp_path, [("42", "42", "7"), ("7", "7", "42"), ("7", "8", "9"), ("42", "7"),
                                       ("42", None, "41")])  # fmt: skip
    strata = strata_of(task, data)
    assert strata == {"en-0": "easy", "en-1": "hard", "en-2": "impossible", "en-3": "hard", "en-4": "hard"}


def test_translation_strata_use_chrf_and_the_language_check(tmp_path):
    task = task_by_name("translation")()
    reference, example = FOX_REFERENCE, fox_example()
    pools = JsonlLog(tmp_path / "pools.jsonl", PoolRecord)
    english = "The quick brown fox jumps over the lazy dog."
    pools.append(PoolRecord(id="t-1", pool=pool_of(english, english, reference, field="translation")))
    [fused] = fusor_examples(task, [example], pools)
    assert strata_of(task, [fused]) == {"t-1": "hard"}  # the English majority is wrong, one candidate is right


def test_the_split_keeps_every_stratum_in_proportion_and_is_seeded():
    strata = {f"e{i}": "easy" for i in range(50)} | {f"h{i}": "hard" for i in range(30)}
    strata |= {f"x{i}": "impossible" for i in range(20)}
    ids = stratified_ids(strata, seed=0)
    assert {name: len(v) for name, v in ids.items()} == {"train": 40, "val": 30, "test": 30}
    assert Counter(strata[i] for i in ids["train"]) == {"easy": 20, "hard": 12, "impossible": 8}
    assert Counter(strata[i] for i in ids["test"]) == {"easy": 15, "hard": 9, "impossible": 6}
    assert sorted(i for split in ids.values() for i in split) == sorted(strata)
    assert stratified_ids(strata, seed=0) == ids and stratified_ids(strata, seed=1) != ids


def test_small_splits_keep_the_plain_split_sizes():
    strata = {"a": "easy", "b": "hard", "c": "easy", "d": "impossible", "e": "easy", "f": "hard"}
    ids = stratified_ids(strata, seed=3)
    assert {name: len(v) for name, v in ids.items()} == {"train": 2, "val": 2, "test": 2}
    assert apportion(3, {"easy": 1, "hard": 5}) == {"easy": 1, "hard": 2}  # remainders tie: by name
    assert apportion(4, {"easy": 1, "hard": 9}) == {"easy": 0, "hard": 4}
    assert sum(apportion(7, {"a": 3, "b": 3, "c": 3}).values()) == 7


def test_the_trainset_leads_with_hard_pools():
    examples = [dspy.Example(id=i) for i in ["e1", "x1", "e2", "h1", "e3", "h2"]]
    strata = {"e1": "easy", "e2": "easy", "e3": "easy", "h1": "hard", "h2": "hard", "x1": "impossible"}
    assert [e.id for e in hard_first(examples, strata)] == ["h1", "e1", "h2", "e2", "e3", "x1"]
    assert by_stratum({"e1": 1.0, "h1": 0.0, "e2": 0.5}, strata) == {"easy": [1.0, 0.5], "hard": [0.0]}
