"""What a run still has to do, and roughly how many LM calls that takes: said before any call is made."""

from __future__ import annotations

from pydantic import BaseModel, Field

from fusion_dspy.eval.adaptive_method import ADAPTIVE
from fusion_dspy.eval.runner import Evaluation

LLM_SCORER_CALLS = {"judge": lambda n: n, "pairwise": lambda n: n * (n - 1)}


class LanguagePlan(BaseModel):
    """One language: how many pools and answers are missing, and the LM calls they need."""

    language: str
    examples: int
    pools_missing: int
    pool_calls: int
    answers_missing: dict[str, int] = Field(default_factory=dict, description="method → answers not stored yet")
    fusor_calls: int = Field(default=0, description="Plain fusion's calls, shared with adaptive fusion.")
    scorer_calls: int = Field(default=0, description="LLM-judge Best-of-N calls.")
    metric_calls: int = Field(default=0, description="Calls of a judged metric (open-ended tasks).")

    @property
    def calls(self) -> int:
        return self.pool_calls + self.fusor_calls + self.scorer_calls + self.metric_calls


class Plan(BaseModel):
    task: str
    n: int
    languages: list[LanguagePlan]
    pools_only: bool = False

    @property
    def calls(self) -> int:
        return sum(lang.calls for lang in self.languages)

    def text(self) -> str:
        """A few lines for the terminal."""
        what = "candidate pools only" if self.pools_only else "pools and answers"
        lines = [f"Plan for {self.task} (n={self.n}, {what}): about {self.calls} LM calls"]
        for lang in self.languages:
            parts = [f"{lang.examples} examples", f"pools missing {lang.pools_missing} ({lang.pool_calls} calls)"]
            missing = {m: k for m, k in lang.answers_missing.items() if k}
            if not self.pools_only:
                parts.append(
                    "answers missing " + (", ".join(f"{m} {k}" for m, k in missing.items()) if missing else "none")
                )
                if lang.fusor_calls:
                    parts.append(f"fusor ≤ {lang.fusor_calls} calls")
                if lang.scorer_calls:
                    parts.append(f"LLM scorers {lang.scorer_calls} calls")
                if lang.metric_calls:
                    parts.append(f"judged metric {lang.metric_calls} calls")
            lines.append(f"  {lang.language}: " + " · ".join(parts))
        if not self.pools_only and any(lang.fusor_calls for lang in self.languages):
            lines.append(
                "  (fusor calls are an upper bound: adaptive fusion reuses plain fusion's answer and skips the fusor "
                "where the candidates agree; a reply in the wrong format costs one retry)"
            )
        return "\n".join(lines)


def plan(evaluation: Evaluation, pools_only: bool = False) -> Plan:
    """Count what is missing under the run's folder; loads the data and the stores, calls no model."""
    config, task = evaluation.config, evaluation.task
    per_pool = config.n + (1 if task.needs_baseline else 0)
    languages = []
    for language in config.languages:
        examples = task.load(language, config.limit, config.seed)
        pools = evaluation.pools(language)
        methods = evaluation.methods_log(language)
        lang = LanguagePlan(language=language, examples=len(examples), pools_missing=0, pool_calls=0)
        lang.pools_missing = sum(ex.id not in pools for ex in examples)
        lang.pool_calls = lang.pools_missing * per_pool
        if not pools_only:
            for method in config.methods:
                missing = [ex.id for ex in examples if evaluation.needs(methods, method, ex.id)]
                lang.answers_missing[method] = len(missing)
                scorer = method.removeprefix("bon:")
                if method.startswith("bon:") and scorer in LLM_SCORER_CALLS:
                    lang.scorer_calls += len(missing) * LLM_SCORER_CALLS[scorer](config.n)
                answers = len(missing) * (config.n if method == "oracle" else 1)
                lang.metric_calls += answers * task.metric_lm_calls
            wants_fusion = {"fusion", ADAPTIVE} & set(config.methods)
            lang.fusor_calls = sum(
                1
                for ex in examples
                if evaluation.needs(methods, "fusion", ex.id)
                and any(evaluation.needs(methods, m, ex.id) for m in wants_fusion)
            )
        languages.append(lang)
    return Plan(task=config.task, n=config.n, languages=languages, pools_only=pools_only)
