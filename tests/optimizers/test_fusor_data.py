"""Fusor training data: labeled demos keep their gold answer, candidates render as the Fuser renders them
(issue 11, points 1 and 12)."""

import dspy

from fusion_dspy.eval.store import PoolRecord
from fusion_dspy.fuse import Fuser
from fusion_dspy.jsonl import JsonlLog
from fusion_dspy.optimizers import FusorOnly, compile_fusor, fusor_examples
from fusion_dspy.programs import task_by_name
from fusion_dspy.testing import ScriptedLM
from tests.conftest import pool_of


def math_data(tmp_path, count=3):
    task = task_by_name("math")()
    examples = [
        dspy.Example(
            id=f"en-{i}", question=f"Problem {i}: how many?", reference=str(4100 + i), language="en"
        ).with_inputs("question")
        for i in range(count)
    ]
    pools = JsonlLog(tmp_path / "pools.jsonl", PoolRecord)
    for example in examples:
        pools.append(PoolRecord(id=example.id, pool=pool_of("7", "8", "9")))
    return task, fusor_examples(task, examples, pools)


def test_fusor_examples_carry_the_gold_answer_under_the_output_field(tmp_path):
    _, data = math_data(tmp_path)
    assert [e.answer for e in data] == ["4100", "4101", "4102"]  # was only under `reference`
    assert set(data[0].inputs()) == {"question", "candidates"}


def test_a_compiled_fusors_prompt_contains_its_labeled_demos(tmp_path):
    task, data = math_data(tmp_path)
    wrong = ScriptedLM({"answer": "1"})  # fails the metric: nothing is bootstrapped
    program = FusorOnly(Fuser(chain_of_thought=False, lm=wrong).bind(task.signature))
    compiled = compile_fusor(program, "bootstrap", task.metric, data[:2], [], max_demos=2)
    assert len(compiled.fuser.predict.demos) == 2
    compiled(**data[2].inputs())
    prompt = wrong.calls[-1].prompt
    assert "4100" in prompt and "4101" in prompt  # DSPy dropped both demos before: they had no `answer`
    assert prompt.count("<candidate 1>") == 3  # two demos' pools and the question's


def test_a_chain_of_thought_fusor_gets_no_labeled_demos_only_bootstrapped_ones_with_their_reasoning(tmp_path):
    """Gold data has no reasoning: DSPy would show it as "Not supplied for this particular example.", which a
    small fusor copies as its own reasoning."""
    task, data = math_data(tmp_path)
    lm = ScriptedLM({"reasoning": "7 + 4093 = 4100.", "answer": "4100"})  # right on en-0 only
    program = FusorOnly(Fuser(chain_of_thought=True, lm=lm).bind(task.signature))
    compiled = compile_fusor(program, "bootstrap", task.metric, data[:2], [], max_demos=2)
    [demo] = compiled.fuser.predict.predict.demos
    assert demo.answer == "4100" and demo.reasoning == "7 + 4093 = 4100."
    compiled(**data[2].inputs())
    assert "Not supplied" not in lm.calls[-1].prompt and "4101" not in lm.calls[-1].prompt


def test_fusor_data_renders_candidates_in_the_fusers_order(tmp_path):
    task, data = math_data(tmp_path)
    pool = pool_of("7", "8", "9")
    lm = ScriptedLM({"reasoning": "…", "answer": "8"})
    fuser = Fuser(chain_of_thought=True, lm=lm).bind(task.signature)
    for example in data:
        fuser.aggregate(example.inputs().without("candidates").toDict(), pool)
        assert example.candidates in lm.calls[-1].prompt  # one salt: the same shuffle in training and in use


def test_evaluate_leaves_out_answers_whose_judgements_all_failed(tmp_path):
    from fusion_dspy.metrics import JudgementFailedError
    from fusion_dspy.optimizers import evaluate

    task, data = math_data(tmp_path)
    program = FusorOnly(Fuser(lm=ScriptedLM({"answer": "8"})).bind(task.signature))

    def metric(example, prediction, trace=None):
        if example.id == "en-0":
            raise JudgementFailedError("judge down")
        return 1.0

    score, usage = evaluate(program, data, metric, threads=1)
    assert score == 1.0 and usage.lm_calls == 3  # not (0 + 1 + 1) / 3
