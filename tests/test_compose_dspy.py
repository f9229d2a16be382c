"""FusionOfN / BestOfN behaving as a DSPy user relies on: per-module LMs, bootstrapping, traces, fresh rollouts,
dspy.BestOfN's arguments (issue 10)."""

import itertools
import time

import dspy
import pytest

import fusion_dspy as fd
from fusion_dspy.testing import FailingLM, ScriptedLM
from tests.conftest import is_fusor_prompt, sampler_then_fusor


def qa():
    return dspy.Predict("question -> answer")


@pytest.fixture
def no_default_model(monkeypatch):
    """No LM anywhere: a call that falls through to the default would hit a closed port, not the embedded model."""
    monkeypatch.setenv("FUSION_DSPY_MODEL", "openai/must-not-be-used")
    monkeypatch.setenv("FUSION_DSPY_API_BASE", "http://127.0.0.1:9/v1")


def names(program):
    return {id(p): name for name, p in program.named_predictors()}


# 1. Per-module LMs


def test_set_lm_on_the_program_makes_the_candidates_come_from_that_lm(no_default_model):
    drafts = [{"answer": "from B"}, {"answer": "also from B"}, {"answer": "B again"}]  # no majority to outvote
    b = ScriptedLM(sampler_then_fusor(drafts, {"answer": "fused by B"}), model="openai/b")
    program = fd.FusionOfN(qa(), n=3)
    program.set_lm(b)
    pred = program(question="q")
    assert {c.text() for c in pred.nofn.candidates} == {"from B", "also from B", "B again"}
    assert {c.source for c in pred.nofn.candidates} == {"openai/b"}
    assert len({c.rollout_id for c in pred.nofn.candidates}) == 3
    assert pred.answer == "fused by B"
    elsewhere = ScriptedLM({"answer": "global"})
    with dspy.context(lm=elsewhere):
        assert program(question="q2").answer == "fused by B"
    assert elsewhere.calls == []


def test_with_every_lm_pinned_no_default_model_is_even_resolved(monkeypatch):
    from fusion_dspy.lm import resolve

    real = resolve.resolve_lm

    def refuse_default(spec=None, **kwargs):
        assert spec is not None, "the default model was resolved (the embedded model would start)"
        return real(spec, **kwargs)

    monkeypatch.delenv("FUSION_DSPY_MODEL", raising=False)
    monkeypatch.setattr(resolve, "resolve_lm", refuse_default)
    lm = ScriptedLM(sampler_then_fusor([{"answer": "x"}, {"answer": "y"}], {"answer": "fused"}))
    best = fd.BestOfN(qa(), n=2, scorer=fd.JudgeScorer())
    fused = fd.FusionOfN(qa(), n=2)
    for program in (best, fused):
        program.set_lm(lm)
    assert fused(question="q").answer == "fused"
    assert best(question="q").answer in {"x", "y"}  # the judge could not score: a seeded random pick


def test_cheap_model_samples_strong_model_fuses_with_set_lm_on_the_parts(no_default_model):
    cheap = ScriptedLM([{"answer": "draft"}, {"answer": "other draft"}], model="openai/cheap")
    strong = ScriptedLM({"answer": "polished"}, model="openai/strong")
    module = qa()
    program = fd.FusionOfN(module, n=2)
    module.set_lm(cheap)
    program.fuser.set_lm(strong)
    pred = program(question="q")
    assert pred.answer == "polished"
    assert len(cheap.calls) == 2 and not any(is_fusor_prompt(c.prompt) for c in cheap.calls)
    assert len(strong.calls) == 1 and is_fusor_prompt(strong.calls[0].prompt)


def test_a_predictor_pinned_lm_wins_over_the_samplers_lm_like_everywhere_in_dspy():
    pinned = ScriptedLM({"answer": "pinned"}, model="openai/pinned")
    sampler_lm = ScriptedLM({"answer": "sampler"}, model="openai/sampler")
    module = qa()
    module.lm = pinned
    pool = fd.RepeatSampler(2, lm=sampler_lm).bind(module).generate({"question": "q"})
    assert [c.text() for c in pool] == ["pinned", "pinned"]
    assert sampler_lm.calls == []
    assert module.lm is pinned


