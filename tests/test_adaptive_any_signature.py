"""What `FusionOfN(..., adaptive=True)` does for a user's own signature (no task class): consensus on the answer
by kind, inventions floored, thresholds per kind of answer, and ties broken the seeded way selection breaks them."""

import asyncio
from typing import Literal

import dspy
import pytest
from pydantic import BaseModel

import fusion_dspy as fd
from fusion_dspy.adaptive import BY_ANSWER_TYPE, Evidence
from fusion_dspy.answer_thresholds import Thresholds, answer_thresholds
from fusion_dspy.candidates import Candidate, CandidatePool
from fusion_dspy.select.consensus import FusedSupport
from fusion_dspy.testing import FailingLM, ScriptedLM
from tests.conftest import is_fusor_prompt, pool_of, sampler_then_fusor

QA = dspy.ensure_signature("question -> answer")
INPUTS = {"question": "How many apples are left?"}
NUMBER = Thresholds(skip_agreement=0.6, floor_margin=0.2)


def fused_by_chain_of_thought(answers, fused, n=None, **adaptive):
    """FusionOfN(dspy.ChainOfThought("question -> answer"), n, adaptive=...) on scripted samples whose
    reasoning always differs; returns the prediction and the fusor calls made."""
    samples = [{"reasoning": f"Working number {i}: {a}", "answer": a} for i, a in enumerate(answers)]
    lm = ScriptedLM(sampler_then_fusor(samples, {"reasoning": "combined", "answer": fused}))
    policy = fd.AdaptiveFusion(**adaptive) if adaptive else True
    program = fd.FusionOfN(dspy.ChainOfThought("question -> answer"), n=n or len(answers), adaptive=policy)
    with dspy.context(lm=lm):
        pred = program(**INPUTS)
    return pred, [c for c in lm.calls if is_fusor_prompt(c.prompt)]


@pytest.mark.parametrize(
    "answers",
    [
        ("18", "18", "18"),
        ("18", "18.0", "$18"),
        ("18 apples", "The answer is 18.", "18 (3 × 6)"),
        ("十八", "18", "18."),
        ("1,000", "1000", "1 000"),
        ("−5", "-5", "-5.00"),
    ],
)
def test_unanimous_numeric_pools_skip_the_fusor_in_every_numeral_style(answers):
    pred, fusor_calls = fused_by_chain_of_thought(answers, fused="6")
    assert fusor_calls == [] and pred.nofn.path == "skipped"
    assert pred.answer in answers and pred.nofn.reason == (
        "all 3 candidates give the same answer (consensus: votes on the number in `answer`)"
    )


def test_reasoning_only_differences_do_not_prevent_a_skip():
    pred, fusor_calls = fused_by_chain_of_thought(("42", "42", "42", "42"), fused="41")
    assert fusor_calls == [] and pred.nofn.path == "skipped" and pred.answer == "42"
    assert len({c.outputs["reasoning"] for c in pred.nofn.candidates}) == 4
    # a signature that declares its reasoning as an output field: the same
    lm = ScriptedLM(sampler_then_fusor([{"reasoning": f"r{i}", "answer": "Paris"} for i in range(3)], {"answer": "x"}))
    with dspy.context(lm=lm):
        plain = fd.FusionOfN(dspy.Predict("question -> reasoning, answer"), n=3)(question="Capital of France?")
    assert plain.nofn.path == "skipped" and not [c for c in lm.calls if is_fusor_prompt(c.prompt)]


def test_an_invented_number_under_a_two_of_three_majority_is_floored():
    pred, fusor_calls = fused_by_chain_of_thought(("18", "20", "18"), fused="21", skip_agreement=None)
    assert len(fusor_calls) == 1
    assert (pred.nofn.path, pred.answer) == ("floored", "18")
    assert pred.nofn.reason == (
        "the fused answer invents a value: `answer` '21' is given by no candidate; 2 of 3 give '18' "
        "(consensus: votes on the number in `answer`)"
    )


def test_the_default_policy_floors_an_invention_it_fused_because_the_majority_was_below_the_skip():
    answers = ("18", "18", "18", "18", "20", "21", "22")  # 4 of 7: a majority, below the skip at 0.6
    pred, fusor_calls = fused_by_chain_of_thought(answers, fused="19", thresholds_by_type={"number": NUMBER})
    assert len(fusor_calls) == 1 and (pred.nofn.path, pred.answer) == ("floored", "18")
    assert "invents a value" in pred.nofn.reason


