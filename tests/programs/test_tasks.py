import dspy
import pytest

from fusion_dspy.errors import ConfigurationError
from fusion_dspy.programs import TASKS, task_by_name
from fusion_dspy.testing import ScriptedLM


def gold_outputs(task, example):
    """Outputs that a perfect system would give, per task."""
    if task.name.startswith("translation"):
        return {"translation": example.reference}
    if task.name == "math":
        return {"reasoning": "…", "answer": example.reference}
    if task.name == "factual":
        return {"answer": example.answers[0]}
    raise AssertionError(task.name)


@pytest.mark.parametrize("name", ["translation", "translation_ntrex", "math", "factual"])
def test_reference_tasks_score_gold_answers_1_and_wrong_ones_lower(name):
    task = task_by_name(name)()
    language = "de" if name != "factual" else "ja"
    examples = task.load(language, limit=3)
    assert len(examples) == 3 and len({e.id for e in examples}) == 3
    for example in examples:
        assert set(example.inputs().keys()) == set(task.signature.input_fields)
        gold = dspy.Prediction(**gold_outputs(task, example))
        assert task.metric(example, gold) == pytest.approx(1.0)
        assert task.metric(example, dspy.Prediction(**{task.output_field: "zzz"})) < 0.5
        assert task.metric(example, gold, trace=[]) is True


def test_subsets_are_seeded():
    task = task_by_name("math")()
    assert [e.id for e in task.load("en", limit=5)] == [e.id for e in task.load("en", limit=5)]
    assert [e.id for e in task.load("en", limit=5, seed=1)] != [e.id for e in task.load("en", limit=5)]


@pytest.mark.parametrize("name", ["open_ended", "open_ended_mt_bench", "summarization"])
def test_judged_tasks_need_a_baseline_and_use_the_judge(name):
    task = task_by_name(name)(judge_lm=ScriptedLM({"verdict": "tie"}))
    example = task.load("en" if name != "summarization" else "fr", limit=1)[0]
    prediction = dspy.Prediction(**{task.output_field: "an answer"})
    with pytest.raises(ConfigurationError, match="baseline"):
        task.metric(example, prediction)
    assert task.metric(example.copy(baseline="another answer"), prediction) == 0.5


def test_every_task_describes_itself_and_rejects_unknown_languages():
    for task_class in TASKS.values():
        assert task_class.description and task_class.languages
    with pytest.raises(ConfigurationError, match="choose from"):
        task_by_name("math")().load("xx")
    with pytest.raises(ConfigurationError, match="unknown task"):
        task_by_name("poetry")


def test_math_reads_the_answer_field_first_by_its_language():
    import asyncio

    math = task_by_name("math")()
    example = dspy.Example(question="…", reference="1000", language="de")
    score = lambda outputs: asyncio.run(math.ascore(example, outputs))  # noqa: E731
    assert score({"reasoning": "3 + 997 = 1000", "answer": "1.000"}) == 1.0  # German thousands
    assert score({"reasoning": "… it is 1000", "answer": "999"}) == 0.0  # the answer field wins over the reasoning
    assert score({"reasoning": "… so 1000 in total", "answer": "tausend"}) == 1.0  # no number: the reasoning's


def test_item_keys_align_parallel_benchmarks_across_languages():
    assert task_by_name("math")().item_key("de-159", "de") == task_by_name("math")().item_key("en-159", "en") == "159"
    translation = task_by_name("translation")()
    assert translation.item_key("doc#3", "de") == translation.item_key("doc#3", "ja")
    factual = task_by_name("factual")()  # GeoFactX rows differ per language: never the same item
    assert factual.item_key("en-3", "en") != factual.item_key("ja-3", "ja")


def test_gold_outputs_sit_under_the_output_field():
    example = dspy.Example(reference="42", answers=["Tokyo", "東京"])
    assert task_by_name("math")().gold_outputs(example) == {"answer": "42"}
    assert task_by_name("translation")().gold_outputs(example) == {"translation": "42"}
    assert task_by_name("factual")().gold_outputs(example) == {"answer": "Tokyo"}
    assert task_by_name("open_ended")().gold_outputs(example) is None