# 2. and 3. Bootstrapping sees the user's predictors, and never a rejected candidate


@pytest.mark.parametrize("pin", [False, True])
def test_bootstrap_few_shot_puts_demos_on_the_users_predictors(pin, request):
    lm = ScriptedLM(sampler_then_fusor([{"answer": "Paris"}, {"answer": "Paris, France"}], {"answer": "Paris"}))
    program = fd.FusionOfN(qa(), n=3)
    if pin:
        request.getfixturevalue("no_default_model")
        program.set_lm(lm)
    trainset = [dspy.Example(question=f"capital {i}?", answer="Paris").with_inputs("question") for i in range(3)]
    optimizer = dspy.BootstrapFewShot(
        metric=lambda ex, pred, trace=None: ex.answer == pred.answer, max_bootstrapped_demos=3, max_labeled_demos=0
    )
    with dspy.context(lm=None if pin else lm):
        compiled = optimizer.compile(program, trainset=trainset)
    predictors = dict(compiled.named_predictors())
    assert len(predictors["source.module"].demos) == 3
    assert len(predictors["aggregator.fuser.predict"].demos) == 3


def test_best_of_n_leaves_only_the_chosen_candidates_trace():
    lm = ScriptedLM([{"answer": "wrong 1"}, {"answer": "right"}, {"answer": "wrong 2"}])
    judge = ScriptedLM({"score": "3"})
    best = fd.BestOfN(qa(), N=3, scorer=fd.JudgeScorer(lm=judge))
    with dspy.context(lm=lm, trace=[]):
        pred = best(question="q")
        trace = list(dspy.settings.trace)
    assert len(trace) == 1  # no rejected candidate, no judge call
    predictor, _, outputs = trace[0]
    assert names(best)[id(predictor)] == "source.module"
    assert outputs.answer == pred.answer == pred.nofn.candidates[pred.nofn.chosen].text()


def test_bootstrapped_demos_never_hold_a_rejected_candidate():
    counter = itertools.count()
    lm = ScriptedLM(lambda prompt: {"answer": "right" if next(counter) % 3 == 1 else "wrong"})
    best = fd.BestOfN(qa(), N=3, reward_fn=lambda args, pred: float(pred.answer == "right"))
    trainset = [dspy.Example(question=f"q{i}", answer="right").with_inputs("question") for i in range(4)]
    optimizer = dspy.BootstrapFewShot(
        metric=lambda ex, pred, trace=None: ex.answer == pred.answer, max_bootstrapped_demos=4, max_labeled_demos=0
    )
    with dspy.context(lm=lm):
        compiled = optimizer.compile(best, trainset=trainset)
    demos = dict(compiled.named_predictors())["source.module"].demos
    assert len(demos) == 4
    assert {d.answer for d in demos} == {"right"}


def test_fusion_keeps_the_fusors_trace_and_the_candidates_that_gave_the_fused_answer():
    lm = ScriptedLM(sampler_then_fusor([{"answer": "Paris"}, {"answer": "Lyon"}], {"answer": "Paris"}))
    program = fd.FusionOfN(qa(), n=4)
    with dspy.context(lm=lm, trace=[]):
        program(question="Capital of France?")
        trace = list(dspy.settings.trace)
    kept = sorted((names(program)[id(p)], out.answer) for p, _, out in trace)
    assert kept == [("aggregator.fuser.predict", "Paris"), ("source.module", "Paris"), ("source.module", "Paris")]


def test_a_rewritten_fusor_answer_leaves_no_fusor_trace():
    lm = ScriptedLM(sampler_then_fusor([{"answer": "Au"}, {"answer": "Ag"}], {"answer": "Candidate 1"}))
    program = fd.FusionOfN(qa(), n=2, fuser=fd.Fuser(render=fd.RenderOptions(shuffle=False)))
    with dspy.context(lm=lm, trace=[]):
        pred = program(question="Symbol of gold?")
        trace = list(dspy.settings.trace)
    assert pred.answer == "Au"
    assert [(names(program)[id(p)], out.answer) for p, _, out in trace] == [("source.module", "Au")]


