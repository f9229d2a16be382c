"""Translation from English (WMT24++, NTREX-128), scored with chrF++ against the reference."""

from __future__ import annotations

from typing import Any, ClassVar

import dspy

from fusion_dspy.data import load_ntrex, load_wmt24pp
from fusion_dspy.metrics.text import chrf_pp, corpus_chrf_pp, sentence_bleu
from fusion_dspy.programs.base import LANGUAGE_NAMES, Task


class Translate(dspy.Signature):
    """Translate the source text from English into the target language. Output only the translation."""

    source_text: str = dspy.InputField()
    target_language: str = dspy.InputField()
    translation: str = dspy.OutputField()


WMT24PP_LOCALES = {
    "ar": "ar_EG", "de": "de_DE", "es": "es_MX", "fr": "fr_FR", "it": "it_IT",
    "ja": "ja_JP", "ko": "ko_KR", "pt": "pt_BR", "ru": "ru_RU", "zh": "zh_CN",
}  # fmt: skip
NTREX_CODES = {
    "ar": "arb", "de": "deu", "es": "spa", "fr": "fra", "hi": "hin", "it": "ita",
    "ja": "jpn", "ko": "kor", "pt": "por-BR", "ru": "rus", "sw": "swa", "zh": "zho-CN",
}  # fmt: skip


class TranslationTask(Task):
    name: ClassVar[str] = "translation"
    description: ClassVar[str] = "WMT24++ en→X (canary and bad sources dropped), chrF++ against the reference"
    languages: ClassVar[tuple[str, ...]] = tuple(WMT24PP_LOCALES)
    signature = Translate
    checks_language: ClassVar[bool] = True
    parallel: ClassVar[bool] = True  # WMT24++ / NTREX segment ids are the same in every target language
    corpus_metric: ClassVar[str | None] = "chrF++"
    second_metrics: ClassVar[tuple[str, ...]] = ("BLEU",)
    metric_version: ClassVar[int] = 2  # 2: a translation in the wrong language scores 0 (the studies' definition)
    language_check_since: ClassVar[int | None] = 2

    def rows(self, language: str) -> list[dict[str, Any]]:
        return load_wmt24pp(WMT24PP_LOCALES[language], self.data_dir)

    def language_of(self, inputs: dict[str, Any]) -> str | None:
        """Translations are fused in the target language, whatever the source's."""
        names = {name.lower(): code for code, name in LANGUAGE_NAMES.items()}
        return names.get(str(inputs.get("target_language", "")).strip().lower())

    def example(self, row: dict[str, Any], language: str) -> dspy.Example:
        return dspy.Example(
            id=row["id"], source_text=row["source"], target_language=LANGUAGE_NAMES[language], reference=row["target"]
        ).with_inputs("source_text", "target_language")

    def gold_outputs(self, example: dspy.Example) -> dict[str, Any] | None:
        return {"translation": example.reference}

    def corpus_score(self, examples: list[dspy.Example], outputs: list[dict[str, Any]]) -> float | None:
        hypotheses = [  # a translation in the wrong language scores 0 here too: it matches nothing
            "" if self.wrong_language(e, o) else str(o.get("translation", ""))
            for e, o in zip(examples, outputs, strict=True)
        ]
        return corpus_chrf_pp(hypotheses, [e.reference for e in examples])

    async def amatch(self, example: dspy.Example, outputs: dict[str, Any]) -> float:
        return chrf_pp(str(outputs.get("translation", "")), example.reference)

    def match_second(self, name: str, example: dspy.Example, outputs: dict[str, Any]) -> float:
        return sentence_bleu(str(outputs.get("translation", "")), example.reference, example.get("language"))


class NtrexTranslationTask(TranslationTask):
    name: ClassVar[str] = "translation_ntrex"
    description: ClassVar[str] = "NTREX-128 newstest2019 en→X, chrF++ against the reference"
    languages: ClassVar[tuple[str, ...]] = tuple(NTREX_CODES)

    def rows(self, language: str) -> list[dict[str, Any]]:
        return load_ntrex(NTREX_CODES[language], self.data_dir)
