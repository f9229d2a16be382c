"""Open-ended chat (Arena-Hard v0.1 or MT-Bench first turns), scored by a pairwise judge against a baseline."""

from __future__ import annotations

from typing import Any, ClassVar

import dspy

from fusion_dspy.data import load_arena_hard, load_mt_bench
from fusion_dspy.programs.base import Task
from fusion_dspy.programs.chat import Respond


class OpenEndedTask(Task):
    name: ClassVar[str] = "open_ended"
    description: ClassVar[str] = "Arena-Hard v0.1 prompts, pairwise-judge win-rate against a greedy baseline answer"
    languages: ClassVar[tuple[str, ...]] = ("en",)
    signature = Respond
    needs_baseline: ClassVar[bool] = True
    metric_lm_calls: ClassVar[int] = 2  # the pairwise judge, both orders
    checks_language: ClassVar[bool] = True
    metric_version: ClassVar[int] = 3  # 2: a failed judgement is counted, not scored ½; 3: the language check
    language_check_since: ClassVar[int | None] = 3
    corpus: ClassVar[str] = "arena_hard"

    def rows(self, language: str) -> list[dict[str, Any]]:
        return load_mt_bench(self.data_dir) if self.corpus == "mt_bench" else load_arena_hard(self.data_dir)

    def example(self, row: dict[str, Any], language: str) -> dspy.Example:
        return dspy.Example(id=row["id"], prompt=row["prompt"]).with_inputs("prompt")

    async def amatch(self, example: dspy.Example, outputs: dict[str, Any]) -> float:
        return await self.ascore_judged(example, outputs)


class MtBenchTask(OpenEndedTask):
    name: ClassVar[str] = "open_ended_mt_bench"
    description: ClassVar[str] = "MT-Bench first turns, pairwise-judge win-rate against a greedy baseline answer"
    corpus: ClassVar[str] = "mt_bench"
