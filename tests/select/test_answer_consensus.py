"""AnswerConsensus: the answer fields of any signature, each read by its kind (no LM)."""

import asyncio
from enum import Enum
from typing import Literal

import dspy
import pytest
from pydantic import BaseModel

from fusion_dspy.candidates import Candidate, CandidatePool
from fusion_dspy.errors import ConfigurationError
from fusion_dspy.select.answer_consensus import AnswerConsensus
from fusion_dspy.select.answer_fields import answer_fields, content_kind, declared_kind, vote_key

QA = dspy.ensure_signature("question -> answer")
INPUTS = {"question": "How many apples are left?"}


class Colour(Enum):
    RED = "red"
    BLUE = "blue"


class City(BaseModel):
    name: str
    population: int


class Typed(dspy.Signature):
    """Answer with typed fields."""

    question: str = dspy.InputField()
    rationale: str = dspy.OutputField()
    count: int = dspy.OutputField()
    ok: bool = dspy.OutputField()
    grade: Literal["low", "high"] = dspy.OutputField()
    colour: Colour = dspy.OutputField()
    city: City = dspy.OutputField()
    tags: list[str] = dspy.OutputField()
    ratio: float | None = dspy.OutputField()


def pool(*outputs: dict) -> CandidatePool:
    return CandidatePool(candidates=[Candidate(index=i, outputs=o, source="m") for i, o in enumerate(outputs)])


def agreement(task, *outputs, inputs=INPUTS, consensus=None):
    return asyncio.run((consensus or AnswerConsensus()).aagreement(task, inputs, pool(*outputs)))


def test_chain_of_thought_fields_are_never_part_of_the_answer():
    assert answer_fields(dspy.ensure_signature("question -> reasoning, answer")) == ["answer"]
    assert answer_fields(Typed)[0] == "count" and "rationale" not in answer_fields(Typed)
    assert answer_fields(dspy.ensure_signature("question -> reasoning")) == ["reasoning"]  # nothing else to read


def test_declared_types_fix_the_kind():
    kinds = {name: declared_kind(field.annotation) for name, field in Typed.output_fields.items()}
    assert kinds == {"rationale": None, "count": "number", "ok": "exact", "grade": "exact", "colour": "exact",
                     "city": "json", "tags": "json", "ratio": "number"}  # fmt: skip


@pytest.mark.parametrize(
    ("values", "kind"),
    [
        (["18", "$18", "18 Meter", "The answer is 18.", "十八"], "number"),
        (["18", "I cannot tell", "19"], "number"),
        (["Paris", "paris.", "Lyon"], "short text"),
        (["Die Katze schläft auf der warmen Fensterbank.", "Die Katze döst auf der Fensterbank am Fenster."], "text"),
        (["", "  "], "text"),
    ],
)
def test_a_string_fields_kind_is_read_from_its_values(values, kind):
    assert content_kind(values) == kind


@pytest.mark.parametrize(
    ("values", "language"),
    [
        (["18", "18.0", "$18", "18 dollars", "The answer is 18.", "十八", "18 (3 × 6)"], None),
        (["1.000", "1000", "1 000", "1,000"], "de"),
        (["−5", "-5", "-5.0"], None),
        (["12,50", "12.5"], "fr"),
    ],
)
def test_every_numeral_style_votes_for_its_value(values, language):
    assert len({vote_key("number", v, language) for v in values}) == 1


def test_empty_values_back_nothing():
    assert vote_key("number", "", None) is None and vote_key("short text", None) is None
    result = agreement(QA, {"answer": ""}, {"answer": ""}, {"answer": "4"})
    assert not result.identical and result.scores == [0.0, 0.0, pytest.approx(1 / 3)]


