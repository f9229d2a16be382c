"""GSM8K's English test problems that MGSM does not contain: more grade-school math, unreported, to train on."""

from __future__ import annotations

from typing import Any, ClassVar

from fusion_dspy.data import load_gsm8k
from fusion_dspy.programs.math_reasoning import MathTask

MGSM_ROWS = 250
"""MGSM's problems are GSM8K test rows 0-249 (the same questions, in order), so this task starts after them."""


class Gsm8kTask(MathTask):
    """MGSM's program, signature and metric on GSM8K rows 250-1318 (one language, not parallel)."""

    name: ClassVar[str] = "gsm8k"
    description: ClassVar[str] = (
        "GSM8K test problems 250-1318 (the first 250 are MGSM's own problems, so they are left out entirely), "
        "exact match of the final number"
    )
    languages: ClassVar[tuple[str, ...]] = ("en",)
    parallel: ClassVar[bool] = False

    def rows(self, language: str) -> list[dict[str, Any]]:
        rows = load_gsm8k(self.data_dir)
        return [{**row, "id": f"gsm8k-{i}"} for i, row in enumerate(rows) if i >= MGSM_ROWS]
