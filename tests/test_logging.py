"""Feedback from the Python API (issue 27.4): the `fusion_dspy` logger says what a call is doing at INFO, and
says nothing unless asked."""

import itertools
import subprocess
import sys
import textwrap

import dspy

import fusion_dspy as fd
from fusion_dspy.testing import ScriptedLM


def drafts_then(fused):
    answers = itertools.cycle([{"answer": "Kilimanjaro"}, {"answer": "Mount Kenya"}, {"answer": "Kibo"}])
    return ScriptedLM(lambda prompt: fused if "<candidate 1>" in prompt else next(answers))


def test_a_call_logs_the_pool_the_fusor_call_and_the_path_at_info(caplog):
    with caplog.at_level("INFO", logger="fusion_dspy"), dspy.context(lm=drafts_then({"answer": "Kilimanjaro"})):
        fd.FusionOfN(dspy.Predict("question -> answer"), n=3)(question="Tallest mountain in Africa?")
    lines = [r.getMessage() for r in caplog.records if r.name.startswith("fusion_dspy")]
    assert any(line.startswith("pool done: 3 of 3 candidates answered in ") for line in lines), lines
    assert any(line.startswith("fusor call: 3 candidates, ") for line in lines)
    assert any(line.startswith("fusor answered in ") for line in lines)
    assert any(line.startswith("answer: fused (") for line in lines)
    assert all(r.levelname == "INFO" for r in caplog.records if r.name.startswith("fusion_dspy"))


def test_a_fallback_is_logged_with_its_reason(caplog):
    with caplog.at_level("INFO", logger="fusion_dspy"), dspy.context(lm=drafts_then({"answer": "{response}"})):
        fd.FusionOfN(dspy.Predict("question -> answer"), n=3)(question="Tallest mountain in Africa?")
    lines = [r.getMessage() for r in caplog.records]
    assert any(line.startswith("fusor fell back to selection: fusor wrote a template placeholder") for line in lines)


def test_nothing_is_printed_unless_logging_is_turned_on():
    code = textwrap.dedent(
        """
        import itertools, logging, sys
        import dspy
        import fusion_dspy as fd
        from fusion_dspy.testing import ScriptedLM
        answers = itertools.cycle([{"answer": "a"}, {"answer": "b"}])
        lm = ScriptedLM(lambda p: {"answer": "a"} if "<candidate 1>" in p else next(answers))
        with dspy.context(lm=lm):
            fd.FusionOfN(dspy.Predict("question -> answer"), n=2)(question="q")
        if sys.argv[1] == "on":
            logging.basicConfig(level=logging.WARNING)
            logging.getLogger("fusion_dspy").setLevel(logging.INFO)
            with dspy.context(lm=lm):
                fd.FusionOfN(dspy.Predict("question -> answer"), n=2)(question="q2")
        """
    )
    off = subprocess.run([sys.executable, "-c", code, "off"], capture_output=True, text=True, timeout=300)
    assert off.returncode == 0, off.stderr
    assert "pool done" not in off.stderr and "fusor call" not in off.stderr
    on = subprocess.run([sys.executable, "-c", code, "on"], capture_output=True, text=True, timeout=300)
    assert on.returncode == 0, on.stderr
    assert "INFO:fusion_dspy.compose:pool done: 2 of 2" in on.stderr and "INFO:fusion_dspy.fuse:fusor call" in on.stderr
