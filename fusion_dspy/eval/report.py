"""The evaluation report: per-language scores with 95% CIs, paired differences, cost; as Markdown, JSON, PNG."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from pydantic import BaseModel, Field

from fusion_dspy.eval.config import EvalConfig
from fusion_dspy.eval.paired import ALL, Comparison, compare_methods
from fusion_dspy.eval.stats import Estimate, WinTieLoss, bootstrap, bootstrap_macro
from fusion_dspy.eval.store import MethodRecord
from fusion_dspy.eval.summaries import PathSummary, ProvenanceSummary, path_summaries, provenance_summaries
from fusion_dspy.programs.base import Task
from fusion_dspy.usage import TokenUsage

MEAN = "mean"


def compared_methods(methods: list[str]) -> list[str]:
    """The methods a report compares with every other one: fusion, and any adaptive variant of it."""
    return [m for m in methods if m == "fusion" or m.startswith("adaptive")]


TIE_NOTE_SHARE = 0.1
"""From this share of tied examples up, a row's label says how often it was a random pick."""


class MethodCost(BaseModel):
    """What a method spent beyond the shared candidate pool, summed over all examples, and how often it could
    not decide cleanly."""

    usage: TokenUsage = TokenUsage()
    wall_s: float = 0.0
    fallbacks: int = 0
    ties: int = Field(default=0, description="Selections where different answers shared the top score.")
    unscored: int = Field(default=0, description="Answers left unscored: every metric judgement failed.")
    failed_judgements: int = Field(default=0, description="Metric judge calls that failed or answered off-format.")
    stale: int = Field(default=0, description="Answers or scores kept from older code (--rescore-only).")


