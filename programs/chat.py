"""Open-ended chat: one prompt in, one helpful response out — the program behind `fusion-dspy run`."""

from __future__ import annotations

import dspy


class Respond(dspy.Signature):
    """Answer the user's request helpfully, accurately and concisely, in the language of the request."""

    prompt: str = dspy.InputField(desc="The user's request")
    response: str = dspy.OutputField(desc="The answer to the request")


def respond_program(chain_of_thought: bool = False) -> dspy.Module:
    """The chat program: `Predict(Respond)`, or with a reasoning step first."""
    return dspy.ChainOfThought(Respond) if chain_of_thought else dspy.Predict(Respond)
