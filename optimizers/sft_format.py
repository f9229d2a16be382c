"""Supervised fine-tuning examples rendered exactly as the fusor's prompt is served: DSPy's adapter formats the
messages (system instructions, demos, the pool) and the model's own chat template (read from its GGUF, which the
llama.cpp server applies too) turns them into tokens. The loss falls on the answer only."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import dspy
from pydantic import BaseModel

from fusion_dspy.optimizers.fusor_only import FusorOnly

IGNORE = -100
"""The label that torch's cross-entropy skips: prompt tokens teach nothing."""


class SftTokens(BaseModel):
    """One tokenised example: the whole conversation's ids and the labels (prompt positions set to IGNORE)."""

    input_ids: list[int]
    labels: list[int]

    @property
    def answer_tokens(self) -> int:
        return sum(1 for label in self.labels if label != IGNORE)


def fusor_predictor(program: FusorOnly) -> dspy.Predict:
    """The fusor's one predictor (a chain of thought's inner Predict)."""
    found = [p for _, p in program.named_predictors()]
    if len(found) != 1:
        raise ValueError(f"a fusor program has one predictor; this one has {len(found)}.")
    return found[0]


def sft_messages(program: FusorOnly, example: dspy.Example, outputs: dict[str, Any]) -> list[dict[str, Any]]:
    """The chat messages of one fusor call on `example` answered with `outputs`, as the adapter in use (DSPy's
    ChatAdapter unless one is configured) renders them: the same system message, demos and user message the fusor
    sends when it serves, then the answer as the assistant's message."""
    predictor = fusor_predictor(program)
    adapter = dspy.settings.adapter or dspy.ChatAdapter()
    inputs = example.inputs().toDict()
    messages = adapter.format(predictor.signature, list(predictor.demos), inputs)
    answer = adapter.format_assistant_message_content(predictor.signature, outputs)
    return [*messages, {"role": "assistant", "content": answer}]


def tokenize(tokenizer: Any, messages: Sequence[dict[str, Any]], max_tokens: int) -> SftTokens | None:
    """The conversation in the tokenizer's chat template, prompt masked; None when it is longer than `max_tokens`
    (cutting it would train on an answer whose question was cut)."""
    prompt = tokenizer.apply_chat_template(list(messages[:-1]), tokenize=False, add_generation_prompt=True)
    whole = tokenizer.apply_chat_template(list(messages), tokenize=False)
    if not whole.startswith(prompt):
        raise ValueError("the chat template renders the prompt differently with the answer; cannot mask it.")
    prompt_ids = tokenizer(prompt, add_special_tokens=False)["input_ids"]
    answer_ids = tokenizer(whole[len(prompt) :], add_special_tokens=False)["input_ids"]
    if len(prompt_ids) + len(answer_ids) > max_tokens:
        return None
    return SftTokens(input_ids=prompt_ids + answer_ids, labels=[IGNORE] * len(prompt_ids) + answer_ids)
