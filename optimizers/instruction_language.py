"""The tuned fusor's instructions in the task's language: translated by the proposing LM, kept only when they
score better on the validation split beyond noise, and reported beside the English ones on the held-out split.

A multilingual study (math in German, translation into Japanese) tunes instructions written in English; a fusor
may follow instructions in its input's or output's language better. Which one wins is measured, never assumed:
the choice uses validation scores only, and both held-out scores are reported whichever was chosen.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING

import dspy

from fusion_dspy.optimizers.fusor_data import Splits
from fusion_dspy.optimizers.fusor_only import FusorOnly
from fusion_dspy.optimizers.heldout import compare_held_out
from fusion_dspy.optimizers.scoring import Scored
from fusion_dspy.programs.adaptive_defaults import Thresholds
from fusion_dspy.programs.base import LANGUAGE_NAMES
from fusion_dspy.prompts import load_prompt
from fusion_dspy.registry import InstructionLanguage

if TYPE_CHECKING:
    from fusion_dspy.optimizers.study import FusorStudy

MARKER = re.compile(r"`[^`\n]+`|</?[A-Za-z][^<>\n]*>")
SOURCE = "en"
"""The language the fusor's default instructions, and the optimisers' proposals, are written in."""


def translation_signature() -> type[dspy.Signature]:
    """`text, language -> translated` (instructions in, translated out), prompt from
    `prompts/instruction_translation.yaml`."""
    prompt = load_prompt("instruction_translation")
    return dspy.Signature(
        {
            "text": (str, dspy.InputField(desc=prompt["text_description"])),
            "language": (str, dspy.InputField(desc=prompt["language_description"])),
            "translated": (str, dspy.OutputField(desc=prompt["translated_description"])),
        },
        prompt["instructions"],
    )


def markers(instructions: str) -> list[str]:
    """What a translation must copy unchanged: field names in backticks and tags in angle brackets (the fusor's
    prompt wraps candidates in `<candidate N>` blocks that its instructions refer to)."""
    return list(dict.fromkeys(MARKER.findall(instructions)))


def in_language(program: FusorOnly, language: str, lm: dspy.BaseLM) -> FusorOnly:
    """A copy of `program` whose every predictor's instructions `lm` translated into `language` (a code such as
    "de"), one line at a time (a small model asked for the whole text summarised it into one line); demos and
    fields are kept. Raises ValueError on an empty translation or one that dropped a marker (`markers`); the
    original is untouched."""
    name = LANGUAGE_NAMES.get(language, language)
    translate = dspy.Predict(translation_signature())
    copy = program.deepcopy()
    for predictor_name, predictor in copy.named_predictors():
        lines = []
        with dspy.context(lm=lm):
            for line in predictor.signature.instructions.splitlines():
                lines.append(str(translate(text=line, language=name).translated).strip() if line.strip() else "")
        text = "\n".join(lines).strip()
        if not text:
            raise ValueError(f"{lm.model} returned empty {name} instructions for {predictor_name}")
        dropped = [m for m in markers(predictor.signature.instructions) if m not in text]
        if dropped:
            raise ValueError(f"the {name} instructions by {lm.model} dropped {', '.join(dropped)}: {text[:200]!r}")
        predictor.signature = predictor.signature.with_instructions(text)
    return copy


def instructions_of(program: FusorOnly) -> str:
    """The instructions of every predictor, joined (one predictor for a fusor)."""
    return "\n\n".join(p.signature.instructions for _, p in program.named_predictors())


def choose_instruction_language(
    runner: FusorStudy,
    tuned: FusorOnly,
    data: Splits,
    adaptive: Thresholds | None,
    source_test: Scored,
    fusor_model: str,
    source_val: Scored | None = None,
) -> tuple[FusorOnly, Scored, InstructionLanguage]:
    """The tuned fusor (English instructions, scored `source_test` on the test split) against the same fusor with
    its instructions translated into the study's language: the translation is kept only when it is better on the
    validation split beyond noise (paired 95% CI above 0), else English is. `source_val` is the tuned fusor's
    validation scores from its trial (scored again when absent). Returns the kept fusor, its test scores, and what
    was compared. A failed translation is recorded and English is kept; nothing else is lost."""
    language = runner.config.language
    try:
        translated = in_language(tuned, language, runner.reflection_lm(fusor_model))
    except Exception as error:  # noqa: BLE001 - a failed translation is reported; English is kept, nothing lost
        return tuned, source_test, InstructionLanguage(language=language, error=f"{type(error).__name__}: {error}")
    val_source = source_val
    if val_source is None:
        val_source = runner.score_each(tuned, data.val, adaptive, "validation: English instructions", True)
    val_translated = runner.score_each(translated, data.val, adaptive, f"validation: {language} instructions", True)
    test_translated = runner.score_each(translated, data.test, adaptive, f"held-out: {language} instructions", True)
    seed, strata = runner.config.seed, runner.strata()
    validation = compare_held_out(val_source, val_translated, strata, seed=seed)
    keep = validation.better_beyond_noise
    record = InstructionLanguage(
        language=language, translated=instructions_of(translated), kept=language if keep else SOURCE,
        val_source=val_source.mean, val_translated=val_translated.mean, test_source=source_test.mean,
        test_translated=test_translated.mean, validation=validation,
        difference=compare_held_out(source_test, test_translated, strata, seed=seed),
    )  # fmt: skip
    return (translated, test_translated, record) if keep else (tuned, source_test, record)
