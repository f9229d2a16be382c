"""What a map evaluates: a grid of cells (candidates × fusor × n) per task and language, over stored pools."""

from __future__ import annotations

from pathlib import Path

from pydantic import BaseModel, Field

from fusion_dspy.errors import ConfigurationError
from fusion_dspy.eval.config import EvalConfig
from fusion_dspy.eval.pool_views import MIX, PoolView
from fusion_dspy.lm.names import is_tuned
from fusion_dspy.map.cost import ModelSpeed, embedded_speeds
from fusion_dspy.programs import task_by_name

REFERENCE_MODEL = "local"
"""The default reference line of a map: one sample of the embedded 1.5B model on the same items."""


class TaskGrid(BaseModel):
    """Some of a task's languages and the examples of each (a seeded subset, as `eval --limit` draws it). A task
    may have several grids with different limits (translation de at 100, es and ja at 50): the report joins them.
    Written `task:lang,lang:limit` on the command line."""

    task: str
    languages: list[str] = Field(min_length=1)
    limit: int = Field(ge=1)

    @classmethod
    def parse(cls, text: str) -> TaskGrid:
        parts = text.split(":")
        if len(parts) != 3 or not parts[2].strip().isdigit():
            raise ConfigurationError(f"--grid {text!r}: write TASK:LANG,LANG:LIMIT, e.g. math:en,de,fr:40.")
        languages = [lang.strip() for lang in parts[1].split(",") if lang.strip()]
        return cls(task=parts[0].strip(), languages=languages, limit=int(parts[2]))


class Cell(BaseModel):
    """One point of the grid: whose candidates (a model, or models joined by `+` for a mixed pool), which fusor, how
    many candidates."""

    candidates: str
    fusor: str
    n: int

    @property
    def name(self) -> str:
        return f"{self.candidates} × {self.fusor} fusor, n={self.n}"


class MapConfig(BaseModel):
    """`fusion-dspy map`: every cell of candidates × fusors × ns for every task, scored by the same methods on the
    same items. Pools are read from `pool_folders` (and `out_dir`), never sampled here: n below `pool_n` is the
    first n of the stored `pool_n`; a mixed pool takes the members' stored samples in turn."""

    tasks: list[TaskGrid] = Field(min_length=1)
    candidates: list[str] = Field(min_length=1, description="Candidate models; `a+b` is a mixed pool of a and b.")
    fusors: list[str] = Field(min_length=1)
    ns: list[int] = Field(min_length=1)
    pool_n: int = 5
    reference: str = Field(default=REFERENCE_MODEL, description="Whose single sample is every cell's reference.")
    out_dir: Path
    pool_folders: list[Path] = Field(default_factory=list, description="Folders holding stored pools (eval --out).")
    api_base: str | None = Field(default=None, description="Server of non-embedded fusor models.")
    speeds: dict[str, ModelSpeed] = Field(
        default_factory=embedded_speeds, description="Model → measured speeds, for the cost per item."
    )
    temperature: float = 0.8
    seed: int = 0
    max_tokens: int | None = 256
    concurrency: int = 4
    data_dir: str | None = None
    rescore_only: bool = False

    def cells(self) -> list[Cell]:
        return [Cell(candidates=c, fusor=f, n=n) for c in self.candidates for f in self.fusors for n in self.ns]

    def folders(self) -> list[Path]:
        """Where pools are read; `out_dir` first, so a missing pool's command makes it there."""
        return [self.out_dir, *self.pool_folders]

    def methods(self, task: str) -> list[str]:
        """Single sample, the task's selection (majority vote for verifiable answers, MBR for free text), plain and
        adaptive fusion, oracle."""
        return ["single", task_by_name(task)().selection, "fusion", "adaptive", "oracle"]

    def view(self, cell: Cell) -> PoolView:
        return PoolView(models=cell.candidates.split(MIX), n=cell.n, pool_n=self.pool_n, folders=self.folders())

    def eval_config(self, grid: TaskGrid, cell: Cell) -> EvalConfig:
        """The cell as an ordinary evaluation over a pool view: the map is an eval recipe, not a second runner."""
        return EvalConfig(
            task=grid.task, languages=grid.languages, out_dir=self.out_dir, n=cell.n, limit=grid.limit,
            fusor_model=cell.fusor, judge_model=cell.fusor, methods=self.methods(grid.task), api_base=self.api_base,
            temperature=self.temperature, max_tokens=self.max_tokens, seed=self.seed, concurrency=self.concurrency,
            data_dir=self.data_dir, rescore_only=self.rescore_only, pool_view=self.view(cell),
            tuned_fusors=self.tuned_fusors(),
        )  # fmt: skip

    def tuned_fusors(self) -> list[str]:
        """The fusors with an adapter: the items they trained on leave every cell and the reference line alike."""
        return [f for f in self.fusors if is_tuned(f)]

    def reference_view(self) -> PoolView:
        """The reference model's whole stored pools: its single sample is the first of them that answered."""
        return PoolView(models=[self.reference], n=self.pool_n, pool_n=self.pool_n, folders=self.folders())

    def task_names(self) -> list[str]:
        return list(dict.fromkeys(grid.task for grid in self.tasks))

    def check(self) -> None:
        for grid in self.tasks:
            task = task_by_name(grid.task)
            unknown = [lang for lang in grid.languages if lang not in task.languages]
            if unknown:
                raise ConfigurationError(
                    f"task {grid.task!r} has no language(s) {unknown}; choose from {', '.join(task.languages)}."
                )
        too_big = [n for n in self.ns if n > self.pool_n * max(len(c.split(MIX)) for c in self.candidates)]
        if too_big:
            raise ConfigurationError(f"n={too_big[0]} is more than the stored pools hold (--pool-n {self.pool_n}).")
        for cell in self.cells():
            self.view(cell).check()
