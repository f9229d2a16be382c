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
