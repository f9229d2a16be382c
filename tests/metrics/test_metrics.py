from asyncio import run as _run

import dspy
import pytest

from fusion_dspy.metrics import PairwiseJudge, answer_list_match, chrf_pp, numeric_match, parse_number, rouge_l
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


def test_text_metrics_are_bounded_and_reward_overlap():
    assert chrf_pp("Der Hund schläft.", "Der Hund schläft.") == pytest.approx(1.0)
    assert 0.0 < chrf_pp("Der Hund schläft", "Die Katze schläft") < chrf_pp("Der Hund schläft", "Der Hund schläft!")
    assert rouge_l("the cat sat on the mat", "the cat sat on the mat") == 1.0
    assert rouge_l("", "x") == 0.0
    assert 0 < rouge_l("the cat is here", "the cat sat on the mat") < 1


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
    with dspy.context(lm=ScriptedLM("garbage")):
        assert _run(judge.awin_rate("task", "x", "y")) == 0.5