class EvalReport(BaseModel):
    config: EvalConfig
    task_description: str
    languages: list[str]
    methods: list[str]
    scores: dict[str, dict[str, Estimate]] = Field(description="method → language (and 'mean') → estimate")
    comparisons: dict[str, dict[str, dict[str, Comparison]]] = Field(
        default_factory=dict,
        description="fusion (or adaptive*) → other method → language (and 'all') → paired difference, W/T/L, p",
    )
    corpus_metric: str | None = None
    corpus: dict[str, dict[str, float]] = Field(
        default_factory=dict, description="method → language → corpus-level score (e.g. corpus chrF++)"
    )
    cost: dict[str, MethodCost]
    pool_usage: TokenUsage
    judges: dict[str, str] = Field(default_factory=dict, description="'selection' and 'metric' judge models")
    score_version: str | None = None
    parallel: bool = Field(default=False, description="Items shared across languages, resampled jointly.")
    paths: dict[str, PathSummary] = Field(default_factory=dict, description="language (and 'all') → adaptive paths")
    provenance: dict[str, ProvenanceSummary] = Field(default_factory=dict, description="method → made, not taken")

    @classmethod
    def build(
        cls,
        config: EvalConfig,
        task: Task,
        results: dict[str, dict[str, list[MethodRecord]]],
        pool_usage: TokenUsage,
        corpus: dict[str, dict[str, float]] | None = None,
        judges: dict[str, str] | None = None,
        is_current: Callable[[MethodRecord], bool] = lambda record: True,
    ) -> EvalReport:
        """`results`: language → method → records in example order."""
        languages, methods = list(results), config.methods
        keyed = {
            method: {lang: {task.item_key(r.id, lang): r.score for r in results[lang][method]} for lang in languages}
            for method in methods
        }
        scores: dict[str, dict[str, Estimate]] = {}
        cost: dict[str, MethodCost] = {}
        for method in methods:
            scored = {lang: {k: s for k, s in keyed[method][lang].items() if s is not None} for lang in languages}
            scores[method] = {lang: bootstrap(list(scored[lang].values()), seed=config.seed) for lang in languages}
            scores[method][MEAN] = bootstrap_macro(scored, seed=config.seed)
            records = [r for lang in languages for r in results[lang][method]]
            cost[method] = MethodCost(
                usage=TokenUsage.sum(r.usage for r in records),
                wall_s=sum(r.wall_s for r in records),
                fallbacks=sum(r.fallback is not None for r in records),
                ties=sum((r.tied or 0) > 1 for r in records),
                unscored=sum(r.score is None for r in records),
                failed_judgements=sum(r.failed_judgements for r in records),
                stale=sum(not is_current(r) for r in records),
            )
        comparisons = {
            focus: {other: compare_methods(keyed[focus], keyed[other], seed=config.seed) for other in methods
                    if other != focus}
            for focus in compared_methods(methods)
        }  # fmt: skip
        return cls(
            config=config, task_description=task.description, languages=languages, methods=methods, scores=scores,
            comparisons=comparisons, corpus_metric=task.corpus_metric if corpus else None, corpus=corpus or {},
            cost=cost, pool_usage=pool_usage, judges=judges or {}, score_version=task.score_version(),
            parallel=task.parallel and len(languages) > 1, paths=path_summaries(results),
            provenance=provenance_summaries(results),
        )  # fmt: skip

    def tie_share(self, method: str) -> float:
        """The share of examples where `method` chose among different answers with the same top score (a seeded
        random pick): a selection row that mostly ties measures the tie-break, not the selector."""
        answers = sum(self.scores[method][language].n for language in self.languages)
        return self.cost[method].ties / answers if method in self.cost and answers else 0.0

    def row_label(self, method: str) -> str:
        """The method's name, with its tie rate when it ties on at least one example in ten."""
        share = self.tie_share(method)
        return f"{method} (tie on {share:.0%}: a random pick there)" if share >= TIE_NOTE_SHARE else method

    def _header(self) -> list[str]:
        c = self.config
        fusor = c.fusor_model or c.model or "local"
        selection = self.judges.get("selection", c.judge_model or fusor)
        lines = [
            f"# fusion-dspy eval: {c.task}",
            "",
            f"{self.task_description}. Model `{c.model or 'local'}`, fusor `{fusor}`, selection judge `{selection}`"
            + (f", metric judge `{self.judges['metric']}`" if "metric" in self.judges else "")
            + f"; n={c.n}, temperature={c.temperature}, seed={c.seed}, limit={c.limit} examples per language"
            + (
                " (unreported items only: none that a reported number was measured on)"
                if c.items == "unreported"
                else ""
            )
            + ". Scores in [0, 1] with 95% bootstrap CIs; the mean weighs each language once"
            + (", resampling items jointly across languages (the benchmark is parallel)." if self.parallel else "."),
        ]
        if self.judges.get("metric") and self.judges.get("metric") == selection:
            lines += [
                "",
                f"**The metric judge is also the selection judge** (`{selection}`): bon:judge and bon:pairwise "
                "optimise the metric itself, so their scores are near-oracle by design. Pass `--metric-judge-model` "
                "to judge with another model.",
            ]
        if self.score_version:
            lines += ["", f"Scores: `{self.score_version}`."]
        stale = {m: k.stale for m, k in self.cost.items() if k.stale}
        if stale:
            lines += [
                "",
                "**Partly re-scored** (`--rescore-only`): "
                + ", ".join(f"{m} {count}" for m, count in stale.items())
                + " answers or scores come from older code and were kept, because redoing them needs LM calls; "
                "rerun without `--rescore-only` to redo them.",
            ]
        return lines

    def markdown(self) -> str:
        columns = [*self.languages, MEAN]
        lines = [*self._header(), "", "| method | " + " | ".join(columns) + " |", "|---|" + "---|" * len(columns)]
        for method in self.methods:
            cells = [f"{e.mean:.3f} [{e.low:.2f}, {e.high:.2f}]" for e in (self.scores[method][col] for col in columns)]
            lines.append(f"| {self.row_label(method)} | " + " | ".join(cells) + " |")
        if self.corpus:
            lines += [
                "",
                f"The scores above are means of per-sentence scores. Corpus-level {self.corpus_metric} (n-gram "
                "statistics pooled over each language's segments, as WMT reports it):",
                "",
                "| method | " + " | ".join(self.languages) + " |",
                "|---|" + "---|" * len(self.languages),
            ]
            for method in self.methods:
                lines.append(
                    f"| {method} | " + " | ".join(f"{self.corpus[method][k]:.3f}" for k in self.languages) + " |"
                )
        for focus, table in self.comparisons.items():
            lines += [
                "",
                f"{focus} against each method, paired on the same examples: mean difference ({focus} − other) with "
                "its 95% paired bootstrap CI, then wins/ties/losses; 'all' is the macro mean. p: exact two-sided "
                "sign test on wins vs losses (ties left out). A CI that spans 0 means no difference.",
                "",
                f"| {focus} vs | " + " | ".join([*self.languages, ALL]) + " | p (all) | verdict |",
                "|---|" + "---|" * (len(self.languages) + 3),
            ]
            for other, by in table.items():
                cells = [
                    f"{d.mean:+.3f} [{d.low:+.2f}, {d.high:+.2f}] {by[k].record}"
                    for k in [*self.languages, ALL]
                    for d in [by[k].difference]
                ]
                lines.append(f"| {other} | " + " | ".join(cells) + f" | {by[ALL].p_sign:.3g} | {by[ALL].verdict} |")
        lines += self._adaptive_markdown() + self._provenance_markdown()
        lines += [
            "",
            f"Cost beyond the shared pools (pools: {self.pool_usage.lm_calls} LM calls, "
            f"{self.pool_usage.prompt_tokens} prompt + {self.pool_usage.completion_tokens} completion tokens), and "
            "how often a method could not decide cleanly (ties: selections where different answers shared the top "
            "score, broken at random with the seed; unscored: every metric judgement failed; stale: answers or "
            "scores made by older code and kept by `--rescore-only`):",
            "",
            "| method | LM calls | prompt tokens | completion tokens | wall s (sum) | fallbacks | ties | unscored "
            "| failed judgements | stale |",
            "|---|---|---|---|---|---|---|---|---|---|",
        ]
        for method in self.methods:
            k = self.cost[method]
            lines.append(
                f"| {method} | {k.usage.lm_calls} | {k.usage.prompt_tokens} | {k.usage.completion_tokens} | "
                f"{k.wall_s:.1f} | {k.fallbacks} | {k.ties} | {k.unscored} | {k.failed_judgements} | {k.stale} |"
            )
        return "\n".join(lines) + "\n"

    def _adaptive_markdown(self) -> list[str]:
        if not self.paths:
            return []
        keys = [*self.languages, ALL]
        lines = [
            "",
            "Adaptive fusion's paths (share of examples), fusor calls, and what skipping or flooring did against "
            "plain fusion on those examples (mean score difference; W/T/L):",
            "",
            "| | fused | skipped | floored | selected | fusor calls (plain fusion) | skipped: Δ, W/T/L "
            "| floored: Δ, W/T/L |",
            "|---|---|---|---|---|---|---|---|",
        ]
        for key in keys:
            p = self.paths.get(key)
            if p is None:
                continue
            shares = " | ".join(f"{p.share(path):.0%}" for path in ("fused", "skipped", "floored", "selected"))
            plain = "–" if p.plain_fusor_calls is None else str(p.plain_fusor_calls)
            lines.append(
                f"| {key} | {shares} | {p.fusor_calls} ({plain}) | {_delta(p.skipped_delta, p.skipped_vs_fusion)} "
                f"| {_delta(p.floored_delta, p.floored_vs_fusion)} |"
            )
        return lines

    def _provenance_markdown(self) -> list[str]:
        if not self.provenance:
            return []
        lines = [
            "",
            "Provenance: how much of each answer is made, not taken (its share of words, or CJK characters, found "
            "in no candidate), and whether novelty goes with gains or losses against a selection row:",
            "",
            "| method | answers | mean new share | answers with new text | vs | by novelty: answers, Δ, W/T/L |",
            "|---|---|---|---|---|---|",
        ]
        for method, p in self.provenance.items():
            buckets = "; ".join(f"{b.label}: {b.answers}, {_delta(b.delta, b.versus)}" for b in p.buckets)
            lines.append(
                f"| {method} | {p.answers} | {p.mean_new:.1%} | {p.with_new} | {p.reference or '–'} | {buckets} |"
            )
        return lines

    def write(self, out_dir: Path) -> list[Path]:
        """report.md, report.json and figure.png under `out_dir`."""
        out_dir.mkdir(parents=True, exist_ok=True)
        paths = [out_dir / "report.md", out_dir / "report.json", out_dir / "figure.png"]
        paths[0].write_text(self.markdown(), encoding="utf-8")
        paths[1].write_text(self.model_dump_json(indent=2), encoding="utf-8")
        self.figure(paths[2])
        return paths

    def figure(self, path: Path) -> None:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt

        columns = [*self.languages, MEAN]
        width = 0.8 / len(self.methods)
        fig, ax = plt.subplots(figsize=(max(7.0, 1.6 * len(columns) + 3.5), 4))
        for i, method in enumerate(self.methods):
            estimates = [self.scores[method][col] for col in columns]
            xs = [j + (i - (len(self.methods) - 1) / 2) * width for j in range(len(columns))]
            errors = [[e.mean - e.low for e in estimates], [e.high - e.mean for e in estimates]]
            ax.bar(xs, [e.mean for e in estimates], width, yerr=errors, capsize=2, label=method)
        ax.set_xticks(range(len(columns)), columns)
        ax.set_ylim(0, 1.05)
        ax.set_ylabel("score (95% CI)")
        ax.set_title(f"{self.config.task}: n={self.config.n}, {self.config.model or 'local'}")
        ax.legend(fontsize="small", loc="upper left", bbox_to_anchor=(1.0, 1.0))
        fig.tight_layout()
        fig.savefig(path, dpi=120)
        plt.close(fig)


def _delta(delta: float | None, versus: WinTieLoss | None) -> str:
    if delta is None or versus is None:
        return "–"
    return f"{delta:+.3f}, {versus}"