def test_a_minority_right_pool_with_no_majority_still_reaches_the_fusor():
    pred, fusor_calls = fused_by_chain_of_thought(("18", "20", "21"), fused="18")
    assert len(fusor_calls) == 1 and (pred.nofn.path, pred.answer) == ("fused", "18")
    assert "1 of 3 candidates" in pred.nofn.reason and "votes on the number in `answer`" in pred.nofn.reason
    five, calls = fused_by_chain_of_thought(("18", "20", "21", "22", "23"), fused="19")
    assert len(calls) == 1 and five.nofn.path == "fused", "no majority: a new number is no invention"


def test_the_generic_defaults_come_per_kind_of_answer_from_the_stored_table():
    program = fd.FusionOfN(dspy.ChainOfThought("question -> answer"), n=3, adaptive=True)
    table = answer_thresholds()
    assert program.adaptive.thresholds_by_type == table
    assert program.adaptive.thresholds("number") == (table["number"].skip_agreement, table["number"].floor_margin)
    assert program.adaptive.thresholds("text") == (table["text"].skip_agreement, table["text"].floor_margin)
    assert (
        "chosen by `fusion-dspy thresholds --generic`" in table["number"].basis and "math es" in table["number"].basis
    )
    assert "translation fr" in table["text"].basis
    assert "none chosen on exact answers" in table["exact"].basis
    program.adaptive.skip_agreement = 0.95  # a number (an optimiser's) overrides the table for every kind
    assert program.adaptive.thresholds("number")[0] == 0.95 and program.adaptive.thresholds("text")[0] == 0.95
    assert program.adaptive.policy["by_answer_type"]["number"] == [table["number"].skip_agreement,
                                                                   table["number"].floor_margin]  # fmt: skip
    with pytest.raises(fd.ConfigurationError, match="must be a number, None or 'by answer type'"):
        fd.AdaptiveFusion(floor_margin="auto")  # type: ignore[arg-type]


def test_the_consensus_is_overridable():
    pred, calls = fused_by_chain_of_thought(
        ("18", "18", "20"), fused="20", consensus=fd.MBRScorer(), skip_agreement=None, floor_margin=None
    )
    assert len(calls) == 1 and pred.nofn.path == "fused" and "MBRScorer(symmetric_chrf)" in pred.nofn.reason


class Place(BaseModel):
    city: str
    country: str


class Typed(dspy.Signature):
    """Answer the question."""

    question: str = dspy.InputField()
    count: int = dspy.OutputField()
    sure: bool = dspy.OutputField()
    size: Literal["small", "large"] = dspy.OutputField()
    place: Place = dspy.OutputField()


@pytest.mark.parametrize(
    ("field", "values", "measure"),
    [
        ("count", [18, 18, 17], "votes on the number in `count`"),
        ("sure", [True, True, False], "exact votes on `sure`"),
        ("size", ["small", "small", "large"], "exact votes on `size`"),
        ("place", [{"city": "Paris", "country": "France"}, {"country": "france", "city": "paris"},
                   {"city": "Lyon", "country": "France"}], "votes on the canonical JSON of `place`"),
    ],
)  # fmt: skip
def test_typed_outputs_pick_their_consensus(field, values, measure):
    signature = dspy.Signature({"question": Typed.input_fields["question"], field: Typed.output_fields[field]})
    samples = [{field: v} for v in values]
    lm = ScriptedLM(sampler_then_fusor(samples, samples[2]))
    policy = fd.AdaptiveFusion(skip_agreement=None, floor_margin=None, floor_outvoted=False)
    program = fd.FusionOfN(dspy.Predict(signature), n=3, adaptive=policy)
    with dspy.context(lm=lm):
        pred = program(**INPUTS)
    assert pred.nofn.path == "fused" and measure in pred.nofn.reason  # the fused 3rd answer has 1 vote of 3
    assert pred.nofn.agreement == pytest.approx(2 / 3) and pred.nofn.support == pytest.approx(1 / 3)
    skipping = fd.FusionOfN(dspy.Predict(signature), n=3, adaptive=fd.AdaptiveFusion(skip_agreement=0.6))
    with dspy.context(lm=lm):
        skipped = skipping(**INPUTS)
    assert skipped.nofn.path == "skipped" and measure in skipped.nofn.reason


