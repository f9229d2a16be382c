"""The evaluation report: per-language scores with 95% CIs, paired win/tie/loss, cost; as Markdown, JSON, PNG."""

from __future__ import annotations

from pathlib import Path

from pydantic import BaseModel, Field

from fusion_dspy.eval.config import EvalConfig
from fusion_dspy.eval.stats import Estimate, WinTieLoss, bootstrap, bootstrap_macro, paired
from fusion_dspy.eval.store import MethodRecord
from fusion_dspy.eval.summaries import (
    ALL,
    PathSummary,
    ProvenanceSummary,
    path_summaries,
    provenance_summaries,
    versus,
)
from fusion_dspy.usage import TokenUsage

MEAN = "mean"


class MethodCost(BaseModel):
    """What a method spent beyond the shared candidate pool, summed over all examples."""

    usage: TokenUsage = TokenUsage()
    wall_s: float = 0.0
    fallbacks: int = 0


class EvalReport(BaseModel):
    config: EvalConfig
    task_description: str
    languages: list[str]
    methods: list[str]
    scores: dict[str, dict[str, Estimate]] = Field(description="method → language (and 'mean') → estimate")
    fusion_vs: dict[str, dict[str, WinTieLoss]] = Field(description="BoN method → language (and 'all') → W/T/L")
    cost: dict[str, MethodCost]
    pool_usage: TokenUsage
    adaptive_vs: dict[str, dict[str, WinTieLoss]] = Field(
        default_factory=dict, description="other method → language (and 'all') → adaptive's W/T/L"
    )
    paths: dict[str, PathSummary] = Field(default_factory=dict, description="language (and 'all') → adaptive paths")
    provenance: dict[str, ProvenanceSummary] = Field(default_factory=dict, description="method → made, not taken")

    @classmethod
    def build(
        cls,
        config: EvalConfig,
        task_description: str,
        results: dict[str, dict[str, list[MethodRecord]]],
        pool_usage: TokenUsage,
    ) -> EvalReport:
        """`results`: language → method → records in example order."""
        languages, methods = list(results), config.methods
        scores: dict[str, dict[str, Estimate]] = {}
        cost: dict[str, MethodCost] = {}
        for method in methods:
            per_language = {lang: [r.score for r in results[lang][method]] for lang in languages}
            scores[method] = {lang: bootstrap(s, seed=config.seed) for lang, s in per_language.items()}
            scores[method][MEAN] = bootstrap_macro(list(per_language.values()), seed=config.seed)
            records = [r for lang in languages for r in results[lang][method]]
            cost[method] = MethodCost(
                usage=TokenUsage.sum(r.usage for r in records),
                wall_s=sum(r.wall_s for r in records),
                fallbacks=sum(r.fallback is not None for r in records),
            )
        fusion_vs: dict[str, dict[str, WinTieLoss]] = {}
        baselines = [m for m in methods if m.startswith("bon:") or m == "single"] if "fusion" in methods else []
        for method in baselines:
            table = {
                lang: paired([r.score for r in results[lang]["fusion"]], [r.score for r in results[lang][method]])
                for lang in languages
            }
            table["all"] = sum(table.values(), WinTieLoss())
            fusion_vs[method] = table
        return cls(
            config=config, task_description=task_description, languages=languages, methods=methods,
            scores=scores, fusion_vs=fusion_vs, cost=cost, pool_usage=pool_usage,
            adaptive_vs=versus(results, "adaptive", methods), paths=path_summaries(results),
            provenance=provenance_summaries(results),
        )  # fmt: skip

    def markdown(self) -> str:
        c = self.config
        columns = [*self.languages, MEAN]
        lines = [
            f"# fusion-dspy eval: {c.task}",
            "",
            f"{self.task_description}. Model `{c.model or 'local'}`, fusor `{c.fusor_model or c.model or 'local'}`, "
            f"judge `{c.judge_model or c.fusor_model or c.model or 'local'}`; n={c.n}, temperature={c.temperature}, "
            f"seed={c.seed}, limit={c.limit} examples per language. Scores in [0, 1] with 95% bootstrap CIs.",
            "",
            "| method | " + " | ".join(columns) + " |",
            "|---|" + "---|" * len(columns),
        ]
        for method in self.methods:
            cells = [f"{e.mean:.3f} [{e.low:.2f}, {e.high:.2f}]" for e in (self.scores[method][col] for col in columns)]
            lines.append(f"| {method} | " + " | ".join(cells) + " |")
        keys = [*self.languages, ALL]
        if self.fusion_vs:
            lines += ["", "Fusion vs each baseline, paired per example (fusion wins / ties / losses):", ""]
            lines += ["| vs | " + " | ".join(keys) + " |", "|---|" + "---|" * len(keys)]
            for method, table in self.fusion_vs.items():
                lines.append(f"| {method} | " + " | ".join(str(table[k]) for k in keys) + " |")
        lines += self._adaptive_markdown() + self._provenance_markdown()
        lines += [
            "",
            f"Cost beyond the shared pools (pools: {self.pool_usage.lm_calls} LM calls, "
            f"{self.pool_usage.prompt_tokens} prompt + {self.pool_usage.completion_tokens} completion tokens):",
            "",
            "| method | LM calls | prompt tokens | completion tokens | wall s (sum) | fallbacks |",
            "|---|---|---|---|---|---|",
        ]
        for method in self.methods:
            k = self.cost[method]
            lines.append(
                f"| {method} | {k.usage.lm_calls} | {k.usage.prompt_tokens} | {k.usage.completion_tokens} | "
                f"{k.wall_s:.1f} | {k.fallbacks} |"
            )
        return "\n".join(lines) + "\n"

    def _adaptive_markdown(self) -> list[str]:
        if not self.paths:
            return []
        keys = [*self.languages, ALL]
        lines = ["", "Adaptive fusion vs each other row, paired per example (adaptive wins / ties / losses):", ""]
        lines += ["| vs | " + " | ".join(keys) + " |", "|---|" + "---|" * len(keys)]
        for method, table in self.adaptive_vs.items():
            lines.append(f"| {method} | " + " | ".join(str(table[k]) for k in keys) + " |")
        lines += [
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
