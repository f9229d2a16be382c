import asyncio

import dspy
import pytest

import fusion_dspy as fd
from fusion_dspy.testing import FailingLM, ScriptedLM, SlowLM
from tests.conftest import is_fusor_prompt, sampler_then_fusor

SAMPLES = [{"reasoning": "r", "answer": a} for a in ["Paris", "Lyon", "Paris"]]
FUSED = {"reasoning": "fused", "answer": "Paris, the capital"}


def cot():
    return dspy.ChainOfThought("question -> answer")


def test_fused_prediction_has_task_fields_pool_and_usage():
    lm = ScriptedLM(sampler_then_fusor(SAMPLES, FUSED))
    with dspy.context(lm=lm):
        pred = fd.FusionOfN(cot(), n=3)(question="Capital of France?")
    assert pred.answer == "Paris, the capital"
    assert list(pred.keys()) == ["reasoning", "answer"]  # the wrapped ChainOfThought's own keys
    assert pred.reasoning == "fused"
    assert [c.text() for c in pred.nofn.candidates] == ["Paris", "Lyon", "Paris"]
    assert pred.nofn.failed == []
    assert pred.nofn.method == "fused" and pred.nofn.fallback is None
    assert pred.nofn.usage.candidates.lm_calls == 3
    assert pred.nofn.usage.aggregation.lm_calls == 1
    assert pred.nofn.usage.total.prompt_tokens > 0


def test_samples_run_concurrently_with_distinct_rollouts_and_temperature():
    lm = SlowLM(sampler_then_fusor(SAMPLES, FUSED), delay_s=0.3)
    with dspy.context(lm=lm):
        pred = fd.FusionOfN(cot(), n=5)(question="q")
    sample_calls = [c for c in lm.calls if not is_fusor_prompt(c.prompt)]
    assert len(sample_calls) == 5
    assert lm.max_overlap() == 5
    first_end = min(c.end for c in sample_calls)
    assert all(c.start < first_end for c in sample_calls)
    assert {c.temperature for c in sample_calls} == {0.8}
    assert [c.rollout_id for c in pred.nofn.candidates] == [0, 1, 2, 3, 4]


def test_fusor_starts_only_after_every_sample_finished():
    lm = SlowLM(sampler_then_fusor(SAMPLES, FUSED), delay_s=0.2)
    with dspy.context(lm=lm):
        fd.FusionOfN(cot(), n=3)(question="q")
    fusor = [c for c in lm.calls if is_fusor_prompt(c.prompt)]
    samples = [c for c in lm.calls if not is_fusor_prompt(c.prompt)]
    assert len(fusor) == 1
    assert fusor[0].start >= max(c.end for c in samples)


def test_concurrency_bound_is_respected():
    lm = SlowLM(sampler_then_fusor(SAMPLES, FUSED), delay_s=0.1)
    source = fd.RepeatSampler(6, concurrency=2)
    with dspy.context(lm=lm):
        fd.FusionOfN(cot(), source=source)(question="q")
    assert lm.max_overlap() == 2


def test_some_failures_are_reported_and_the_rest_fused():
    answers = sampler_then_fusor(SAMPLES, FUSED)
    lm = ScriptedLM(answers, fail_when=lambda number, prompt: number in (0, 2) and not is_fusor_prompt(prompt))
    with dspy.context(lm=lm):
        pred = fd.FusionOfN(cot(), n=4)(question="q")
    assert pred.answer == "Paris, the capital"
    assert len(pred.nofn.failed) == 2
    assert all("scripted failure" in c.error for c in pred.nofn.failed)
    assert len(pred.nofn.candidates.succeeded) == 2


def test_all_failing_raises_one_clear_error_never_none():
    with dspy.context(lm=FailingLM()), pytest.raises(fd.AllCandidatesFailedError, match="all 3 candidate calls failed"):
        fd.FusionOfN(cot(), n=3)(question="q")
    with dspy.context(lm=FailingLM()), pytest.raises(fd.AllCandidatesFailedError) as info:
        fd.BestOfN(cot(), n=2)(question="q")
    assert len(info.value.failed) == 2
    assert "--api-base" in str(info.value)