# 4. Fresh pools when the caller asks for them


def counting_lm():
    counter = itertools.count()
    return ScriptedLM(
        lambda prompt: {"answer": "fused"} if is_fusor_prompt(prompt) else {"answer": f"sample {next(counter)}"},
        cache=True,
    )


def sample_calls(lm):
    return [c for c in lm.calls if not is_fusor_prompt(c.prompt)]


def test_nesting_inside_dspy_best_of_n_samples_a_fresh_pool_per_attempt_reproducibly():
    lm = counting_lm()
    outer = dspy.BestOfN(fd.FusionOfN(qa(), n=2), N=3, reward_fn=lambda args, pred: 0.0, threshold=1.0)
    with dspy.context(lm=lm):
        outer(question="fresh pools, please")
    assert len(sample_calls(lm)) == 3 * 2
    with dspy.context(lm=lm):
        outer(question="fresh pools, please")
    assert len(sample_calls(lm)) == 3 * 2  # the same attempts again: all from the cache


def test_a_caller_rollout_on_the_context_lm_or_in_config_gives_a_new_pool():
    lm = counting_lm()
    program = fd.FusionOfN(qa(), n=2)

    def pool(**context):
        with dspy.context(**context):
            return [c.text() for c in program(question="q", **context.pop("call", {})).nofn.candidates]

    plain = pool(lm=lm)
    round_two = pool(lm=lm.copy(rollout_id=1, temperature=1.0))  # BootstrapFewShot's second round
    configured = pool(lm=lm, call={"config": {"rollout_id": 7}})
    assert len({*plain, *round_two, *configured}) == 6
    assert pool(lm=lm.copy(rollout_id=1, temperature=1.0)) == round_two  # reproducible from the cache


# 5. A shared Fuser is bound per signature


def test_a_fuser_shared_by_two_programs_answers_each_programs_own_fields():
    shared = fd.Fuser()
    drafts = itertools.count()
    first = fd.FusionOfN(qa(), n=2, fuser=shared)
    second = fd.FusionOfN(dspy.Predict("text -> summary"), n=2, fuser=shared)

    def respond(prompt):
        if is_fusor_prompt(prompt):
            return {"summary": "fused summary"} if "[[ ## summary ## ]]" in prompt else {"answer": "fused answer"}
        return {"summary": f"s{next(drafts)}"} if "summary" in prompt else {"answer": f"a{next(drafts)}"}

    with dspy.context(lm=ScriptedLM(respond)):
        assert first(question="q").answer == "fused answer"
        assert second(text="t").summary == "fused summary"
    assert first.fuser is shared
    assert first.fuser.predict is not second.fuser.predict


# 7. Drop-in for dspy.BestOfN


def test_dspy_best_of_n_arguments_are_accepted_positionally_with_a_plain_reward_function():
    lm = ScriptedLM([{"answer": "long answer"}, {"answer": "short"}, {"answer": "longer answer"}])
    best = fd.BestOfN(qa(), 3, lambda args, pred: -len(pred.answer), 0.0)
    with dspy.context(lm=lm):
        pred = best(question="q")
    assert pred.answer == "short"
    assert sorted(pred.nofn.scores) == [-13.0, -11.0, -5.0]


def test_a_plain_function_given_as_scorer_is_wrapped_not_an_error_at_call_time():
    with dspy.context(lm=ScriptedLM([{"answer": "a"}, {"answer": "bb"}])):
        pred = fd.BestOfN(qa(), n=2, scorer=lambda inputs, pred: len(pred.answer))(question="q")
    assert pred.answer == "bb"


