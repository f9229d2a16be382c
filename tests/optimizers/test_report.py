"""The study report's pieces that need no study: code blocks and the tuned fusor's demos."""

import dspy

from fusion_dspy.fuse import Fuser
from fusion_dspy.optimizers.fusor_only import FusorOnly
from fusion_dspy.optimizers.report import check_lines, fenced, fusor_lines
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
