"""The map's reference line: one sample of the reference model (the embedded 1.5B) on every cell's items."""

from __future__ import annotations

import logging

import dspy

from fusion_dspy.errors import ConfigurationError
from fusion_dspy.eval.store import PoolKey, PoolRecord
from fusion_dspy.lm.adapter_items import trained_on
from fusion_dspy.map.config import MapConfig, TaskGrid
from fusion_dspy.map.cost import item_cost
from fusion_dspy.map.items import ItemResult, single_attempts
from fusion_dspy.programs import Task, task_by_name

logger = logging.getLogger(__name__)


class ReferenceLine:
    """The reference model's single sample on a map's items, read from its stored pools (no model call)."""

    def __init__(self, config: MapConfig) -> None:
        self.config = config

    def _task(self, grid: TaskGrid) -> Task:
        task = task_by_name(grid.task)(data_dir=self.config.data_dir)
        return task.dropping(trained_on(grid.task, self.config.tuned_fusors()))  # the cells' items

    def _rows(
        self, task: Task, grid: TaskGrid, language: str
    ) -> tuple[list[dspy.Example], dict[str, PoolRecord], dict[str, list[str]]]:
        """The grid's items in `language`, the reference's stored pools for them, and the ids it lacks."""
        view = self.config.reference_view()
        examples = task.load(language, grid.limit, self.config.seed)
        key = PoolKey(task=grid.task, language=language, model=view.label(), n=view.n,
                      temperature=self.config.temperature, seed=self.config.seed,
                      max_tokens=self.config.max_tokens)  # fmt: skip
        rows, lacking = view.rows(key, [ex.id for ex in examples])
        return examples, rows, lacking

    def missing(self) -> list[str]:
        """What the reference line still lacks, one line per (task, language) with the command that makes it:
        checked before any cell runs, so a map does not spend hours on cells to stop at the reference."""
        missing = []
        for grid in self.config.tasks:
            task = self._task(grid)
            for language in grid.languages:
                _, _, lacking = self._rows(task, grid, language)
                if lacking:
                    missing.append(self._gap(grid, language, lacking))
        return missing

    def _gap(self, grid: TaskGrid, language: str, lacking: dict[str, list[str]]) -> str:
        c = self.config
        return (
            f"{sum(map(len, lacking.values()))} {grid.task} {language} pools of the reference {c.reference} are "
            f"missing (first: {next(iter(lacking.values()))[0]}). Make them first: fusion-dspy eval --task "
            f"{grid.task} --langs {language} -n {c.pool_n} --limit {grid.limit} --model {c.reference} "
            f"--temperature {c.temperature:g} --seed {c.seed}"
            + (f" --max-tokens {c.max_tokens}" if c.max_tokens else "")
            + f" --pools-only --out {c.out_dir}"
        )

    async def ascore(self, grid: TaskGrid) -> list[ItemResult]:
        """The 1.5B single sample on the map's items, scored: the first stored sample that answered, as in a
        cell's `single` row (a user retries a failed call, and pays for it: `single_attempts`). An item none of
        whose stored samples answered is left out, and said."""
        task = self._task(grid)
        results = []
        for language in grid.languages:
            examples, rows, lacking = self._rows(task, grid, language)
            if lacking:
                raise ConfigurationError(self._gap(grid, language, lacking))
            unanswered = [ex.id for ex in examples if ex.id in rows and not rows[ex.id].pool.succeeded]
            if unanswered:
                logger.warning("reference %s %s: no stored sample answered %d item(s) (first: %s); left out of "
                               "the reference line", grid.task, language, len(unanswered), unanswered[0])  # fmt: skip
            for example in examples:
                if example.id in unanswered:
                    continue
                pool = rows[example.id]
                outputs = pool.pool.succeeded[0].outputs
                score = (await task.ameasure(example, outputs)).score
                second = {name: task.score_second(name, example, outputs) for name in task.second_metrics}
                results.append(ItemResult(id=example.id, language=language, score=score, second=second,
                                          cost=item_cost(single_attempts(pool.pool)), agreement=1.0))  # fmt: skip
        return results
