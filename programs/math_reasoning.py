"""Grade-school math in 11 languages (MGSM), scored by exact match of the final number."""

from __future__ import annotations

from typing import Any, ClassVar

import dspy

from fusion_dspy.data import load_mgsm
from fusion_dspy.metrics.numeric import answer_text, numeric_match
from fusion_dspy.programs.adaptive_defaults import Thresholds
from fusion_dspy.programs.base import Task


class SolveMath(dspy.Signature):
    """Solve the math word problem. Reason step by step, then give the final answer as a number."""

    question: str = dspy.InputField()
    answer: str = dspy.OutputField(desc="the final answer: one number, digits only, no units")


class MathTask(Task):
    name: ClassVar[str] = "math"
    description: ClassVar[str] = "MGSM (250 problems per language), exact match of the final number"
    languages: ClassVar[tuple[str, ...]] = ("bn", "de", "en", "es", "fr", "ja", "ru", "sw", "te", "th", "zh")
    signature = SolveMath
    chain_of_thought: ClassVar[bool] = True
    vote_normalizer: ClassVar[str] = "number"
    verifiable: ClassVar[bool] = True
    adaptive_defaults: ClassVar[Thresholds] = Thresholds(
        skip_agreement=0.6, floor_margin=0.0, basis="a priori default for verifiable answers (not tuned)"
    )
    parallel: ClassVar[bool] = True  # mgsm_<lang>.tsv row i is the same problem in every language
    metric_version: ClassVar[int] = 2  # 2: numbers read by language; the answer field first, then the reasoning

    def rows(self, language: str) -> list[dict[str, Any]]:
        rows = load_mgsm(language, self.data_dir)
        return [{**row, "id": f"{language}-{i}"} for i, row in enumerate(rows)]

    def example(self, row: dict[str, Any], language: str) -> dspy.Example:
        return dspy.Example(id=row["id"], question=row["question"], reference=row["answer"]).with_inputs("question")

    def gold_outputs(self, example: dspy.Example) -> dict[str, Any] | None:
        return {"answer": example.reference}

    async def amatch(self, example: dspy.Example, outputs: dict[str, Any]) -> float:
        return numeric_match(answer_text(outputs), example.reference, example.get("language"))
