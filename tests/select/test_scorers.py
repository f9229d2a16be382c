import dspy
import pytest

import fusion_dspy as fd
from fusion_dspy.select.base import top_candidates
from fusion_dspy.select.mbr import chrf, symmetric_chrf
from fusion_dspy.select.registry import scorer_by_name
from fusion_dspy.testing import FakeModelServer, ScriptedLM
from tests.conftest import pool_of

QA = dspy.ensure_signature("question -> answer")
INPUTS = {"question": "What is the boiling point of water at sea level in Celsius?"}


def pick(scorer, pool, lm=None):
    selector = fd.Selector(scorer).bind(QA)
    if lm is None:
        return selector.aggregate(INPUTS, pool)
    with dspy.context(lm=lm):
        return selector.aggregate(INPUTS, pool)


def test_majority_vote_picks_the_most_common_normalised_answer():
    result = pick(fd.MajorityVote(), pool_of("Ninety", "100 degrees.", "100 Degrees", None, "ninety", "100 degrees"))
    assert result.chosen in {1, 2, 5}
    assert result.scores == [0.4, 0.6, 0.6, None, 0.4, 0.6]


def test_majority_vote_by_final_number_ignores_wording_and_thousands_commas():
    pool = pool_of("It is 1,200.", "1300", "The total is 1200", "so 1200.0")
    result = pick(fd.MajorityVote(normalize="number"), pool)
    assert result.chosen in {0, 2, 3}
    assert result.outputs["answer"] != "1300"
    assert result.scores == [0.75, 0.25, 0.75, 0.75]


def test_ties_are_broken_at_random_with_the_seed_not_given_to_the_first_sample():
    pool = pool_of("11", "16", "0")  # majority vote has no signal here: every answer is alone
    questions = [{"question": f"problem {i}"} for i in range(60)]

    def chosen(seed):
        selector = fd.Selector(fd.MajorityVote(normalize="number"), seed=seed).bind(QA)
        return [selector.aggregate(q, pool).chosen for q in questions]

    picks = chosen(0)
    assert picks == chosen(0)  # reproducible
    assert picks != chosen(1)
    assert {picks.count(i) for i in range(3)} <= set(range(10, 31))  # each candidate about a third of the time
    assert top_candidates([1 / 3] * 3, pool) == [0, 1, 2]
    assert top_candidates([0.5, None, 0.9], pool) == [2]
    assert top_candidates([None, None, None], pool) == [0, 1, 2]


def test_majority_vote_rejects_unknown_normaliser():
    with pytest.raises(ValueError, match="normalize"):
        fd.MajorityVote(normalize="roman")


def test_mbr_picks_the_consensus_candidate():
    pool = pool_of(
        "Water boils at 100 degrees Celsius at sea level.",
        "At sea level water boils at 100 degrees Celsius.",
        "Bananas are yellow and rich in potassium.",
        "Water boils at 100 degrees Celsius.",
    )
    result = pick(fd.MBRScorer(), pool)
    assert result.chosen in (0, 3)
    assert result.scores[2] == min(result.scores)


def test_mbr_prefers_two_identical_candidates_over_a_quoted_copy():
    """One-directional chrF (β=2) let a candidate that adds quotes around two identical ones outscore them."""
    pool = pool_of("Bonjour, comment allez-vous?", "Bonjour, comment allez-vous?", '"Bonjour, comment allez-vous?"')
    result = pick(fd.MBRScorer(), pool)
    assert result.chosen == 0
    assert result.scores[0] == result.scores[1] > result.scores[2]
    old = pick(fd.MBRScorer(similarity=chrf), pool)
    assert old.chosen == 2, "the one-directional chrF this replaced picked the quoted copy"


def test_symmetric_chrf_is_symmetric_and_support_matches_the_candidate_score():
    a, b = "Die Katze schläft.", '"Die Katze schläft auf dem Sofa."'
    assert symmetric_chrf(a, b) == symmetric_chrf(b, a) < 1.0
    assert symmetric_chrf(a, a) == 1.0
    texts = ["Die Katze schläft.", "Die Katze schläft gern.", "Der Hund bellt."]
    scores = fd.MBRScorer().score(QA, INPUTS, pool_of(*texts))
    assert [fd.MBRScorer().support(t, texts) for t in texts] == pytest.approx(scores)
    assert fd.MajorityVote(normalize="number").support("so 12", ["12", "12.0", "7"]) == pytest.approx(2 / 3)


def test_mbr_with_one_candidate_and_custom_similarity():
    assert pick(fd.MBRScorer(), pool_of(None, "only")).chosen == 1
    exact = fd.MBRScorer(similarity=lambda a, b: float(a == b))
    assert pick(exact, pool_of("x", "y", "y")).chosen == 1


def test_reward_fn_sync_async_and_failures():
    def length(inputs, prediction):
        if prediction.answer == "boom":
            raise RuntimeError("reward model down")
        return len(prediction.answer)

    async def shortest(inputs, prediction):
        return -len(prediction.answer)

    pool = pool_of("a", "abc", "boom", "ab")
    result = pick(fd.RewardFn(length), pool)
    assert result.chosen == 1 and result.scores[2] is None
    assert pick(fd.RewardFn(shortest), pool).chosen == 0


def judge_lm(scores: dict[str, int]) -> ScriptedLM:
    def respond(prompt):
        response = prompt.split("[[ ## response ## ]]")[-1]
        return {"score": next(s for text, s in scores.items() if text in response)}

    return ScriptedLM(respond)


