"""GSM8K past MGSM's rows: one English task, ids by row index, references from the `####` line."""

import dspy
import pytest

from fusion_dspy.data import load_gsm8k, load_mgsm
from fusion_dspy.programs import task_by_name
from fusion_dspy.programs.gsm8k import MGSM_ROWS
from tests.benchmark_files import COUNTS


def test_gsm8k_loads_the_rows_after_mgsms_with_their_ids_and_numbers():
    task = task_by_name("gsm8k")()
    examples = task.load("en")
    assert len(examples) == COUNTS["gsm8k_after_mgsm"]
    assert [e.id for e in examples] == [f"gsm8k-{i}" for i in range(MGSM_ROWS, COUNTS["gsm8k"])]
    assert [e.reference for e in examples] == ["27", "25", "42", "45", "1250"]
    assert set(examples[0].inputs().keys()) == {"question"} and examples[0].language == "en"


def test_gsm8k_scores_like_math_and_is_not_parallel():
    task = task_by_name("gsm8k")()
    example = task.load("en")[-1]
    assert task.metric(example, dspy.Prediction(reasoning="…", answer="1,250")) == pytest.approx(1.0)
    assert task.metric(example, dspy.Prediction(reasoning="…", answer="125")) == 0.0
    assert task.item_key(example.id, "en") == "en:gsm8k-254"
    assert task.score_version() == "gsm8k/metric-2"


def test_gsm8k_subsets_are_seeded_among_its_own_rows():
    task = task_by_name("gsm8k")()
    first = [e.id for e in task.load("en", limit=2, seed=3)]
    assert first == [e.id for e in task.load("en", limit=2, seed=3)]
    assert len(first) == 2 and all(int(i.removeprefix("gsm8k-")) >= MGSM_ROWS for i in first)


def test_real_gsm8k_starts_with_mgsms_250_problems_and_keeps_1069(real_data_dir):
    gsm8k, mgsm = load_gsm8k(), load_mgsm("en")
    assert gsm8k[0]["question"] == mgsm[0]["question"]
    assert [r["question"].strip() for r in gsm8k[:MGSM_ROWS]] == [r["question"].strip() for r in mgsm]
    examples = task_by_name("gsm8k")().load("en")
    assert len(examples) == 1069 and examples[0].id == "gsm8k-250"
    assert not {e.question.strip() for e in examples} & {r["question"].strip() for r in mgsm}
