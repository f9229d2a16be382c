"""The map's report: every (cell, method) with its score and cost per item; fusion and adaptive fusion paired
against the cell's selection and against the 1.5B single sample (bootstrap CI, permutation p, Holm over the whole
map); the difference to selection by pool agreement; translation under a second metric that no selector uses."""

from __future__ import annotations

import json
from collections import defaultdict
from pathlib import Path

from pydantic import BaseModel, Field

from fusion_dspy.eval.paired import ALL, compare_methods, holm, macro_differences, permutation_test
from fusion_dspy.eval.stats import Estimate, bootstrap, bootstrap_macro
from fusion_dspy.files import write_atomically
from fusion_dspy.lm.adapter_cost import TrainingCost, read_cost
from fusion_dspy.lm.names import is_tuned, tuned_parts
from fusion_dspy.map.config import MapConfig
from fusion_dspy.map.cost import MEASURE
from fusion_dspy.map.items import FUSING, ItemResult
from fusion_dspy.map.run import MapResults
from fusion_dspy.programs import Task, task_by_name

VOTE_BINS = ((0.0, 0.5, "no majority (<50%)"), (0.5, 0.999, "majority (50–99%)"), (0.999, 1.01, "unanimous"))
CHRF_BINS = ((0.0, 0.4, "low (<0.40)"), (0.4, 0.6, "middle (0.40–0.60)"), (0.6, 1.01, "high (≥0.60)"))


class Row(BaseModel):
    """One method in one cell: mean score per language and overall (each language once), cost per item."""

    task: str
    cell: str
    candidates: str
    fusor: str
    n: int
    method: str
    scores: dict[str, Estimate]
    second: dict[str, float] = Field(default_factory=dict, description="second metric → mean (each language once)")
    seconds_per_item: float | None = Field(description="None when a model involved has no measured speeds.")
    candidate_seconds_per_item: float | None
    tokens_per_item: float
    pareto: bool = False

    @property
    def cost(self) -> float:
        """What the front is drawn on: model seconds per item, tokens when a speed is not measured."""
        return self.seconds_per_item if self.seconds_per_item is not None else self.tokens_per_item


class Versus(BaseModel):
    """A fusing method against another row over the same items: the paired macro difference with its CI, W/T/L,
    the permutation p on the pooled differences, and Holm's p over every comparison in the map."""

    task: str
    cell: str
    method: str
    against: str
    difference: Estimate
    record: str
    p_permutation: float
    p_holm: float = 1.0
    fell_back: int = Field(default=0, description="Items where the fusor failed and the selection's answer stands.")
    named: int = Field(default=0, description="Items where the fusor pointed at a candidate, resolved to its text.")
    items: int = 0

    @property
    def verdict(self) -> str:
        if self.difference.spans_zero:
            return "no difference"
        direction = "better" if self.difference.mean > 0 else "worse"
        return direction if self.p_holm < 0.05 else f"{direction} by the CI, not after Holm"


class Bin(BaseModel):
    task: str
    cell: str
    method: str
    label: str
    items: int
    difference: float | None


class SecondMetric(BaseModel):
    """Fusion minus selection in one cell under the main metric and under the second one."""

    task: str
    cell: str
    metric: str
    main: float
    second: float

    @property
    def agree(self) -> bool:
        return (self.main > 0) == (self.second > 0) or abs(self.main) < 1e-9 or abs(self.second) < 1e-9


def _table(intro: str, header: list[str], rows: list[list[str]]) -> list[str]:
    """A markdown table after a line saying what it shows."""
    return ["", intro, "", "| " + " | ".join(header) + " |", "|" + "---|" * len(header),
            *("| " + " | ".join(row) + " |" for row in rows)]  # fmt: skip


def _seconds(value: float | None) -> str:
    return "–" if value is None else f"{value:.1f}"


def _mean(values: list[float]) -> float:
    return sum(values) / len(values) if values else 0.0


def _macro_mean(values: list[tuple[str, float]]) -> float:
    """The mean of per-language means of (language, value) pairs: each language once, as every overall score."""
    by_language: dict[str, list[float]] = defaultdict(list)
    for language, value in values:
        by_language[language].append(value)
    return _mean([_mean(v) for v in by_language.values()])


def _keyed(items: list[ItemResult], task: Task) -> dict[str, dict[str, float | None]]:
    """Language → item (`Task.item_key`: the same item in every language of a parallel task) → score."""
    out: dict[str, dict[str, float | None]] = defaultdict(dict)
    for item in items:
        out[item.language][task.item_key(item.id, item.language)] = item.score
    return out


