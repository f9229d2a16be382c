from asyncio import run as _run

import dspy
import pytest

from fusion_dspy.metrics import (
    JudgementFailedError,
    Measurement,
    PairwiseJudge,
    answer_list_match,
    chrf_pp,
    corpus_chrf_pp,
    normalise_answer,
    numeric_match,
    parse_number,
    rouge_l,
)
from fusion_dspy.testing import ScriptedLM


@pytest.mark.parametrize(
    ("text", "number"),
    [("The answer is 1,234.", 1234.0), ("3.5 km", 3.5), ("1.234.567", 1234567.0), ("-7", -7.0), ("none", None)],
)
def test_parse_number(text, number):
    assert parse_number(text) == number


def test_numeric_match_uses_the_final_number():
    assert numeric_match("5 + 13 = 18, so she makes 18 dollars", "18") == 1.0
    assert numeric_match("18.0", "18") == 1.0
    assert numeric_match("It is 17", "18") == 0.0
    assert numeric_match("no idea", "18") == 0.0


def test_answer_list_match():
    assert answer_list_match("WHOI", ["Woods Hole Oceanographic Institution", "WHOI"]) == 1.0
    assert answer_list_match("It is in Paris, France.", ["Paris"]) == 1.0
    assert answer_list_match("Parisian", ["Paris"]) == 0.0
    assert answer_list_match("ウッズホール海洋研究所です", ["ウッズホール海洋研究所 (Uzzuhōru Kaiyō Kenkyūjo)"]) == 1.0
    assert answer_list_match("Uzzuhōru Kaiyō Kenkyūjo", ["ウッズホール海洋研究所 (Uzzuhōru Kaiyō Kenkyūjo)"]) == 1.0
    assert answer_list_match("", ["x"]) == 0.0


@pytest.mark.parametrize(
    ("predicted", "accepted", "question"),
    [
        ("Paris or Lyon", ["Lyon"], ""),  # a hedge
        ("Not Tokyo, it is Osaka", ["Tokyo"], ""),  # a negation
        ("東京ではなく大阪です", ["東京"], ""),
        ("मुझे नहीं पता", ["वुड्स होल ओशनोग्राफिक इंस्टीट्यूशन (Woods Hole Oceanographic Institution)", "हू"], ""),
        ("南アフリカです", ["南"], ""),  # 1-2 character answers are no substrings
        ("わかりません", ["は"], ""),
        (
            "The Woods Hole Oceanographic Institution is home to it",  # restating the question
            ["Woods Hole Oceanographic Institution"],
            "Which institution is home to the Woods Hole Oceanographic Institution?",
        ),
    ],
)
def test_answer_list_match_gives_no_credit_for_hedges_negations_or_restating(predicted, accepted, question):
    assert answer_list_match(predicted, accepted, question) == 0.0


@pytest.mark.parametrize(
    ("predicted", "accepted"),
    [("Nile", ["the Nile"]), ("the Nile", ["Nile"]), ("1947年", ["1947"]), ("1947", ["1947年"]), ("南", ["南"])],
)
def test_answer_list_match_forgives_articles_and_counters(predicted, accepted):
    assert answer_list_match(predicted, accepted) == 1.0


def test_normalising_keeps_devanagari_vowel_signs():
    assert normalise_answer("मुझे नहीं पता!") == "मुझे नहीं पता"
    assert normalise_answer("पाँच") != normalise_answer("पच")


def test_text_metrics_are_bounded_and_reward_overlap():
    assert chrf_pp("Der Hund schläft.", "Der Hund schläft.") == pytest.approx(1.0)
    assert 0.0 < chrf_pp("Der Hund schläft", "Die Katze schläft") < chrf_pp("Der Hund schläft", "Der Hund schläft!")
    assert rouge_l("the cat sat on the mat", "the cat sat on the mat") == 1.0
    assert rouge_l("", "x") == 0.0
    assert 0 < rouge_l("the cat is here", "the cat sat on the mat") < 1


def test_rouge_l_cuts_every_string_of_a_language_alike():
    assert rouge_l("今天天气很好", "今天天气不错") == pytest.approx(2 / 3)  # was 0.0: short strings were one token
    assert rouge_l("the cat sat.", "The cat sat") == 1.0  # punctuation is not a token
    assert rouge_l("ภาษาไทยง่าย", "ภาษาไทยยาก") > 0.5


def test_corpus_chrf_pools_statistics_over_segments():
    hypotheses, references = ["Der Hund schläft.", "Ja"], ["Der Hund schläft.", "Nein, danke"]
    mean_of_sentences = sum(chrf_pp(h, r) for h, r in zip(hypotheses, references, strict=True)) / 2
    assert corpus_chrf_pp(hypotheses, references) != pytest.approx(mean_of_sentences)
    assert corpus_chrf_pp(["Der Hund schläft."], ["Der Hund schläft."]) == pytest.approx(1.0)
    assert corpus_chrf_pp([], []) == 0.0


def test_pairwise_judge_averages_both_orders():
    def prefer(text):
        def respond(prompt):
            a = prompt.split("[[ ## response_a ## ]]")[-1].split("[[ ## response_b ## ]]")[0]
            return {"verdict": "A" if text in a else "B"}

        return ScriptedLM(respond)

    judge = PairwiseJudge()
    with dspy.context(lm=prefer("good")):
        assert _run(judge.awin_rate("task", "good answer", "bad answer")) == 1.0
        assert _run(judge.awin_rate("task", "bad answer", "good answer")) == 0.0
    with dspy.context(lm=ScriptedLM({"verdict": "A"})):
        assert _run(judge.awin_rate("task", "x", "y")) == 0.5


def test_failed_judgements_are_counted_not_scored_as_ties():
    judge = PairwiseJudge()
    with dspy.context(lm=ScriptedLM("garbage")):
        measured = _run(judge.ameasure("task", "x", "y"))
        assert measured == Measurement(score=None, failed_judgements=2)  # was a score of 0.5
        with pytest.raises(JudgementFailedError, match="metric-judge-model"):
            _run(judge.awin_rate("task", "x", "y"))

    def first_order_only(prompt):  # answers when the candidate is shown first, garbage otherwise
        a = prompt.split("[[ ## response_a ## ]]")[-1].split("[[ ## response_b ## ]]")[0]
        return {"verdict": "A"} if "candidate" in a else "garbage"

    with dspy.context(lm=ScriptedLM(first_order_only)):
        assert _run(judge.ameasure("task", "candidate", "baseline")) == Measurement(score=1.0, failed_judgements=1)
