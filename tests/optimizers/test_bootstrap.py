import itertools

import dspy

import fusion_dspy as fd
from fusion_dspy.optimizers import bootstrap_fusor
from fusion_dspy.testing import ScriptedLM
from tests.conftest import is_fusor_prompt


def test_bootstrap_puts_demos_on_the_fusor_only():
    drafts = itertools.cycle(["paris?", "Paris, France?"])

    def respond(prompt):
        if is_fusor_prompt(prompt):
            return {"answer": "Paris"}
        return {"answer": next(drafts)}

    trainset = [
        dspy.Example(question=f"Capital of France? ({i})", answer="Paris").with_inputs("question") for i in range(3)
    ]
    program = fd.FusionOfN(dspy.Predict("question -> answer"), n=2)
    with dspy.context(lm=ScriptedLM(respond)):
        compiled = bootstrap_fusor(
            program, trainset, lambda ex, pred, trace=None: ex.answer == pred.answer, max_demos=2
        )
        assert compiled(question="Capital of France?").answer == "Paris"
    predictors = dict(compiled.named_predictors())
    assert len(predictors["aggregator.fuser.predict"].demos) == 2
    demo = predictors["aggregator.fuser.predict"].demos[0]
    assert "<candidate 1>" in demo["candidates"] and demo["answer"] == "Paris"
    assert predictors["source.module"].demos == []
    assert program.fuser.predict.demos == []
