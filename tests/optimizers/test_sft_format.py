"""Training examples render the fusor's prompt exactly as the fusor sends it when it serves (issue 29)."""

import dspy

from fusion_dspy.fuse import Fuser
from fusion_dspy.optimizers.fusor_only import FusorOnly
from fusion_dspy.optimizers.sft_format import IGNORE, sft_messages, tokenize
from fusion_dspy.testing import ScriptedLM
from tests.optimizers.test_strata import math_pools


def test_the_training_prompt_is_the_prompt_the_fusor_sends(tmp_path):
    task, [example] = math_pools(tmp_path, [("7", "7", "42")])
    lm = ScriptedLM({"reasoning": "Candidate 3 adds correctly.", "answer": "42"})
    fusor = FusorOnly(Fuser(chain_of_thought=True, lm=lm).bind(task.signature))
    demo = example.copy(reasoning="The majority is right.", answer="42")
    fusor.fuser.predict.predict.demos = [demo]  # demos are part of the served prompt too
    fusor(**example.inputs().toDict())
    messages = sft_messages(fusor, example, {"reasoning": "Candidate 3 adds correctly.", "answer": "42"})
    assert [m["role"] for m in messages[:2]] == ["system", "user"] and messages[-1]["role"] == "assistant"
    assert "\n".join(m["content"] for m in messages[:-1]) == lm.calls[0].prompt
    assert "[[ ## answer ## ]]\n42" in messages[-1]["content"]
    assert messages[-1]["content"].rstrip().endswith("[[ ## completed ## ]]")


def test_a_configured_adapter_renders_the_training_example_too(tmp_path):
    task, [example] = math_pools(tmp_path, [("42", "42", "7")])
    fusor = FusorOnly(Fuser(chain_of_thought=False, lm=ScriptedLM({"answer": "42"})).bind(task.signature))
    with dspy.context(adapter=dspy.JSONAdapter()):
        messages = sft_messages(fusor, example, {"answer": "42"})
    assert '"answer": "42"' in messages[-1]["content"]


class CharTokenizer:
    """A tokenizer with a plain chat template: one id per character (what `tokenize` needs of a tokenizer)."""

    def apply_chat_template(self, messages, tokenize=False, add_generation_prompt=False):
        text = "".join(f"<{m['role']}>{m['content']}</>" for m in messages)
        return text + ("<assistant>" if add_generation_prompt else "")

    def __call__(self, text, add_special_tokens=False):
        return {"input_ids": [ord(c) for c in text]}


def test_the_loss_falls_on_the_answer_only_and_long_examples_are_left_out():
    messages = [{"role": "user", "content": "2+2?"}, {"role": "assistant", "content": "4"}]
    tokens = tokenize(CharTokenizer(), messages, max_tokens=100)
    assert tokens is not None
    answer = [chr(i) for i, label in zip(tokens.input_ids, tokens.labels, strict=True) if label != IGNORE]
    assert "".join(answer) == "4</>"
    assert tokens.answer_tokens == 4
    assert tokenize(CharTokenizer(), messages, max_tokens=len(tokens.input_ids) - 1) is None
