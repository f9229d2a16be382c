"""Provenance: which candidates a fused answer came from, and how much of it is new — no LM call."""

import dspy
import pytest

import fusion_dspy as fd
from fusion_dspy.provenance import covered, provenance_of, units
from fusion_dspy.testing import ScriptedLM
from tests.conftest import pool_of, sampler_then_fusor


def test_units_are_words_and_single_cjk_characters():
    assert units("Die Katze, schläft!") == ["die", "katze", "schläft"]
    assert units("東京は首都です。Tokyo") == ["東", "京", "は", "首", "都", "で", "す", "tokyo"]
    assert units("１２ and 6,100.5 m") == ["12", "and", "6,100.5", "m"]


def test_a_copied_answer_is_fully_supported_by_its_source_and_nothing_is_new():
    pool = pool_of("Mount Kilimanjaro is the tallest mountain in Africa.", "Kilimanjaro", None)
    result = provenance_of("Mount Kilimanjaro is the tallest mountain in Africa.", pool, "answer")
    assert result.support[0] == 1.0 and result.support[2] is None
    assert result.support[1] == pytest.approx(1 / 8)
    assert result.new == 0.0 and result.taken == 1.0 and result.units == 8


def test_text_in_no_candidate_is_new():
    pool = pool_of("Kilimanjaro is the tallest mountain in Africa.", "Kilimanjaro, in Tanzania.")
    result = provenance_of("Kilimanjaro is the tallest mountain in Africa, at 6,100 metres.", pool, "answer")
    assert result.new == pytest.approx(3 / 10)
    assert result.support == pytest.approx([7 / 10, 0.0])


def test_short_answers_and_a_number_no_candidate_gave():
    assert provenance_of("4", pool_of("4", "4"), "answer").new == 0.0
    made = provenance_of("6", pool_of("4", "4"), "answer")
    assert made.new == 1.0 and made.support == [0.0, 0.0]
    assert provenance_of("", pool_of("4"), "answer").units == 0


def test_trigrams_decide_support_so_common_words_alone_do_not():
    assert covered(["the", "cat", "sat"], ["the", "dog", "sat", "the", "cat"]) == [False, False, False]
    assert covered(["the", "cat", "sat"], ["so", "the", "cat", "sat", "down"]) == [True, True, True]


def test_every_prediction_carries_its_provenance():
    lm = ScriptedLM(sampler_then_fusor([{"answer": "Paris"}, {"answer": "Lyon"}], {"answer": "Paris or Lyon"}))
    with dspy.context(lm=lm):
        pred = fd.FusionOfN(dspy.Predict("question -> answer"), n=2)(question="Where?")
    provenance = pred.nofn.provenance
    assert provenance.field == "answer" and provenance.support == [pytest.approx(1 / 3), pytest.approx(1 / 3)]
    assert provenance.new == pytest.approx(1 / 3)