def _scores(items: list[ItemResult], task: Task) -> dict[str, Estimate]:
    """Per language and overall (each language once; the CI resamples items jointly across languages), a failed
    answer scoring 0."""
    keyed = {language: {key: score or 0.0 for key, score in scores.items()}
             for language, scores in _keyed(items, task).items()}  # fmt: skip
    scores = {language: bootstrap(list(values.values())) for language, values in keyed.items()}
    scores[ALL] = bootstrap_macro(keyed)
    return scores


class MapReport(BaseModel):
    config: MapConfig
    rows: list[Row]
    versus: list[Versus]
    bins: list[Bin]
    second_metrics: list[SecondMetric]
    training: dict[str, TrainingCost | None] = Field(
        default_factory=dict, description="Tuned fusor (`base@adapter.gguf`) → what making it cost, once."
    )

    @classmethod
    def build(cls, config: MapConfig, results: MapResults) -> MapReport:
        rows, versus, bins, seconds = [], [], [], []
        for task_name, reference in results.reference.items():
            task = task_by_name(task_name)()
            label = f"{config.reference} single sample"
            rows.append(cls.row(config, task, label, config.reference, "-", 1, "single", reference))

            for result in (r for r in results.cells if r.task == task_name):
                cell = result.cell
                for method, items in result.methods.items():
                    name = method.removeprefix("bon:")
                    rows.append(cls.row(config, task, cell.name, cell.candidates, cell.fusor, cell.n, name, items))
                selection = next(m for m in result.methods if m in ("majority", "mbr", "bon:majority", "bon:mbr"))
                selected = result.methods[selection]
                for method in (m for m in FUSING if m in result.methods):
                    answers = result.methods[method]
                    fused = {"fell_back": sum(a.fell_back for a in answers), "named": sum(a.named for a in answers),
                             "items": len(answers)}  # fmt: skip
                    for against, other in ((selection.removeprefix("bon:"), selected), (label, reference)):
                        compared = cls.compare(task_name, cell.name, method, against, _keyed(answers, task),
                                               _keyed(other, task))  # fmt: skip
                        versus.append(compared.model_copy(update=fused))
                    bins += cls.bin(task_name, cell.name, method, result.methods[method], selected, task.verifiable)
                pairs = list(zip(result.methods["fusion"], selected, strict=True))
                for metric in task.second_metrics:
                    seconds.append(SecondMetric(
                        task=task_name, cell=cell.name, metric=metric,
                        main=_macro_mean([(a.language, (a.score or 0.0) - (b.score or 0.0)) for a, b in pairs]),
                        second=_macro_mean([(a.language, a.second[metric] - b.second[metric]) for a, b in pairs]),
                    ))  # fmt: skip
        for item, adjusted in zip(versus, holm([v.p_permutation for v in versus]), strict=True):
            item.p_holm = adjusted
        cls.mark_pareto(rows)
        training = {f: read_cost(tuned_parts(f)[1]) for f in config.fusors if is_tuned(f)}
        return cls(config=config, rows=rows, versus=versus, bins=bins, second_metrics=seconds, training=training)

    @staticmethod
    def row(config: MapConfig, task: Task, cell: str, candidates: str, fusor: str, n: int, method: str,
            items: list[ItemResult]) -> Row:  # fmt: skip
        names = {name for item in items for name in item.second}

        def per_item(part: str) -> float | None:
            seconds = [item.cost.seconds(config.speeds, part) for item in items]
            known = [s for s in seconds if s is not None]
            return sum(known) / len(known) if known and len(known) == len(seconds) else None

        return Row(
            task=task.name, cell=cell, candidates=candidates, fusor=fusor, n=n, method=method,
            scores=_scores(items, task),
            second={name: _macro_mean([(i.language, i.second[name]) for i in items]) for name in sorted(names)},
            seconds_per_item=per_item("all"), candidate_seconds_per_item=per_item("candidates"),
            tokens_per_item=sum(item.cost.tokens for item in items) / max(1, len(items)),
        )  # fmt: skip

    @staticmethod
    def compare(task: str, cell: str, method: str, against: str, mine: dict[str, dict[str, float | None]],
                theirs: dict[str, dict[str, float | None]]) -> Versus:  # fmt: skip
        comparison = compare_methods(mine, theirs)[ALL]
        differences = macro_differences(mine, theirs)  # the test of the macro mean the CI is of
        return Versus(task=task, cell=cell, method=method, against=against, difference=comparison.difference,
                      record=str(comparison.record), p_permutation=permutation_test(differences).p)  # fmt: skip

    @staticmethod
    def bin(task: str, cell: str, method: str, mine: list[ItemResult], selection: list[ItemResult],
            votes: bool) -> list[Bin]:  # fmt: skip
        bins = []
        for low, high, label in VOTE_BINS if votes else CHRF_BINS:
            inside = [(a, b) for a, b in zip(mine, selection, strict=True) if low <= a.agreement < high]
            diffs = [(a.score or 0.0) - (b.score or 0.0) for a, b in inside]
            bins.append(Bin(task=task, cell=cell, method=method, label=label, items=len(inside),
                            difference=_mean(diffs) if diffs else None))  # fmt: skip
        return bins

    @staticmethod
    def mark_pareto(rows: list[Row]) -> None:
        """Per task, the rows no other row beats on both score (higher) and cost (lower): the cheapest way to each
        quality. The oracle reads the reference, so it is a bound, not a way: it is neither on the front nor
        beats a row there. Of rows equal in both (the single sample of every n), the first stands for them."""
        ways = [(k, r) for k, r in enumerate(rows) if r.method != "oracle"]
        for i, row in enumerate(rows):
            score = row.scores[ALL].mean
            row.pareto = row.method != "oracle" and not any(
                o.task == row.task and k != i and o.scores[ALL].mean >= score and o.cost <= row.cost
                and (o.scores[ALL].mean > score or o.cost < row.cost or k < i)
                for k, o in ways
            )  # fmt: skip

    def markdown(self) -> str:
        c = self.config
        lines = [
            "# fusion-dspy map: where fusion pays off",
            "",
            f"Candidates {', '.join(c.candidates)} (`a+b`: a mixed pool taking their stored samples in turn) × fusors "
            f"{', '.join(c.fusors)} × n {', '.join(map(str, c.ns))} (n below {c.pool_n}: the first n of the stored "
            f"{c.pool_n}); temperature {c.temperature}, seed {c.seed}, {c.max_tokens} tokens per call. Scores: mean "
            "over items per language, the overall mean weighs each language once. Cost: model seconds per item on "
            "this 2-core CPU at each model's measured single-request speed (prompt tokens not served from the "
            "prefix cache, plus generated tokens), candidates and fusor; tokens per item likewise. ★ marks the "
            "Pareto front (no other row is both better and cheaper; the oracle, which reads the reference, is a bound "
            "and not on it).",
        ]
        unknown = sorted({m for r in self.rows if r.seconds_per_item is None for m in (r.candidates, r.fusor)} - {"-"})
        if unknown:
            lines += ["", f"**No measured speeds** for some of {', '.join(unknown)}: their rows show tokens, not "
                      f"seconds, and the front is drawn on tokens per item. Measure with `{MEASURE}` and re-report "
                      "(`--rescore-only`)."]  # fmt: skip
        for fusor, cost in self.training.items():
            made = (f"{cost.cpu_hours:.1f} CPU-hours once (fusor samples {cost.bootstrap_cpu_s / 3600:.1f}, reading "
                    f"the model and LoRA steps {cost.train_cpu_s / 3600:.1f})" if cost else "no cost recorded beside "
                    "its adapter")  # fmt: skip
            lines += ["", f"Tuned fusor `{fusor}`: {made}; not in the cost per item, which is what serving it costs."]
        for task in c.task_names():
            grids = [g for g in c.tasks if g.task == task]
            rows = [r for r in self.rows if r.task == task]
            langs = [lang for g in grids for lang in g.languages]
            items = "; ".join(f"{', '.join(g.languages)}: {g.limit} items each" for g in grids)
            seconds = sorted({name for r in rows for name in r.second})
            lines += ["", f"## {task} ({items})", "",
                      "| cell | method | " + " | ".join(langs) + " | mean | " + "".join(f"{s} | " for s in seconds)
                      + "s/item (candidates) | tokens/item |",
                      "|---|---|" + "---|" * (len(langs) + 3 + len(seconds))]  # fmt: skip
            for r in rows:
                cells = [f"{r.scores[lang].mean:.3f}" if lang in r.scores else "–" for lang in langs]
                star = " ★" if r.pareto else ""
                lines.append(
                    f"| {r.cell} | {r.method}{star} | "
                    + " | ".join(cells)
                    + f" | {r.scores[ALL].mean:.3f} | "
                    + "".join(f"{r.second[s]:.3f} | " for s in seconds)
                    + f"{_seconds(r.seconds_per_item)} ({_seconds(r.candidate_seconds_per_item)}) | "
                    + f"{r.tokens_per_item:.0f} |"
                )
            lines += self._front(rows)
            lines += self._comparisons(c.reference, [v for v in self.versus if v.task == task])
            lines += self._bins([b for b in self.bins if b.task == task])
            lines += self._second([m for m in self.second_metrics if m.task == task])
        return "\n".join(lines) + "\n"

    @staticmethod
    def _front(rows: list[Row]) -> list[str]:
        """The Pareto front from cheapest up: the cheapest way to each quality, and what each step up buys."""
        front = sorted((r for r in rows if r.pareto), key=lambda r: (r.cost, -r.scores[ALL].mean))
        unit = "s/item" if all(r.seconds_per_item is not None for r in front) else "tokens/item"
        table = []
        for before, r in zip([None, *front], front, strict=False):
            score = r.scores[ALL]
            step = "–"
            if before is not None:
                step = f"{score.mean - before.scores[ALL].mean:+.3f} at ×{r.cost / max(before.cost, 1e-9):.1f} the cost"
            table.append(
                [r.cell, r.method, f"{score.mean:.3f} [{score.low:.3f}, {score.high:.3f}]", f"{r.cost:.1f}", step]
            )
        intro = ("The cheapest way to each quality (the Pareto front, cheapest first; the CI resamples items; a step "
                 "is what a point adds over the one before it):")  # fmt: skip
        return _table(intro, ["cell", "method", "mean [95% CI]", unit, "step"], table) if front else []

    def _comparisons(self, reference: str, versus: list[Versus]) -> list[str]:
        intro = (f"Fusing methods against the cell's selection and against the {reference} single sample (paired on "
                 "the same items; macro difference with its 95% bootstrap CI; W/T/L; permutation p; Holm p over all "
                 f"{len(self.versus)} comparisons of the map; fell back / named: items where the fusor failed, so "
                 "the selection's answer stands in the fusing row, and where it pointed at a candidate instead of "
                 "answering (\"Candidate 2\", or its answer inside a candidate's tags), resolved to that "
                 "text):")  # fmt: skip
        rows = [[v.cell, v.method, v.against, f"{v.difference.mean:+.3f} [{v.difference.low:+.3f}, "
                 f"{v.difference.high:+.3f}]", v.record, f"{v.p_permutation:.3f}", f"{v.p_holm:.3f}", v.verdict,
                 f"{v.fell_back} / {v.named} of {v.items}"]
                for v in versus]  # fmt: skip
        header = ["cell", "method", "against", "difference [95% CI]", "W/T/L", "p", "Holm p", "verdict",
                  "fell back / named"]  # fmt: skip
        return _table(intro, header, rows)

    @staticmethod
    def _bins(bins: list[Bin]) -> list[str]:
        intro = ("Fusing minus selection by pool agreement (the support of the pool's best candidate under the task's "
                 "consensus: the vote share, or chrF support):")  # fmt: skip
        rows = [[b.cell, b.method, b.label, str(b.items), "–" if b.difference is None else f"{b.difference:+.3f}"]
                for b in bins]  # fmt: skip
        return _table(intro, ["cell", "method", "agreement", "items", "difference"], rows) if bins else []

    @staticmethod
    def _second(second: list[SecondMetric]) -> list[str]:
        intro = ("Plain fusion minus selection under the main metric and a second one no selector uses (MBR selects "
                 "by chrF); 'disagree' where the two point different ways:")  # fmt: skip
        rows = [[m.cell, f"{m.main:+.3f}", f"{m.second:+.3f}", m.metric, "agree" if m.agree else "**disagree**"]
                for m in second]  # fmt: skip
        return _table(intro, ["cell", "main", "second", "metric", ""], rows) if second else []

    def write(self, out_dir: Path) -> list[Path]:
        from fusion_dspy.map.figure import quality_vs_cost

        out_dir.mkdir(parents=True, exist_ok=True)
        md, js = out_dir / "report.md", out_dir / "report.json"
        write_atomically(md, self.markdown())
        write_atomically(js, json.dumps(self.model_dump(mode="json"), indent=1, ensure_ascii=False) + "\n")
        tasks = dict.fromkeys(grid.task for grid in self.config.tasks)  # a task's grids share its figure
        figures = [quality_vs_cost(self.rows, task, out_dir / f"cost-{task}.png") for task in tasks]
        return [md, js, *figures]
