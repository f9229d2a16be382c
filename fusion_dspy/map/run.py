"""Running a map: every cell an ordinary `Evaluation` over a pool view, then what the report needs from each."""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Mapping
from typing import Any

import dspy
from pydantic import BaseModel, Field

from fusion_dspy.eval.pool_views import PoolView, served_name
from fusion_dspy.eval.runner import Advance, Evaluation, no_progress
from fusion_dspy.eval.store import MethodRecord, PoolRecord, method_log
from fusion_dspy.map.config import Cell, MapConfig, TaskGrid
from fusion_dspy.map.cost import fusor_call_seconds, item_cost
from fusion_dspy.map.items import CANDIDATE_FREE, FUSING, ItemResult, single_attempts
from fusion_dspy.map.reference import ReferenceLine
from fusion_dspy.programs import Task


class CellResult(BaseModel):
    task: str
    cell: Cell
    methods: dict[str, list[ItemResult]]


class MapResults(BaseModel):
    """Every cell's per-item results and, per task, the 1.5B single sample on the same items (the reference)."""

    cells: list[CellResult]
    reference: dict[str, list[ItemResult]] = Field(description="task → the 1.5B single sample per item")


class CellPlan(BaseModel):
    task: str
    cell: Cell
    fusor_calls: int
    missing_pools: dict[str, int] = Field(default_factory=dict, description="language → pools not stored yet")

    @property
    def cpu_hours(self) -> float:
        """Roughly what the fusor calls take on 2 idle cores (a loaded machine is slower)."""
        return self.fusor_calls * fusor_call_seconds(self.task, self.cell.fusor) / 3600

    def text(self) -> str:
        pools = ", ".join(f"{lang} {k}" for lang, k in self.missing_pools.items())
        missing = f" · pools missing ({pools}): make them with eval --pools-only" if pools else ""
        return f"  {self.task} · {self.cell.name}: {self.fusor_calls} fusor calls (~{self.cpu_hours:.1f} h){missing}"


def seedable(evaluation: Evaluation, view: PoolView, language: str) -> dict[str, MethodRecord]:
    """Answers an `eval` run already stored for exactly this cell's pools (one model, all of its stored pool,
    the same fusor) and the map's store lacks: the map never pays for them twice."""
    if len(view.models) != 1 or view.n != view.pool_n:
        return {}
    target = evaluation.methods_log(language)
    key = view.member_key(view.models[0], evaluation.pool_key(language))
    found: dict[str, MethodRecord] = {}
    for folder in view.folders:
        if folder == evaluation.config.out_dir:
            continue
        for row_key, row in method_log(folder, key, evaluation.aggregator_slug).rows.items():
            if row_key not in target and row_key not in found and row.method in evaluation.config.methods:
                found[row_key] = row
    return found


def seed_answers(evaluation: Evaluation, view: PoolView, language: str) -> int:
    """Copy the `seedable` answers into the map's store; how many."""
    rows = seedable(evaluation, view, language)
    target = evaluation.methods_log(language)
    for row in rows.values():
        target.append(row)
    return len(rows)


class MergedAnswers:
    """The map's stored answers with the seedable ones beside them, read-only: what a plan counts on."""

    def __init__(self, *stores: Mapping[str, MethodRecord]) -> None:
        self.rows: dict[str, MethodRecord] = {}
        for store in stores:
            self.rows.update(store)


def agreement(task: Task, pool: PoolRecord) -> float:
    """How strongly the pool backs its best candidate under the task's consensus (vote share, or chrF support)."""
    consensus = task.consensus()
    field = consensus.field_of(task.signature)
    texts = [str(c.outputs.get(field, "")) for c in pool.pool.succeeded]
    return max((consensus.support(text, texts) for text in texts), default=0.0)