def test_unparseable_fusor_output_falls_back_to_a_flagged_selection():
    samples = iter(SAMPLES)

    def respond(prompt):
        return "I refuse to use your format." if is_fusor_prompt(prompt) else next(samples)

    with dspy.context(lm=ScriptedLM(respond)):
        pred = fd.FusionOfN(cot(), n=3)(question="q")
    assert pred.answer == "Paris"
    assert pred.nofn.method == "selected" and pred.nofn.path == "selected"
    assert "fusor failed" in pred.nofn.fallback and "MBRScorer" in pred.nofn.fallback
    assert pred.nofn.chosen in (0, 2)


def test_fusor_answering_with_a_candidate_number_is_resolved():
    samples = [{"answer": "Au"}, {"answer": "Ag"}]
    lm = ScriptedLM(sampler_then_fusor(samples, {"answer": "Candidate 1"}))
    fuser = fd.Fuser(render=fd.RenderOptions(shuffle=False))
    with dspy.context(lm=lm):
        pred = fd.FusionOfN(dspy.Predict("question -> answer"), n=2, fuser=fuser)(question="Symbol of gold?")
    assert pred.answer == "Au"
    assert "references were resolved" in pred.nofn.fallback


def test_best_of_n_selects_with_its_scorer_and_reports_scores():
    samples = [{"answer": a} for a in ["7", "8", "7", "7"]]
    with dspy.context(lm=ScriptedLM(samples)):
        pred = fd.BestOfN(dspy.Predict("question -> answer"), n=4, scorer=fd.MajorityVote())(question="q")
    assert pred.answer == "7"
    assert pred.nofn.method == "selected"
    assert pred.nofn.chosen in {0, 2, 3}  # the three 7s tie; the seed picks one
    assert pred.nofn.scores == [0.75, 0.25, 0.75, 0.75]
    assert pred.nofn.usage.aggregation.lm_calls == 0


def test_source_and_n_are_exclusive_and_n_is_validated():
    with pytest.raises(fd.ConfigurationError, match="either n="):
        fd.FusionOfN(cot(), n=3, source=fd.RepeatSampler(2))
    for bad in (0, -1, 2.5, True):
        with pytest.raises(fd.ConfigurationError, match="n must be an integer"):
            fd.FusionOfN(cot(), n=bad)
    with pytest.raises(fd.ConfigurationError, match=r"dspy\.Module"):
        fd.FusionOfN("question -> answer", n=2)


def test_async_call_and_concurrent_programs():
    lm = SlowLM(sampler_then_fusor(SAMPLES, FUSED), delay_s=0.2)
    program = fd.FusionOfN(cot(), n=3)

    async def main():
        with dspy.context(lm=lm):
            return await asyncio.gather(*(program.acall(question=f"q{i}") for i in range(3)))

    preds = asyncio.run(main())
    assert [p.answer for p in preds] == ["Paris, the capital"] * 3
    assert lm.max_overlap() >= 9


def test_sync_call_works_inside_a_running_event_loop():
    lm = ScriptedLM(sampler_then_fusor(SAMPLES, FUSED))

    async def main():
        with dspy.context(lm=lm):
            return fd.FusionOfN(cot(), n=2)(question="q")

    assert asyncio.run(main()).answer == "Paris, the capital"


def test_from_pool_compares_fusion_and_selection_on_identical_candidates():
    lm = ScriptedLM(sampler_then_fusor(SAMPLES, FUSED))
    fusion = fd.FusionOfN(cot(), n=3)
    best = fd.BestOfN(cot(), n=3, scorer=fd.MajorityVote())
    with dspy.context(lm=lm):
        pool = fusion.source.generate({"question": "q"})
        fused = fusion.from_pool({"question": "q"}, pool)
        selected = best.from_pool({"question": "q"}, pool)
    assert fused.nofn.candidates is selected.nofn.candidates
    assert (fused.answer, selected.answer) == ("Paris, the capital", "Paris")
    assert len([c for c in lm.calls if not is_fusor_prompt(c.prompt)]) == 3