def test_threshold_stops_sampling_and_cancels_the_calls_still_running():
    lm = ScriptedLM(
        lambda prompt: {"answer": "good"}, delay_s=lambda number, prompt: 0.05 if number == 0 else 5.0, cache=False
    )
    best = fd.BestOfN(qa(), N=3, reward_fn=lambda args, pred: 1.0, threshold=1.0)
    start = time.perf_counter()
    with dspy.context(lm=lm):
        pred = best(question="q")
    assert time.perf_counter() - start < 2.5  # not the 5 s of the slow calls
    assert pred.answer == "good"
    pool = pred.nofn.candidates
    assert len(pool.succeeded) == 1 and pool.early_stop == "stop_when" and pred.nofn.scores == [1.0, None, None]
    assert [c.status for c in pool] == ["ok", "cut", "cut"]  # the two slow calls were cancelled, recorded as cut
    assert len(lm.calls) == 1 and len(lm.cancelled) == 2


def test_threshold_with_a_scorer_that_compares_candidates_is_refused():
    with pytest.raises(fd.ConfigurationError, match="rates each candidate on its own"):
        fd.BestOfN(qa(), N=3, scorer=fd.MBRScorer(), threshold=0.5)


def test_fail_count_raises_once_more_calls_fail_than_allowed():
    answers = sampler_then_fusor([{"answer": "x"}], {"answer": "x"})
    lm = FailingLM(answers, fail_when=lambda number, prompt: not is_fusor_prompt(prompt) and number < 2)
    with dspy.context(lm=lm), pytest.raises(fd.TooManyFailuresError, match="2 of 3 candidate calls failed"):
        fd.BestOfN(qa(), N=3, fail_count=1)(question="q")
    lm = FailingLM(answers, fail_when=lambda number, prompt: not is_fusor_prompt(prompt) and number < 2)
    with dspy.context(lm=lm):
        assert fd.FusionOfN(qa(), N=3, fail_count=2)(question="q").answer == "x"


def test_n_and_N_must_agree():
    assert fd.BestOfN(qa(), N=4).source.n == 4
    with pytest.raises(fd.ConfigurationError, match="disagree"):
        fd.FusionOfN(qa(), n=3, N=4)


def test_chain_of_thought_keeps_its_reasoning_when_selected_and_when_fused():
    samples = [{"reasoning": f"because {a}", "answer": a} for a in ["7", "8", "7"]]
    lm = ScriptedLM(sampler_then_fusor(samples, {"reasoning": "two say 7", "answer": "7"}))
    cot = dspy.ChainOfThought("question -> answer")
    with dspy.context(lm=lm):
        selected = fd.BestOfN(cot, n=3, scorer=fd.MajorityVote())(question="q")
        fused = fd.FusionOfN(cot, n=3)(question="q")
    assert list(selected.keys()) == ["reasoning", "answer"] and selected.reasoning == "because 7"
    assert list(fused.keys()) == ["reasoning", "answer"] and fused.reasoning == "two say 7"
    assert fd.FusionOfN(cot, n=3).fuser.chain_of_thought


def test_a_non_reasoning_fusor_over_a_chain_of_thought_leaves_reasoning_empty_not_missing():
    samples = [{"reasoning": "r", "answer": "7"}, {"reasoning": "r", "answer": "8"}]
    lm = ScriptedLM(sampler_then_fusor(samples, {"answer": "7"}))
    with dspy.context(lm=lm):
        pred = fd.FusionOfN(dspy.ChainOfThought("question -> answer"), n=2, fuser=fd.Fuser())(question="q")
    assert list(pred.keys()) == ["reasoning", "answer"] and pred.reasoning is None


def test_the_trace_left_for_callers_keeps_dspys_size_bound():
    lm = ScriptedLM(sampler_then_fusor([{"answer": "Paris"}, {"answer": "Lyon"}], {"answer": "Paris"}))
    program = fd.FusionOfN(qa(), n=3)
    with dspy.context(lm=lm, trace=[], max_trace_size=5):
        for i in range(4):
            program(question=f"q{i}")
        assert len(dspy.settings.trace) == 5
