"""Fusion as one step of a larger DSPy program.

Step 1 answers a question with Fusion-of-N (N chain-of-thought samples, fused); step 2 turns the fused answer
into a one-line summary. Both steps are ordinary DSPy modules, so the whole pipeline can be evaluated,
optimised and saved like any other program.

By default it is sized for a first run on a laptop CPU: the small embedded model, 3 candidates, short answers.
`--full` uses the default embedded model, 5 candidates and the usual 512-token answers (minutes on 2 CPU cores).

    python examples/compose_pipeline.py "Why do leaves change colour in autumn?"
    python examples/compose_pipeline.py "Why do leaves change colour in autumn?" --full
"""

from __future__ import annotations

import argparse

import dspy

import fusion_dspy as fd


class AnswerThenSummarise(dspy.Module):
    def __init__(self, n: int = 3) -> None:
        super().__init__()
        self.answer = fd.FusionOfN(dspy.ChainOfThought("question -> answer"), n=n)
        self.summarise = dspy.Predict("answer -> one_line_summary")

    def forward(self, question: str) -> dspy.Prediction:
        fused = self.answer(question=question)
        summary = self.summarise(answer=fused.answer).one_line_summary
        return dspy.Prediction(answer=fused.answer, summary=summary, candidates=len(fused.nofn.candidates.succeeded))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("question", nargs="?", default="Why do leaves change colour in autumn?")
    parser.add_argument("--full", action="store_true", help="local, 5 candidates, 512 tokens (the real thing, slower)")
    parser.add_argument("--model", help="'local', 'local-small' or a litellm model string (default: local-small)")
    parser.add_argument("-n", type=int, help="candidates to fuse (default: 3)")
    parser.add_argument("--max-tokens", type=int, help="token limit per call (default: 160)")
    args = parser.parse_args()
    args.model = args.model or ("local" if args.full else "local-small")
    args.n = args.n or (5 if args.full else 3)
    args.max_tokens = args.max_tokens or (512 if args.full else 160)

    lm = fd.resolve_lm(args.model, max_tokens=args.max_tokens)
    with dspy.context(lm=lm):
        result = AnswerThenSummarise(n=args.n)(question=args.question)
    plural = "" if result.candidates == 1 else "s"
    print(f"Fused answer (from {result.candidates} candidate{plural}):\n{result.answer}\n")
    print(f"Summary: {result.summary}")


if __name__ == "__main__":
    main()