def test_predictors_are_visible_and_state_round_trips(tmp_path):
    program = fd.FusionOfN(cot(), n=2, fuser=fd.Fuser(chain_of_thought=True))
    names = [name for name, _ in program.named_predictors()]
    assert names == ["source.module.predict", "aggregator.fuser.predict.predict"]
    fusor = program.fuser.predict.predict
    fusor.demos = [dspy.Example(question="q", candidates="<candidate 1>\nx\n</candidate 1>", reasoning="r", answer="x")]
    fusor.signature = fusor.signature.with_instructions("Tuned instructions")
    path = tmp_path / "fusion.json"
    program.save(str(path))
    restored = fd.FusionOfN(cot(), n=2, fuser=fd.Fuser(chain_of_thought=True))
    restored.load(str(path))
    loaded = restored.fuser.predict.predict
    assert loaded.signature.instructions == "Tuned instructions"
    assert loaded.demos[0]["answer"] == "x"
    assert restored.dump_state() == program.dump_state()


def test_works_inside_dspy_evaluate():
    distinct = [{"reasoning": "r", "answer": f"Paris ({i})"} for i in range(7)]
    lm = ScriptedLM(sampler_then_fusor(distinct, FUSED))
    devset = [dspy.Example(question=f"q{i}", answer="Paris, the capital").with_inputs("question") for i in range(4)]
    evaluate = dspy.Evaluate(devset=devset, metric=lambda ex, pred, trace=None: ex.answer == pred.answer, num_threads=2)
    with dspy.context(lm=lm):
        result = evaluate(fd.FusionOfN(cot(), n=2))
    assert result.score == 100.0


def test_composes_inside_a_larger_program():
    class Pipeline(dspy.Module):
        def __init__(self):
            super().__init__()
            self.answer = fd.FusionOfN(dspy.Predict("question -> answer"), n=2)
            self.polish = dspy.Predict("answer -> headline")

        def forward(self, question):
            return self.polish(answer=self.answer(question=question).answer)

    def respond(prompt):
        if "headline" in prompt and "[[ ## answer ## ]]\n" in prompt:
            return {"headline": "PARIS"}
        return {"answer": "paris"}

    with dspy.context(lm=ScriptedLM(respond)):
        assert Pipeline()(question="q").headline == "PARIS"
    names = [name for name, _ in Pipeline().named_predictors()]
    assert names == ["answer.source.module", "answer.aggregator.fuser.predict", "polish"]


@pytest.mark.parametrize("field", ["method", "usage", "scores", "chosen", "fallback", "failed", "candidates"])
def test_output_fields_named_like_metadata_are_never_shadowed(field):
    lm = ScriptedLM({field: "its own value", "answer": "a"})
    with dspy.context(lm=lm):
        fused = fd.FusionOfN(dspy.Predict(f"question -> {field}, answer"), n=2)(question="q")
        best = fd.BestOfN(dspy.Predict(f"question -> {field}, answer"), n=2)(question="q")
    for pred in (fused, best):
        assert getattr(pred, field) == "its own value"
        assert pred[field] == "its own value"
        assert list(pred.keys()) == [field, "answer"]
        assert len(pred.nofn.candidates) == 2


def test_metadata_lives_on_one_namespaced_attribute_that_exposes_every_aggregation_field():
    class Flagged(fd.Aggregation):
        budget_left: float = 0.5

    info = fd.FusedPrediction.build(
        Flagged(outputs={"answer": "x"}, method="selected", chosen=0), fd.CandidatePool(), fd.RunUsage()
    ).nofn
    assert (info.method, info.chosen, info.path, info.budget_left) == ("selected", 0, "selected", 0.5)
    assert "budget_left" in dir(info) and "provenance" in dir(info)
    with pytest.raises(AttributeError, match="aggregation's fields"):
        _ = info.nonexistent


def test_a_task_output_named_like_the_metadata_attribute_is_refused_with_the_fix():
    with pytest.raises(fd.ConfigurationError, match="rename the output field"):
        fd.FusionOfN(dspy.Predict("question -> nofn"), n=2)


@pytest.mark.parametrize("argument", ["Capital of France?", dspy.Example(question="Capital of France?")])
async def test_positional_calls_name_the_fix_as_dspy_predict_does(argument):
    """Issue 26.7: `prog(example)` gave "NofN.forward() takes 1 positional argument but 2 were given"."""
    program = fd.FusionOfN(cot(), n=2)
    with pytest.raises(ValueError, match=r"keyword|by name.*question.*program\(question=.*example\.inputs\(\)"):
        program(argument)
    with pytest.raises(ValueError, match=r"program\(question="):
        await program.acall(argument)
