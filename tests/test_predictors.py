import dspy

from fusion_dspy.predictors import predictors
from fusion_dspy.testing import ScriptedLM


def qa():
    return dspy.Predict("question -> answer")


class Nested(dspy.Module):
    def __init__(self, compiled_inner=False):
        super().__init__()
        self.steps = [qa(), dspy.ChainOfThought("question -> answer")]
        self.by_name = {"x": qa()}
        self.inner = dspy.ChainOfThought("question -> answer")
        self.inner._compiled = compiled_inner
        self.shared = self.steps[0]  # the same predictor twice counts once
        self.steps[1].predict.lm = ScriptedLM("x")


def test_the_same_predictors_in_the_same_order_as_named_predictors():
    for module in [Nested(), Nested(compiled_inner=True), qa(), dspy.ChainOfThought("q -> a")]:
        assert predictors(module) == [p for _, p in module.named_predictors()]


def test_a_long_call_history_changes_nothing():
    module = Nested()
    module.history = [{"entry": i} for i in range(10_000)]  # dspy's log of calls: never a predictor
    assert predictors(module) == [p for _, p in module.named_predictors()] and len(predictors(module)) == 4
