"""AdaptiveFusion: every path (skipped, fused, floored, selected) on scripted pools, and its place in FusionOfN."""

import asyncio

import dspy
import optuna
import pytest

import fusion_dspy as fd
from fusion_dspy.answer_thresholds import Thresholds, answer_thresholds
from fusion_dspy.select.answer_fields import ANSWER_KINDS
from fusion_dspy.testing import FailingLM, ScriptedLM
from tests.conftest import is_fusor_prompt, pool_of, sampler_then_fusor

QA = dspy.ensure_signature("question -> answer")
TRANSLATE = dspy.ensure_signature("source_text, target_language -> translation")
INPUTS = {"question": "How many apples are left?"}
DE = {"source_text": "The cat sleeps on the warm windowsill.", "target_language": "German"}
GOOD = [
    "Die Katze schläft auf der warmen Fensterbank.",
    "Die Katze schläft auf dem warmen Fensterbrett.",
    "Die Katze schläft auf der warmen Fensterbank.",
    "Die Katze döst auf der warmen Fensterbank.",
]


def votes(**thresholds):
    return fd.AdaptiveFusion(fd.Fuser(), consensus=fd.MajorityVote(normalize="number"), **thresholds).bind(QA)


FIXED = {kind: Thresholds(skip_agreement=0.9, floor_margin=0.2) for kind in ANSWER_KINDS}  # not the stored table


def text(**thresholds):
    return fd.AdaptiveFusion(fd.Fuser(), thresholds_by_type=FIXED, **thresholds).bind(TRANSLATE)


def fusor_lm(answer: dict) -> ScriptedLM:
    def respond(prompt):
        assert is_fusor_prompt(prompt), "only the fusor is called when aggregating a given pool"
        return answer

    return ScriptedLM(respond)


def run(aggregator, inputs, pool, lm):
    with dspy.context(lm=lm):
        return aggregator.aggregate(inputs, pool)


def test_identical_candidates_skip_the_fusor():
    result = run(votes(skip_agreement=None, floor_margin=None), INPUTS, pool_of("4", "4", None, "4"), FailingLM())
    assert (result.path, result.method, result.outputs) == ("skipped", "selected", {"answer": "4"})
    assert result.chosen in (0, 1, 3)  # equally backed: the seeded tie-break picks one of them
    assert result.reason == "all 3 candidates give the same answer (consensus: MajorityVote(number))"


def test_answers_equal_up_to_case_and_punctuation_count_as_identical():
    result = run(text(skip_agreement=None), DE, pool_of("Die Katze schläft.", "die katze schläft", field="translation"),
                 FailingLM())  # fmt: skip
    assert result.path == "skipped" and result.chosen in (0, 1)


def test_a_majority_of_verifiable_answers_skips_the_fusor():
    pool = pool_of("It is 12.", "7", "12", "12.0", "9")
    result = run(votes(skip_agreement=0.6), INPUTS, pool, FailingLM())
    assert result.path == "skipped" and result.chosen in (0, 2, 3)
    assert result.outputs == {"answer": ["It is 12.", "12", "12.0"][(0, 2, 3).index(result.chosen)]}
    assert "3 of 5 candidates" in result.reason and result.agreement == pytest.approx(0.6)


def test_below_the_skip_threshold_the_fusor_is_called_and_a_supported_answer_stands():
    lm = fusor_lm({"answer": "12"})
    result = run(votes(skip_agreement=0.8, floor_margin=0.0), INPUTS, pool_of("12", "7", "12", "9", "12"), lm)
    assert len(lm.calls) == 1
    assert (result.path, result.method, result.outputs) == ("fused", "fused", {"answer": "12"})
    assert result.support == pytest.approx(0.6) and result.agreement == pytest.approx(0.6)
    assert result.reason.startswith("the pool backs the fused answer as much as its best candidate (3 of 5 candidates")


def test_a_fused_answer_no_candidate_gave_is_floored_to_the_majority():
    lm = fusor_lm({"answer": "6"})
    result = run(votes(skip_agreement=None, floor_margin=0.0), INPUTS, pool_of("5", "4", "4"), lm)
    assert len(lm.calls) == 1
    assert (result.path, result.method, result.outputs) == ("floored", "selected", {"answer": "4"})
    assert result.chosen in (1, 2)
    assert result.reason.startswith("the fused answer invents a value: answer '6' is given by no candidate; 2 of 3")
    assert result.support == 0.0


def test_the_floor_margin_lets_a_minority_answer_stand():
    pool = pool_of("5", "4", "4", "3", "4")
    strict = run(votes(skip_agreement=None, floor_margin=0.0), INPUTS, pool, fusor_lm({"answer": "5"}))
    lenient = run(votes(skip_agreement=None, floor_margin=0.4), INPUTS, pool, fusor_lm({"answer": "5"}))
    assert strict.path == "floored" and strict.outputs == {"answer": "4"}
    assert lenient.path == "fused" and lenient.outputs == {"answer": "5"}


def test_close_free_text_candidates_skip_the_fusor_on_consensus():
    pool = pool_of(*GOOD, field="translation")
    result = run(text(skip_agreement=0.75), DE, pool, FailingLM())
    assert result.path == "skipped" and result.chosen in (0, 2)
    assert "consensus" in result.reason