def test_judge_scorer_picks_the_highest_rated_and_clamps():
    lm = judge_lm({"boils at 100": 9, "90 degrees": 2, "hundred": 15})
    result = pick(fd.JudgeScorer(), pool_of("It boils at 100 C", "90 degrees", "a hundred"), lm)
    assert result.scores == [9.0, 2.0, 10.0]
    assert result.chosen == 2
    assert len(lm.calls) == 3
    assert lm.max_overlap() >= 1


def test_judge_failure_scores_none_and_selection_falls_back():
    lm = ScriptedLM("not a score at all")
    result = pick(fd.JudgeScorer(), pool_of("x", "y"), lm)
    assert result.scores == [None, None]
    assert result.chosen in {0, 1}
    assert "could not score" in result.fallback


@pytest.mark.parametrize("scorer", [fd.JudgeScorer, fd.PairwiseScorer])
def test_judges_see_candidates_cut_to_the_same_budget_as_the_fusor(scorer):
    import re

    long = [letter * 20_000 for letter in "xyz"]
    pool = pool_of(*long)
    lm = ScriptedLM(lambda prompt: {"score": 5} if "[[ ## response ## ]]" in prompt else {"verdict": "tie"})
    pick(scorer(), pool, lm)
    fused = ScriptedLM({"answer": "x"})
    with dspy.context(lm=fused):
        fd.Fuser(QA).aggregate(INPUTS, pool)
    [note] = set(re.findall(r"\[truncated \d+ characters\]", fused.calls[0].prompt))  # the fusor's cut
    for call in lm.calls:  # judges saw the full 20,000 characters before
        assert note in call.prompt
        assert len(call.prompt) < 2 * 20_000


def pairwise_lm(rank: list[str]) -> ScriptedLM:
    """Prefers the response that appears earlier in `rank`, whatever the order shown."""

    def respond(prompt):
        a = prompt.split("[[ ## response_a ## ]]")[-1].split("[[ ## response_b ## ]]")[0]
        b = prompt.split("[[ ## response_b ## ]]")[-1]
        pos_a = next(i for i, t in enumerate(rank) if t in a)
        pos_b = next(i for i, t in enumerate(rank) if t in b)
        return {"verdict": "A" if pos_a < pos_b else "B" if pos_b < pos_a else "tie"}

    return ScriptedLM(respond)


def test_pairwise_judges_both_orders_and_picks_the_winner():
    lm = pairwise_lm(["best", "middle", "worst"])
    result = pick(fd.PairwiseScorer(), pool_of("worst", "best", None, "middle"), lm)
    assert result.chosen == 1
    assert result.scores == [0.0, 1.0, None, 0.5]
    assert len(lm.calls) == 6


def test_pairwise_position_bias_cancels_out():
    always_a = ScriptedLM({"verdict": "A"})
    result = pick(fd.PairwiseScorer(), pool_of("x", "y", "z"), always_a)
    assert result.scores == [0.5, 0.5, 0.5]
    assert result.chosen == 0


def test_scorers_by_name():
    assert isinstance(scorer_by_name("judge"), fd.JudgeScorer)
    assert isinstance(scorer_by_name("mbr"), fd.MBRScorer)
    with pytest.raises(fd.ConfigurationError, match="choose one of"):
        scorer_by_name("oracle")


def test_llm_scorers_expose_their_predictors_for_optimisation():
    best = fd.BestOfN(dspy.Predict("question -> answer"), n=2, scorer=fd.JudgeScorer())
    assert [n for n, _ in best.named_predictors()] == ["source.module", "aggregator.scorer.judge"]


@pytest.mark.parametrize("scorer", [fd.JudgeScorer, fd.PairwiseScorer])
@pytest.mark.parametrize(("status", "cause"), [(401, "authentication failed"), (404, "unknown model")])
def test_a_judge_that_can_never_answer_raises_naming_the_fix(scorer, status, cause):
    """Issue 26.10: a 401 on the judge became "could not score" and a random pick."""
    with FakeModelServer(rejected_models={"judge": status}) as server:
        sampler = dspy.LM("openai/fake", api_base=server.base_url, api_key="k", cache=False, num_retries=0)
        judge = dspy.LM("openai/judge", api_base=server.base_url, api_key="k", cache=False, num_retries=0)
        program = fd.BestOfN(dspy.Predict("question -> answer"), n=3, scorer=scorer(lm=judge))
        with dspy.context(lm=sampler), pytest.raises(fd.JudgeError, match=rf"{cause}.*on_permanent_error='select'"):
            program(question="q")


@pytest.mark.parametrize("scorer", [fd.JudgeScorer, fd.PairwiseScorer])
def test_a_broken_judge_under_select_scores_nothing_and_warns_once(scorer, caplog):
    from fusion_dspy.lm import failures

    failures._warned.clear()
    with FakeModelServer(rejected_models={"judge": 401}) as server:
        judge = dspy.LM("openai/judge", api_base=server.base_url, api_key="k", cache=False, num_retries=0)
        chosen = scorer(lm=judge, on_permanent_error="select")
        with caplog.at_level("WARNING", logger="fusion_dspy.lm.failures"):
            results = [pick(chosen, pool_of("Au", "Ag", "Cu")) for _ in range(2)]
    assert all(r.fallback and "could not score" in r.fallback for r in results)
    assert len([r for r in caplog.records if "judge cannot run" in r.getMessage()]) == 1
