"""Geographically diverse factual questions (GeoFactX), correct when the answer matches an accepted one."""

from __future__ import annotations

from typing import Any, ClassVar

import dspy

from fusion_dspy.data import load_geofactx
from fusion_dspy.metrics.answers import answer_list_match
from fusion_dspy.programs.adaptive_defaults import Thresholds
from fusion_dspy.programs.base import Task


class AnswerFact(dspy.Signature):
    """Answer the factual question with a short answer (a name, place, date or number), in the question's language."""

    question: str = dspy.InputField()
    answer: str = dspy.OutputField(desc="the short answer only")


class FactualTask(Task):
    name: ClassVar[str] = "factual"
    description: ClassVar[str] = "GeoFactX test, normalised match against any entry of answer_list"
    languages: ClassVar[tuple[str, ...]] = ("en", "hi", "ja", "th", "sw")
    signature = AnswerFact
    verifiable: ClassVar[bool] = True
    adaptive_defaults: ClassVar[Thresholds] = Thresholds(
        skip_agreement=0.6, floor_margin=0.0, basis="a priori default for verifiable answers (not tuned)"
    )
    metric_version: ClassVar[int] = 2  # 2: no credit for hedges, negations, restated questions, short substrings

    def rows(self, language: str) -> list[dict[str, Any]]:
        rows = load_geofactx(language, self.data_dir)
        return [{**row, "id": f"{language}-{i}"} for i, row in enumerate(rows)]

    def example(self, row: dict[str, Any], language: str) -> dspy.Example:
        return dspy.Example(id=row["id"], question=row["question"], answers=row["answers"]).with_inputs("question")

    def gold_outputs(self, example: dspy.Example) -> dict[str, Any] | None:
        return {"answer": example.answers[0]}

    async def amatch(self, example: dspy.Example, outputs: dict[str, Any]) -> float:
        return answer_list_match(str(outputs.get("answer", "")), list(example.answers), question=example.question)