def test_a_free_text_outlier_is_floored_and_a_blend_stands():
    pool = pool_of(*GOOD, field="translation")
    outlier = run(
        text(skip_agreement=None, floor_margin=0.2), DE, pool, fusor_lm({"translation": "Der Hund bellt im Garten."})
    )
    assert outlier.path == "floored" and outlier.outputs["translation"] == GOOD[0]
    blend = run(
        text(skip_agreement=None), DE, pool, fusor_lm({"translation": "Die Katze schläft auf der Fensterbank."})
    )
    assert blend.path == "fused" and blend.outputs["translation"] == "Die Katze schläft auf der Fensterbank."
    assert blend.support > outlier.support


def test_a_negative_floor_margin_keeps_a_fused_answer_only_when_it_beats_the_best_candidate_by_that_much():
    pool = pool_of(*GOOD, field="translation")
    blend = {"translation": "Die Katze schläft auf der warmen Fensterbank."}  # as central as the best candidate
    kept = run(text(skip_agreement=None, floor_margin=0.0), DE, pool, fusor_lm(blend))
    assert kept.path == "fused" and kept.support >= kept.agreement
    demanding = run(text(skip_agreement=None, floor_margin=-0.5), DE, pool, fusor_lm(blend))
    assert demanding.path == "floored" and demanding.outputs["translation"] in GOOD
    assert "does not beat by the margin" in demanding.reason and "floor_margin -0.5" in demanding.reason
    never = run(text(skip_agreement=None, floor_margin=-1.0), DE, pool, fusor_lm(blend))
    assert never.path == "floored"
    with pytest.raises(fd.ConfigurationError, match=r"floor_margin must be in \[-1, 1\]"):
        text(floor_margin=-1.5)


def test_under_a_vote_a_negative_margin_selects_without_calling_the_fusor():
    pool = pool_of("12", "7", "12", "9")  # no fused answer can outpoll 12's two votes, so no call can stand
    result = run(votes(skip_agreement=None, floor_margin=-0.01), INPUTS, pool, FailingLM())
    assert (result.path, result.method, result.outputs) == ("floored", "selected", {"answer": "12"})
    assert (
        result.chosen in (0, 2) and "without a fusor call" in result.reason and "MajorityVote(number)" in result.reason
    )
    lm = fusor_lm({"answer": "12"})
    at_zero = run(votes(skip_agreement=None, floor_margin=0.0), INPUTS, pool, lm)  # equal support may stand
    assert at_zero.path == "fused" and len(lm.calls) == 1


@pytest.mark.parametrize(
    ("thresholds", "answers", "fused"),
    [
        ({"skip_agreement": 0.6}, ("12", "7", "12", "12", "9"), "7"),  # skipped
        ({"skip_agreement": None, "floor_margin": -0.01}, ("12", "7", "12", "9"), "12"),  # floored with no call
        ({"skip_agreement": None, "floor_margin": 0.0}, ("5", "4", "4"), "6"),  # floored after the call
        ({"skip_agreement": None, "floor_margin": 0.0}, ("12", "7", "12", "9"), "12"),  # fused
        ({"skip_agreement": None, "floor_margin": 0.4}, ("5", "4", "4", "3", "4"), "5"),  # fused: the margin
    ],
)
def test_decide_on_stored_evidence_takes_the_path_aggregating_takes(thresholds, answers, fused):
    """Threshold tuning replays `decide` on stored pools; it must agree with what aggregating them does."""
    adaptive, pool, lm = votes(**thresholds), pool_of(*answers), fusor_lm({"answer": fused})
    result = run(adaptive, INPUTS, pool, lm)
    evidence = asyncio.run(adaptive.aevidence(INPUTS, pool))
    before_call, _ = adaptive.decide(evidence)
    assert (before_call == "fused") == (len(lm.calls) == 1)  # "fused" before the call means: call the fusor
    path, reason = adaptive.decide(evidence, adaptive.fused_support(INPUTS, pool, {"answer": fused}))
    assert path == result.path
    assert reason == (None if path == "fused" else result.reason)


def test_one_successful_candidate_is_fused_without_skip_or_floor():
    lm = fusor_lm({"answer": "13"})
    result = run(votes(skip_agreement=0.5, floor_margin=0.0), INPUTS, pool_of(None, "12", None), lm)
    assert len(lm.calls) == 1 and result.path == "fused" and result.outputs == {"answer": "13"}


def test_a_fusor_that_fails_falls_back_to_a_flagged_selection():
    lm = FailingLM()
    result = run(votes(skip_agreement=None, floor_margin=0.0), INPUTS, pool_of("5", "4", "4"), lm)
    assert result.path == "selected" and result.method == "selected" and "fusor failed" in result.fallback


