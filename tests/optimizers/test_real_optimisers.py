"""MIPROv2 and GEPA compile the fusor alone end to end (a smoke run with a scripted model that answers any
signature), so a real study does not fail hours in on an API mismatch (issue 13, point 3)."""

import json
import re

import pytest

from fusion_dspy.fuse import Fuser
from fusion_dspy.optimizers import FusorOnly, compile_fusor, feedback_metric
from fusion_dspy.testing import ScriptedLM
from tests.optimizers.test_strata import math_pools

BETTER = "Read every candidate; keep the right minority answer."
VALUES = {"reasoning": "Candidate 2 checks out.", "proposed_instruction": "Fuse with care.", "new_instruction": BETTER}


def any_signature(prompt: str):
    """Every output field the prompt asks for (DSPy's adapters list them), as JSON when it asks for JSON (GEPA's
    reflection does); the fusor answers the reference (42) only when its instructions say BETTER, which GEPA's
    reflection proposes."""
    block = re.search(r"Your output fields are:\n(.*?)\n\n", prompt, re.S)
    names = re.findall(r"`(\w+)`", block.group(1)) if block else []
    answer = "42" if BETTER in prompt else "41"
    fields = {name: answer if name == "answer" else VALUES.get(name, "A short text.") for name in names}
    return json.dumps(fields) if "Outputs will be a JSON object" in prompt else fields


@pytest.mark.timeout(120)
@pytest.mark.parametrize("budget", [None, 20])
@pytest.mark.parametrize("optimizer", ["mipro", "gepa"])
def test_the_optimiser_compiles_the_fusor(tmp_path, optimizer, budget):
    task, data = math_pools(tmp_path, [("41", "42", "41"), ("42", "42", "7"), ("7", "8", "42"), ("42", "7", "42"),
                                       ("42", "42", "42"), ("41", "41", "42")])  # fmt: skip
    lm = ScriptedLM(any_signature)
    program = FusorOnly(Fuser(chain_of_thought=True, lm=lm).bind(task.signature))
    compiled = compile_fusor(program, optimizer, task.metric, data[:4], data[4:], max_demos=1,
                             feedback=feedback_metric(task), budget=budget, threads=1)  # fmt: skip
    assert compiled is not program
    assert compiled(**data[0].inputs()).answer == ("42" if optimizer == "gepa" else "41")
    assert len(lm.calls) > len(data)  # it proposed, evaluated and compiled, not just copied
    if optimizer == "gepa":  # the reflection LM read the feedback on the fusor's wrong answers
        assert any("the reference is 42" in call.prompt and "copied candidate" in call.prompt for call in lm.calls)
    compiled.fuser.save(str(tmp_path / "fusor.json"))
    loaded = Fuser(chain_of_thought=True).bind(task.signature)
    loaded.load(str(tmp_path / "fusor.json"))
    instructions = compiled.fuser.predict.predict.signature.instructions
    assert loaded.predict.predict.signature.instructions == instructions  # what the registry stores is what ran
    assert (BETTER in instructions) == (optimizer == "gepa")  # GEPA kept the instruction that scored better


@pytest.mark.timeout(120)
def test_gepa_given_its_checkpoint_folder_again_continues_instead_of_starting_over(tmp_path):
    task, data = math_pools(tmp_path, [("41", "42", "41"), ("42", "42", "7"), ("7", "8", "42"), ("42", "7", "42"),
                                       ("42", "42", "42"), ("41", "41", "42")])  # fmt: skip
    runs = []
    for _ in range(2):
        lm = ScriptedLM(any_signature)
        program = FusorOnly(Fuser(chain_of_thought=True, lm=lm).bind(task.signature))
        compiled = compile_fusor(program, "gepa", task.metric, data[:4], data[4:], threads=1, budget=20,
                                 feedback=feedback_metric(task), checkpoint_dir=tmp_path / "gepa")  # fmt: skip
        runs.append((len(lm.calls), compiled.fuser.predict.predict.signature.instructions))
    assert (tmp_path / "gepa" / "gepa_state.bin").exists()
    (first_calls, first), (second_calls, second) = runs
    assert second == first and BETTER in second  # the same result, read back from the state
    assert second_calls < first_calls / 2  # the budget spent before is not spent again


def test_mipros_trials_leave_room_for_its_demo_sets_with_a_chain_of_thought_fusor(tmp_path, monkeypatch):
    """A chain-of-thought fusor gets no labeled demos, but MIPROv2 still bootstraps demo sets: the trials that
    fit the budget are counted after them."""
    import dspy

    from fusion_dspy.optimizers.budget import mipro_trials

    task, data = math_pools(tmp_path, [("41", "42", "41"), ("42", "42", "7"), ("7", "8", "42"), ("42", "7", "42"),
                                       ("42", "42", "42"), ("41", "41", "42")])  # fmt: skip
    asked = {}
    monkeypatch.setattr(dspy.MIPROv2, "compile", lambda self, student, **kwargs: asked.update(kwargs) or student)
    program = FusorOnly(Fuser(chain_of_thought=True, lm=ScriptedLM(any_signature)).bind(task.signature))
    compile_fusor(program, "mipro", task.metric, data[:4], data[4:], max_demos=1, budget=30, threads=1)
    assert asked["num_trials"] == mipro_trials(30, 4, 2, 1) == 6  # (30 − 4 demo sets × 4 − 2 default) / 2, not 14
    assert asked["data_aware_proposer"] is False  # ten pools in one summary prompt overflow a small model
