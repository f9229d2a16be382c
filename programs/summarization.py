"""Summarisation into a target language.

XLSum's licence forbids redistribution, so it is only read by hub id when online. Offline (the default) the
documents are NTREX-128's English news stories, summarised into the target language; they have no reference
summary, so the score is a pairwise-judge win-rate against a greedy baseline summary.
"""

from __future__ import annotations

from typing import Any, ClassVar

import dspy

from fusion_dspy.data import load_ntrex_documents, load_xlsum
from fusion_dspy.data.loaders import XLSUM_CONFIGS
from fusion_dspy.metrics.text import rouge_l
from fusion_dspy.programs.base import LANGUAGE_NAMES, Task


class Summarize(dspy.Signature):
    """Summarise the news document in two or three sentences, written in the target language."""

    document: str = dspy.InputField()
    target_language: str = dspy.InputField()
    summary: str = dspy.OutputField()


class SummarizationTask(Task):
    name: ClassVar[str] = "summarization"
    description: ClassVar[str] = (
        "NTREX-128 news documents summarised into the target language; judge win-rate vs baseline"
    )
    languages: ClassVar[tuple[str, ...]] = ("en", "de", "fr", "es", "ru", "it", "pt", "ja", "ko", "zh", "ar")
    signature = Summarize
    needs_baseline: ClassVar[bool] = True
    metric_lm_calls: ClassVar[int] = 2  # the pairwise judge, both orders
    checks_language: ClassVar[bool] = True
    parallel: ClassVar[bool] = True  # the same NTREX documents in every target language
    metric_version: ClassVar[int] = 3  # 2: a failed judgement is counted, not scored ½; 3: the language check
    language_check_since: ClassVar[int | None] = 3

    def rows(self, language: str) -> list[dict[str, Any]]:
        return load_ntrex_documents(self.data_dir)

    def example(self, row: dict[str, Any], language: str) -> dspy.Example:
        return dspy.Example(
            id=f"{language}-{row['id']}", document=row["document"], target_language=LANGUAGE_NAMES[language]
        ).with_inputs("document", "target_language")

    async def amatch(self, example: dspy.Example, outputs: dict[str, Any]) -> float:
        return await self.ascore_judged(example, outputs)


class XlsumSummarizationTask(SummarizationTask):
    """XLSum by hub id (online only), scored by ROUGE-L against the reference summary."""

    name: ClassVar[str] = "summarization_xlsum"
    description: ClassVar[str] = "XLSum test (hub only, never stored), ROUGE-L against the reference summary"
    languages: ClassVar[tuple[str, ...]] = tuple(XLSUM_CONFIGS)
    needs_baseline: ClassVar[bool] = False
    metric_lm_calls: ClassVar[int] = 0
    parallel: ClassVar[bool] = False
    metric_version: ClassVar[int] = 3  # 2: ROUGE-L tokens by script for every string, punctuation dropped; 3: language
    language_check_since: ClassVar[int | None] = 3

    def rows(self, language: str) -> list[dict[str, Any]]:
        return load_xlsum(language)

    def example(self, row: dict[str, Any], language: str) -> dspy.Example:
        return dspy.Example(
            id=row["id"], document=row["document"], target_language=LANGUAGE_NAMES[language], reference=row["summary"]
        ).with_inputs("document", "target_language")

    def gold_outputs(self, example: dspy.Example) -> dict[str, Any] | None:
        return {"summary": example.reference}

    async def amatch(self, example: dspy.Example, outputs: dict[str, Any]) -> float:
        return rouge_l(str(outputs.get("summary", "")), example.reference)