def test_thresholds_are_plain_attributes_an_optuna_study_can_tune():
    aggregator = votes(skip_agreement=None, floor_margin=None)
    pool = pool_of("5", "4", "4")

    def objective(trial):
        aggregator.floor_margin = trial.suggest_categorical("floor_margin", [None, 0.0])
        with dspy.context(lm=fusor_lm({"answer": "6"})):
            return float(aggregator.aggregate(INPUTS, pool).outputs["answer"] == "4")

    optuna.logging.set_verbosity(optuna.logging.WARNING)
    study = optuna.create_study(
        direction="maximize", sampler=optuna.samplers.GridSampler({"floor_margin": [None, 0.0]})
    )
    study.optimize(objective, n_trials=2)
    assert study.best_params == {"floor_margin": 0.0} and study.best_value == 1.0
    assert aggregator.policy["consensus"] == "MajorityVote(number)"


@pytest.mark.parametrize(("name", "value"), [("skip_agreement", 1.5), ("floor_margin", -1.1)])
def test_out_of_range_thresholds_name_the_fix(name, value):
    with pytest.raises(fd.ConfigurationError, match=f"{name} must be in"):
        fd.AdaptiveFusion(**{name: value})


def test_fusion_of_n_never_sends_identical_candidates_to_the_fusor():
    """Issue 9: `4`, `4` were fused into `6` by the small model."""
    lm = ScriptedLM(sampler_then_fusor([{"answer": "4"}], {"answer": "6"}))
    with dspy.context(lm=lm):
        pred = fd.FusionOfN(dspy.Predict("question -> answer"), n=2)(question="What is 2 + 2?")
    assert pred.answer == "4"
    assert pred.nofn.path == "skipped" and pred.nofn.method == "selected"
    assert not [c for c in lm.calls if is_fusor_prompt(c.prompt)]
    assert pred.nofn.usage.aggregation.lm_calls == 0


def test_fusion_of_n_default_fuses_disagreeing_candidates_without_a_floor():
    lm = ScriptedLM(sampler_then_fusor([{"answer": "4"}, {"answer": "5"}], {"answer": "6"}))
    with dspy.context(lm=lm):
        pred = fd.FusionOfN(dspy.Predict("question -> answer"), n=2)(question="What is 2 + 2?")
    assert pred.answer == "6" and pred.nofn.path == "fused"


def test_fusion_of_n_adaptive_option_floors_an_outlier():
    diverse = [  # consensus about 0.4-0.5: below any skip threshold the table holds
        "Die Katze schläft auf der warmen Fensterbank.",
        "Auf dem warmen Fensterbrett schläft die Katze.",
        "Die Katze liegt schlafend auf dem warmen Sims.",
        "Die Katze döst am warmen Fenster.",
    ]
    samples = [{"translation": t} for t in diverse]
    lm = ScriptedLM(sampler_then_fusor(samples, {"translation": "Der Hund bellt im Garten."}))
    program = fd.FusionOfN(dspy.Predict(TRANSLATE), n=4, adaptive=True)
    with dspy.context(lm=lm):
        pred = program(**DE)
    assert pred.nofn.path == "floored" and pred.translation in diverse
    assert program.adaptive.skip_agreement == program.adaptive.floor_margin == "by answer type"
    stored = answer_thresholds()["text"]
    assert program.adaptive.thresholds("text") == (stored.skip_agreement, stored.floor_margin)
    assert "chrF consensus on `translation`" in pred.nofn.reason
    with pytest.raises(fd.ConfigurationError, match="AdaptiveFusion"):
        fd.FusionOfN(dspy.Predict(TRANSLATE), n=2, fuser=fd.Fuser(), adaptive=fd.AdaptiveFusion())


def test_a_state_saved_before_the_fusor_moved_still_loads(tmp_path):
    program = fd.FusionOfN(dspy.Predict("question -> answer"), n=2)
    program.fuser.predict.signature = program.fuser.predict.signature.with_instructions("Tuned")
    legacy = {key.replace("aggregator.fuser.", "aggregator."): value for key, value in program.dump_state().items()}
    restored = fd.FusionOfN(dspy.Predict("question -> answer"), n=2)
    restored.load_state(legacy)
    assert restored.fuser.predict.signature.instructions == "Tuned"


def test_tasks_bring_their_consensus_and_thresholds(tmp_path, monkeypatch):
    from fusion_dspy.programs import adaptive_defaults, task_by_name
    from fusion_dspy.programs.adaptive_defaults import Thresholds, load_thresholds, save_thresholds

    monkeypatch.setattr(adaptive_defaults, "default_path", lambda: tmp_path / "adaptive.json")
    math = task_by_name("math")().adaptive_fusion()
    assert math.consensus.label == "MajorityVote(number)" and math.fuser.chain_of_thought
    assert (math.skip_agreement, math.floor_margin) == (0.6, 0.0)
    assert task_by_name("translation")().adaptive_fusion().consensus.label == "MBRScorer(symmetric_chrf)"
    save_thresholds("math", Thresholds(skip_agreement=0.8, floor_margin=0.2, basis="tuning slice"))
    assert load_thresholds("math") == Thresholds(skip_agreement=0.8, floor_margin=0.2, basis="tuning slice")
    tuned = task_by_name("math")().adaptive_fusion()
    assert (tuned.skip_agreement, tuned.floor_margin) == (0.8, 0.2)
    assert load_thresholds("translation") is None
