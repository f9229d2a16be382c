import dspy
import pytest

import fusion_dspy as fd
from fusion_dspy.select.lm_judged import LMJudgedScorer


def best_of_three(scorer: LMJudgedScorer) -> fd.BestOfN:
    return fd.BestOfN(dspy.Predict("question -> answer"), n=3, scorer=scorer)


@pytest.mark.parametrize("scorer", [fd.JudgeScorer, fd.PairwiseScorer])
def test_judged_scorers_keep_their_settings_and_judge_prompts_through_save_and_load(scorer, tmp_path):
    program = best_of_three(scorer(render=fd.RenderOptions(shuffle=True, seed=7), on_permanent_error="select"))
    predictor = program.scorer.named_predictors()[0][1]
    predictor.signature = predictor.signature.with_instructions("Judge like a tuned judge.")
    path = tmp_path / "best_of_three.json"
    program.save(str(path))
    restored = best_of_three(scorer())
    restored.load(str(path))
    assert restored.scorer.render == fd.RenderOptions(shuffle=True, seed=7)
    assert restored.scorer.on_permanent_error == "select"
    assert restored.scorer.named_predictors()[0][1].signature.instructions == "Judge like a tuned judge."


def test_a_judged_scorer_must_say_which_predictors_it_adds():
    class NoJudge(LMJudgedScorer):
        async def ascore(self, task, inputs, pool):
            return [None for _ in pool]

    with pytest.raises(TypeError, match="_add_predictors"):
        NoJudge()
