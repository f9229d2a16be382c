"""Issue 10, done-when: FusionOfN as one step of a two-step program, compiled by BootstrapFewShot and MIPROv2
(scripted LM, tiny budgets), saved, loaded into a fresh instance, and answering identically from a warm cache."""

import itertools
import re
from collections.abc import Callable

import dspy
import pytest

import fusion_dspy as fd
from fusion_dspy.testing import ScriptedLM, format_fields

_ASKED = re.compile(r"\[\[ ## (\w+) ## \]\]")
VALUES = {"answer": "Paris", "reasoning": "It is the capital.", "summary": "PARIS", "proposed_instruction": "Be exact."}


def responder() -> Callable[[str], str]:
    """Answer whatever output fields the prompt asks for (task steps, fusor, and MIPROv2's proposer); candidates
    disagree (Paris, Lyon in turn), so the fusor is called and settles on Paris."""
    turn = itertools.count()

    def respond(prompt: str) -> str:
        asked = _ASKED.findall(prompt.split("Respond with the corresponding output fields")[-1])
        names = [n for n in dict.fromkeys(asked) if n != "completed"]
        values = dict(VALUES)
        if "answer" in names and "<candidate 1>" not in prompt and next(turn) % 2:
            values["answer"] = "Lyon"
        return format_fields({name: values.get(name, f"some {name}") for name in names})

    return respond


class AnswerThenSummarise(dspy.Module):
    def __init__(self):
        super().__init__()
        # The fusor decides every pool: the default's outvoted check would keep a 2-of-3 `Lyon` over its `Paris`.
        # This is about compiling, saving and loading a composed program, so the check is off.
        plain = fd.AdaptiveFusion(fd.Fuser(chain_of_thought=True), skip_agreement=None, floor_margin=None,
                                  floor_invention=False, floor_outvoted=False)  # fmt: skip
        self.answer = fd.FusionOfN(dspy.ChainOfThought("question -> answer"), n=3, adaptive=plain)
        self.summarise = dspy.Predict("answer -> summary")

    def forward(self, question):
        return self.summarise(answer=self.answer(question=question).answer)


def metric(example, prediction, trace=None):
    return prediction.summary == example.summary


def examples(prefix, count):
    return [dspy.Example(question=f"{prefix} {i}?", summary="PARIS").with_inputs("question") for i in range(count)]


@pytest.mark.parametrize("optimizer", ["bootstrap", "mipro"])
def test_a_composed_program_compiles_saves_loads_and_answers_identically(optimizer, tmp_path):
    lm = ScriptedLM(responder(), cache=True)
    with dspy.context(lm=lm):
        if optimizer == "bootstrap":
            teleprompter = dspy.BootstrapFewShot(metric=metric, max_bootstrapped_demos=2, max_labeled_demos=0)
            compiled = teleprompter.compile(AnswerThenSummarise(), trainset=examples("train", 3))
        else:
            teleprompter = dspy.MIPROv2(
                metric=metric, auto=None, num_candidates=2, max_bootstrapped_demos=1, max_labeled_demos=0,
                num_threads=2, verbose=False, track_stats=False,
            )  # fmt: skip
            compiled = teleprompter.compile(
                AnswerThenSummarise(), trainset=examples("train", 4), valset=examples("val", 3), num_trials=2,
                minibatch=False,
            )  # fmt: skip
        predictors = dict(compiled.named_predictors())
        assert set(predictors) == {
            "answer.source.module.predict", "answer.aggregator.fuser.predict.predict", "summarise",
        }  # fmt: skip
        if optimizer == "bootstrap":  # MIPROv2 may keep a zero-shot set: its choice
            assert predictors["answer.aggregator.fuser.predict.predict"].demos, "the fusor got bootstrapped demos"
            assert predictors["answer.source.module.predict"].demos, "the wrapped module got bootstrapped demos"
        for demo in predictors["answer.source.module.predict"].demos:
            assert demo.answer == "Paris"

        path = tmp_path / "program.json"
        compiled.save(str(path))
        restored = AnswerThenSummarise()
        restored.load(str(path))
        assert restored.dump_state() == compiled.dump_state()

        tests = examples("held out", 2)
        expected = [compiled(**ex.inputs()).toDict() for ex in tests]
        served = len(lm.calls)
        assert [restored(**ex.inputs()).toDict() for ex in tests] == expected
        assert len(lm.calls) == served, "the restored program sent exactly the compiled program's requests"
