"""Evaluation: FusionOfN vs BestOfN (each scorer) vs a single sample vs the oracle, on identical stored pools."""

from __future__ import annotations

from pathlib import Path

from fusion_dspy.eval.config import DEFAULT_SCORERS, EvalConfig
from fusion_dspy.eval.paired import Comparison, compare_methods, paired_difference, sign_test
from fusion_dspy.eval.plan import Plan, plan
from fusion_dspy.eval.report import EvalReport
from fusion_dspy.eval.runner import Advance, Evaluation, no_progress
from fusion_dspy.eval.stats import Estimate, WinTieLoss, bootstrap, bootstrap_macro, paired
from fusion_dspy.eval.store import MethodRecord, PoolKey, PoolRecord
from fusion_dspy.usage import TokenUsage


async def run_evaluation(
    config: EvalConfig, advance: Advance = no_progress, evaluation: Evaluation | None = None
) -> tuple[EvalReport, list[Path]]:
    """Run (or resume) every language of `config`, then write report.md, report.json and figure.png."""
    evaluation = evaluation or Evaluation(config)
    task = evaluation.task
    results = {}
    corpus: dict[str, dict[str, float]] = {}
    pool_usage = TokenUsage()
    for language in config.languages:
        examples, records = await evaluation.run_language(language, advance)
        results[language] = records
        pools = evaluation.pools(language)
        for example in examples:
            pool_usage += pools.rows[example.id].pool.usage
        for method, method_records in records.items():
            value = task.corpus_score(examples, [r.outputs for r in method_records])
            if value is not None:
                corpus.setdefault(method, {})[language] = value
    report = EvalReport.build(config, task, results, pool_usage, corpus, evaluation.judges(), evaluation.is_current)
    return report, report.write(config.out_dir)


async def make_pools(
    config: EvalConfig, advance: Advance = no_progress, evaluation: Evaluation | None = None
) -> dict[str, int]:
    """Only sample (or resume) the candidate pools of every language; returns how many each language has."""
    evaluation = evaluation or Evaluation(config)
    made = {}
    for language in config.languages:
        examples, _ = await evaluation.ensure_pools(language, advance)
        made[language] = len(examples)
    return made


__all__ = [
    "DEFAULT_SCORERS",
    "Comparison",
    "Estimate",
    "EvalConfig",
    "EvalReport",
    "Evaluation",
    "MethodRecord",
    "Plan",
    "PoolKey",
    "PoolRecord",
    "WinTieLoss",
    "bootstrap",
    "bootstrap_macro",
    "compare_methods",
    "make_pools",
    "paired",
    "paired_difference",
    "plan",
    "run_evaluation",
    "sign_test",
]