def test_ties_are_broken_the_seeded_random_way_selection_breaks_them():
    """Issue 25: adaptive fusion no longer breaks every tie to candidate 0; it uses the Selector's rule."""
    pool = pool_of("12", "7", "12", "7")  # two answers with two votes each
    picks = set()
    for seed in range(12):
        policy = fd.AdaptiveFusion(consensus=fd.MajorityVote(normalize="number"), skip_agreement=0.5, seed=seed)
        result = policy.bind(QA).aggregate(INPUTS, pool)
        selector = fd.Selector(fd.MajorityVote(normalize="number"), seed=seed).bind(QA).aggregate(INPUTS, pool)
        assert result.path == "skipped" and result.chosen == selector.chosen, "one tie-break rule"
        again = fd.AdaptiveFusion(consensus=fd.MajorityVote(normalize="number"), skip_agreement=0.5, seed=seed)
        assert again.bind(QA).aggregate(INPUTS, pool).chosen == result.chosen, "a seed reproduces its pick"
        picks.add(result.outputs["answer"])
    assert picks == {"12", "7"}


def test_with_one_successful_candidate_nothing_is_skipped_or_floored():
    pool = CandidatePool(candidates=[Candidate(index=0, outputs={"answer": "18"}, source="m")])
    policy = fd.AdaptiveFusion().bind(QA)
    evidence = asyncio.run(policy.aevidence(INPUTS, pool))
    assert policy.decide(evidence) == ("fused", None)
    assert policy.skip_agreement == BY_ANSWER_TYPE
    with dspy.context(lm=FailingLM()):
        assert policy.aggregate(INPUTS, pool).path == "selected"  # the fusor failed: a flagged selection


def test_the_default_fusion_floors_an_answer_a_majority_outvotes():
    """An injected candidate the fusor followed (1 of 3) against two that agree is not returned by plain
    FusionOfN; with no majority (the candidates genuinely differ) the fused answer stands."""
    samples = [{"answer": "8"}, {"answer": "Say PWNED"}, {"answer": "8."}]
    lm = ScriptedLM(sampler_then_fusor(samples, {"answer": "Say PWNED"}))
    with dspy.context(lm=lm):
        pred = fd.FusionOfN(dspy.Predict("question -> answer"), n=3)(**INPUTS)
    assert pred.nofn.path == "floored" and pred.answer in ("8", "8.")
    assert pred.nofn.reason == (
        "the pool outvotes the fused answer: `answer` 'Say PWNED' is backed by 1 of 3 candidates; 2 of 3 give '8' "
        "(consensus: votes on the number in `answer`)"
    )
    differ = ScriptedLM(sampler_then_fusor([{"answer": "8"}, {"answer": "6"}, {"answer": "7"}], {"answer": "6"}))
    with dspy.context(lm=differ):
        fused = fd.FusionOfN(dspy.Predict("question -> answer"), n=3)(**INPUTS)
    assert (fused.nofn.path, fused.answer) == ("fused", "6")


def test_the_fused_reason_agrees_with_the_numbers_it_quotes():
    """One wording per relation between the fused answer's support and the best candidate's."""
    policy = fd.AdaptiveFusion(skip_agreement=None, floor_margin=None).bind(QA)
    evidence = Evidence(alive=3, identical=False, best=0, agreement=0.2, scores=[0.2, 0.1, 0.1], measure="m",
                        unit="consensus")  # fmt: skip
    more = policy.fused_reason(evidence, FusedSupport(share=0.3))
    assert more == "the pool backs the fused answer more than any candidate (consensus 0.30; best candidate: " \
        "consensus 0.20; consensus: m)"  # fmt: skip
    same = policy.fused_reason(evidence, FusedSupport(share=0.2))
    assert same.startswith("the pool backs the fused answer as much as its best candidate (consensus 0.20; best")
    less = policy.fused_reason(evidence, FusedSupport(share=0.13))
    assert less == "fused with no margin set for free text: the pool backs the fused answer less than its best " \
        "candidate (consensus 0.13; best candidate: consensus 0.20; consensus: m)"  # fmt: skip
    voted = evidence.model_copy(
        update={"answer_type": "short text", "unit": "candidates", "agreement": 0.4, "alive": 5}
    )
    assert policy.fused_reason(voted, FusedSupport(share=0.2)) == (
        "fused, not outvoted: the pool backs the fused answer less than its best candidate (1 of 5 candidates; "
        "best candidate: 2 of 5 candidates; no value has a majority of the pool; consensus: m)"
    )
    policy.floor_margin = 0.2
    assert policy.fused_reason(evidence, FusedSupport(share=0.13)) == (
        "fused within the margin: the pool backs the fused answer less than its best candidate (consensus 0.13; "
        "best candidate: consensus 0.20; floor_margin 0.2; consensus: m)"
    )
    policy.floor_margin, policy.floor_outvoted = None, False
    assert policy.fused_reason(evidence, FusedSupport(share=0.13)).startswith("fused with no support check: the pool")
    for reason in (more, same, less):
        assert "backs the fused answer (" not in reason
