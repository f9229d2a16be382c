"""The study report's pieces that need no study: code blocks, the tuned fusor's demos, and the held-out result
with its permutation test and the examples that carry it."""

import dspy

from fusion_dspy.fuse import Fuser
from fusion_dspy.optimizers.fusor_only import FusorOnly
from fusion_dspy.optimizers.heldout import held_out_of
from fusion_dspy.optimizers.report import check_lines, fenced, fusor_lines, held_out_lines
from fusion_dspy.programs import task_by_name


def test_a_code_block_in_instructions_does_not_end_the_reports_block():
    assert fenced("Use:\n```\nprint(1)\n```") == ["````", "Use:\n```\nprint(1)\n```", "````"]
    assert fenced("plain") == ["```", "plain", "```"]


def test_the_fusor_section_tells_labeled_from_bootstrapped_demos():
    fusor = FusorOnly(Fuser().bind(task_by_name("math").signature))
    assert fusor.fuser.predict is not None
    fusor.fuser.predict.demos = [dspy.Example(answer="1"), dspy.Example(answer="2", augmented=True)]
    lines = fusor_lines(fusor)
    assert lines[0] == "`fuser.predict`: 2 demos (1 labeled, 1 bootstrapped); instructions:"
    assert lines[3] == fusor.fuser.predict.signature.instructions


def test_no_checks_yet_says_how_to_add_them():
    assert check_lines(None) == ["None yet: `optimize --replicate LIMIT` and `--ablate` add them."]


def test_the_held_out_section_gives_the_permutation_p_and_the_result_without_the_top_two():
    # gains 0.4, 0.3, 0.1 and a loss of 0.1 (sum 0.7): of the 16 sign flips, |sum| ≥ 0.7 when ±0.4 and ±0.3 share
    # a sign and the two ±0.1 are not both against them: 2 × 3 = 6 of 16
    scores = {"a": (0.0, 0.4), "b": (0.2, 0.5), "c": (0.5, 0.6), "d": (0.5, 0.4)}
    lines = held_out_lines(0.3, 0.475, held_out_of(scores, {"a": "hard"}))
    assert lines[0].startswith("Default fusor 0.300 → tuned 0.475 on the held-out examples: paired difference +0.175")
    assert lines[0].endswith("; paired permutation p = 0.375 (exact, 2^4 sign flips).")
    assert "without" not in lines[0] and "(`a` (+0.400), `b` (+0.300)): +0.000, 95% CI" in lines[2]
    assert "| hard | 1 | 0.000 | 0.400 |" in lines
    legacy = held_out_of(scores, {}).model_copy(update={"pairs": {}})  # an entry from before pairs were kept
    assert held_out_lines(0.3, 0.475, legacy)[1] == ""  # no test, no influence line: nothing invented