class MapRun:
    """The cells of `config`, each evaluated as `fusion-dspy eval` would over its pool view."""

    def __init__(self, config: MapConfig, evaluation_factory: Callable[[Any], Evaluation] = Evaluation) -> None:
        config.check()
        self.config = config
        self.reference = ReferenceLine(config)
        self.make_evaluation = evaluation_factory
        self._evaluations: dict[tuple[str, str, str, str], Evaluation] = {}

    def cells(self) -> list[tuple[TaskGrid, Cell]]:
        return [(grid, cell) for grid in self.config.tasks for cell in self.config.cells()]

    def evaluation(self, grid: TaskGrid, cell: Cell) -> Evaluation:
        """The cell's evaluation of this grid: one per grid, as a task's grids differ in languages and limit."""
        key = (grid.task, ",".join(grid.languages), str(grid.limit), cell.name)
        if key not in self._evaluations:
            self._evaluations[key] = self.make_evaluation(self.config.eval_config(grid, cell))
        return self._evaluations[key]

    def plan(self) -> list[CellPlan]:
        """What each cell still needs: fusor calls (plain fusion's, shared with adaptive) and missing pools."""
        plans = []
        for grid, cell in self.cells():
            evaluation = self.evaluation(grid, cell)
            view = self.config.view(cell)
            calls, missing = 0, {}
            for language in grid.languages:
                examples = evaluation.task.load(language, grid.limit, self.config.seed)
                ids = [ex.id for ex in examples]
                _, lacking = view.rows(evaluation.pool_key(language), ids)
                if lacking:
                    missing[language] = max(len(gone) for gone in lacking.values())
                methods = MergedAnswers(seedable(evaluation, view, language), evaluation.methods_log(language).rows)
                calls += sum(evaluation.needs(methods, "fusion", i) for i in ids)
            plans.append(CellPlan(task=grid.task, cell=cell, fusor_calls=calls, missing_pools=missing))
        return plans

    async def arun(self, advance: Advance = no_progress) -> MapResults:
        """Every cell of every grid; a task's grids (languages at different limits) are joined per cell."""
        joined: dict[tuple[str, str], CellResult] = {}
        for grid, cell in self.cells():
            result = await self.arun_cell(grid, cell, advance)
            key = (grid.task, cell.name)
            if key in joined:
                for method, items in result.methods.items():
                    joined[key].methods[method] += items
            else:
                joined[key] = result
        reference: dict[str, list[ItemResult]] = {}
        for grid in self.config.tasks:
            reference.setdefault(grid.task, []).extend(await self.areference(grid))
        return MapResults(cells=list(joined.values()), reference=reference)

    def run(self, advance: Advance = no_progress) -> MapResults:
        return asyncio.run(self.arun(advance))

    async def arun_cell(self, grid: TaskGrid, cell: Cell, advance: Advance = no_progress) -> CellResult:
        evaluation = self.evaluation(grid, cell)
        view = self.config.view(cell)
        task = evaluation.task
        methods: dict[str, list[ItemResult]] = {m: [] for m in evaluation.config.methods}

        def labelled(label: str, total: int | None, done: int = 0) -> None:
            advance(f"{grid.task} {cell.name} · {label}", total, done)

        for language in grid.languages:
            seed_answers(evaluation, view, language)
            examples, records = await evaluation.run_language(language, labelled)
            pools = evaluation.pools(language)
            for method, rows in records.items():
                for example, record in zip(examples, rows, strict=True):
                    pool = pools.rows[example.id]
                    methods[method].append(self.item(task, cell, example, record, pool))
        return CellResult(task=grid.task, cell=cell, methods=methods)

    def item(self, task: Task, cell: Cell, example: dspy.Example, record: MethodRecord, pool: PoolRecord) -> ItemResult:
        used = single_attempts(pool.pool) if record.method in CANDIDATE_FREE else pool.pool.candidates
        fusing = record.method in FUSING
        cost = item_cost(used, served_name(cell.fusor) if fusing else None, record.usage if fusing else None)
        second = {name: task.score_second(name, example, record.outputs) for name in task.second_metrics}
        return ItemResult(id=example.id, language=example.language, score=record.score, second=second, cost=cost,
                          agreement=agreement(task, pool), path=record.path,
                          fell_back=fusing and record.fallback is not None and record.path != "fused",
                          named=fusing and record.fallback is not None and record.path == "fused")  # fmt: skip

    async def areference(self, grid: TaskGrid) -> list[ItemResult]:
        """The reference line on `grid`'s items (`ReferenceLine.ascore`)."""
        return await self.reference.ascore(grid)