def test_unanimous_numbers_in_different_styles_are_identical_and_reasoning_does_not_count():
    cot = dspy.ensure_signature("question -> reasoning, answer")
    result = agreement(
        cot,
        {"reasoning": "3 × 6 = 18", "answer": "18"},
        {"reasoning": "Six threes make eighteen.", "answer": "$18"},
        {"reasoning": "Count them: 18 apples.", "answer": "18 apples"},
    )
    assert result.identical and result.scores == [1.0, 1.0, 1.0]
    assert (result.answer_type, result.measure, result.votes) == ("number", "votes on the number in `answer`", True)


def test_numbers_are_read_in_the_inputs_language():
    german = {"question": "Wie viele Meter läuft James insgesamt pro Woche?"}
    assert agreement(QA, {"answer": "1.000"}, {"answer": "1000"}, inputs=german).identical
    assert not agreement(QA, {"answer": "1.000"}, {"answer": "1000"}).identical  # English: 1.000 is one


def test_typed_fields_pick_their_consensus_and_vote_field_by_field():
    def row(count, ok, grade, colour, city, tags, ratio):
        return {"rationale": f"because {count}", "count": count, "ok": ok, "grade": grade, "colour": colour,
                "city": city, "tags": tags, "ratio": ratio}  # fmt: skip

    paris = City(name="Paris", population=2_100_000)
    same = row(18, True, "high", Colour.RED, paris, ["a", "b"], 0.5)
    stored = row("18", True, "high", "red", {"population": 2_100_000, "name": "paris"}, ["a", "b"], "0.50")
    other = row(17, False, "low", Colour.BLUE, City(name="Lyon", population=500_000), ["c"], 0.25)
    result = agreement(Typed, same, stored, other)
    assert result.measure == (
        "votes on the number in `count`; exact votes on `ok`; exact votes on `grade`; exact votes on `colour`; "
        "votes on the canonical JSON of `city`; votes on the canonical JSON of `tags`; votes on the number in `ratio`"
    )
    assert result.answer_type == "number" and not result.votes and result.unit == "support"
    assert result.scores == [pytest.approx(2 / 3), pytest.approx(2 / 3), pytest.approx(1 / 3)]


def test_long_free_text_gets_the_chrf_consensus():
    translate = dspy.ensure_signature("source_text, target_language -> translation")
    result = agreement(
        translate,
        {"translation": "Die Katze schläft auf der warmen Fensterbank."},
        {"translation": "Die Katze schläft auf dem warmen Fensterbrett."},
        {"translation": "Der Hund bellt laut im großen Garten hinter dem Haus."},
        inputs={"source_text": "The cat sleeps on the warm windowsill.", "target_language": "German"},
    )
    assert (result.answer_type, result.measure, result.unit) == ("text", "chrF consensus on `translation`", "consensus")
    assert result.scores[0] > result.scores[2] and not result.votes


def test_an_invented_verifiable_value_under_a_majority_is_named():
    candidates = pool({"answer": "18"}, {"answer": "18 apples"}, {"answer": "20"})
    consensus = AnswerConsensus()
    invented = consensus.fused_support(QA, INPUTS, candidates, {"answer": "21"})
    assert invented.share == 0.0
    assert invented.invented == "`answer` '21' is given by no candidate; 2 of 3 give '18'"
    assert consensus.fused_support(QA, INPUTS, candidates, {"answer": "18.0"}).invented is None
    split = pool({"answer": "18"}, {"answer": "19"}, {"answer": "20"})
    assert consensus.fused_support(QA, INPUTS, split, {"answer": "21"}).invented is None  # no majority to go against


def test_the_kind_can_be_chosen_by_the_user():
    forced = AnswerConsensus(kinds={"answer": "text"})
    result = agreement(QA, {"answer": "18"}, {"answer": "19"}, consensus=forced)
    assert result.measure == "chrF consensus on `answer`" and forced.label == "AnswerConsensus(answer=text)"
    with pytest.raises(ConfigurationError, match="not answer fields"):
        agreement(QA, {"answer": "18"}, consensus=AnswerConsensus(kinds={"reasoning": "text"}))
    with pytest.raises(ConfigurationError, match="unknown answer kind"):
        AnswerConsensus(kinds={"answer": "numeric"})  # type: ignore[dict-item]
