"""Choose a task's adaptive-fusion thresholds on a tuning slice of stored pools (not on the examples you report).

Needs the slice's pools and plain fusion's answers (made if missing: one fusor call per example). Every grid
point is then evaluated with no LM call: the skip and the floor are consensus measures, a skipped or floored
answer is a candidate (scored once), and a fused answer is plain fusion's (already scored). The best mean
score wins; ties go to more skipped fusor calls, then to more floors (the safer side for a weak fusor), then
to the thresholds closest to the task's current ones (where the slice cannot tell values apart, keep the prior).
"""

from __future__ import annotations

import json

import dspy
from pydantic import BaseModel, Field

from fusion_dspy.adaptive import AdaptiveFusion, Evidence
from fusion_dspy.errors import ConfigurationError
from fusion_dspy.eval.adaptive_method import as_aggregation
from fusion_dspy.eval.runner import Advance, Evaluation, no_progress
from fusion_dspy.eval.store import MethodRecord, PoolRecord

SKIP_GRID: tuple[float | None, ...] = (None, *(round(0.3 + 0.05 * i, 2) for i in range(15)))
FLOOR_GRID: tuple[float | None, ...] = (
    None,
    -1.0,
    -0.2,
    -0.1,
    -0.05,
    -0.03,
    -0.02,
    -0.01,
    *(round(0.05 * i, 2) for i in range(13)),
)  # negative: the fused answer must beat the best candidate's support by that much; -1: never keep it
BASELINES = ("single", "bon:majority", "bon:mbr", "fusion")


class Item(BaseModel):
    """One tuning example: the pool's evidence, each candidate's score, and plain fusion's answer."""

    language: str
    evidence: Evidence
    candidate_scores: dict[int, float]
    fusion: MethodRecord
    fused_support: float | None = Field(description="The fused answer's support; None when the fuser fell back.")


class Trial(BaseModel):
    skip_agreement: float | None
    floor_margin: float | None
    mean: float = Field(description="Macro mean over the slice's languages.")
    per_language: dict[str, float]
    skipped: int
    floored: int


class ThresholdChoice(BaseModel):
    task: str
    languages: list[str]
    examples: int
    consensus: str
    baselines: dict[str, float] = Field(description="Macro means of the plain rows on the same slice.")
    chosen: Trial
    top: list[Trial]

    def basis(self, slug: str) -> str:
        """How the thresholds were chosen, for `programs/adaptive.json`."""
        others = ", ".join(f"{m} {v:.3f}" for m, v in self.baselines.items())
        return (
            f"chosen by `fusion-dspy thresholds` on {self.task} {','.join(self.languages)} ({self.examples} examples, "
            f"pools {slug}): adaptive {self.chosen.mean:.3f}, {others}; skipped {self.chosen.skipped}, "
            f"floored {self.chosen.floored}"
        )

    def markdown(self) -> str:
        lines = [
            f"Thresholds for {self.task} on {', '.join(self.languages)} ({self.examples} examples; consensus "
            f"{self.consensus}). Plain rows: " + ", ".join(f"{m} {v:.3f}" for m, v in self.baselines.items()) + ".",
            "",
            "| skip_agreement | floor_margin | mean | " + " | ".join(self.languages) + " | skipped | floored |",
            "|---|---|---|" + "---|" * len(self.languages) + "---|---|",
        ]
        for trial in self.top:
            mark = " ←" if trial == self.chosen else ""
            cells = " | ".join(f"{trial.per_language[lang]:.3f}" for lang in self.languages)
            lines.append(
                f"| {_show(trial.skip_agreement)} | {_show(trial.floor_margin)} | {trial.mean:.3f}{mark} | {cells} "
                f"| {trial.skipped} | {trial.floored} |"
            )
        return "\n".join(lines) + "\n"


def _show(value: float | None) -> str:
    return "off" if value is None else f"{value:g}"


async def collect(evaluation: Evaluation, advance: Advance = no_progress) -> tuple[list[Item], dict[str, float]]:
    """The slice's items (making missing pools and plain-fusion answers) and the baseline rows' macro means."""
    adaptive = evaluation.adaptive.aggregator
    if "fusion" not in evaluation.config.methods:
        raise ConfigurationError("choosing thresholds needs plain fusion's answers: include the `fusion` method.")
    items: list[Item] = []
    baselines: dict[str, list[float]] = {}
    for language in evaluation.config.languages:
        examples, records = await evaluation.run_language(language, advance)
        pools = evaluation.pools(language)
        for method, rows in records.items():
            scored = [r.score for r in rows if r.score is not None]
            baselines.setdefault(method, []).append(sum(scored) / len(scored) if scored else 0.0)
        for example, fusion in zip(examples, records["fusion"], strict=True):
            items.append(await _item(evaluation, adaptive, language, example, pools.rows[example.id], fusion))
    means = {m: sum(v) / len(v) for m, v in baselines.items() if m in BASELINES}
    return items, means


async def _item(
    evaluation: Evaluation,
    adaptive: AdaptiveFusion,
    language: str,
    example: dspy.Example,
    record: PoolRecord,
    fusion: MethodRecord,
) -> Item:
    inputs, pool = example.inputs().toDict(), record.pool
    evidence = await adaptive.aevidence(inputs, pool)
    scored = example.copy(baseline=record.baseline)
    scores: dict[str, float] = {}
    candidate_scores = {}
    for candidate in pool.succeeded:
        key = json.dumps(candidate.outputs, sort_keys=True, default=str)
        if key not in scores:
            scores[key] = (await evaluation.task.ameasure(scored, candidate.outputs)).score or 0.0
        candidate_scores[candidate.index] = scores[key]
    fused = as_aggregation(fusion)
    support = None
    if fused.method == "fused":
        field = adaptive.consensus.field_of(evaluation.task.signature)
        texts = [c.text(field) for c in pool.succeeded]
        support = adaptive.consensus.support(str(fused.outputs.get(field, "")), texts)
    return Item(language=language, evidence=evidence, candidate_scores=candidate_scores, fusion=fusion,
                fused_support=support)  # fmt: skip


def trial(adaptive: AdaptiveFusion, items: list[Item], skip: float | None, floor: float | None) -> Trial:
    """Adaptive fusion's mean score on `items` with these thresholds (sets them on `adaptive`)."""
    adaptive.skip_agreement, adaptive.floor_margin = skip, floor
    per_language: dict[str, list[float]] = {}
    skipped = floored = 0
    for item in items:
        best = item.candidate_scores[item.evidence.best]
        path, _ = adaptive.decide(item.evidence, item.fused_support)
        if path == "skipped":
            score, skipped = best, skipped + 1
        elif path == "floored":
            score, floored = best, floored + 1  # floored, or not fused at all where the floor must reject it
        elif item.fusion.score is not None:
            score = item.fusion.score
        else:
            continue  # plain fusion's answer is unscored (every metric judgement failed)
        per_language.setdefault(item.language, []).append(score)
    means = {lang: sum(s) / len(s) for lang, s in per_language.items()}
    return Trial(skip_agreement=skip, floor_margin=floor, mean=sum(means.values()) / len(means),
                 per_language=means, skipped=skipped, floored=floored)  # fmt: skip


def choose(adaptive: AdaptiveFusion, items: list[Item], top: int = 10) -> tuple[Trial, list[Trial]]:
    """Every grid point, best first; the chosen one (see the module docstring for the tie-breaks)."""
    if not items:
        raise ValueError("no tuning examples: the slice has no pools")
    prior = _order(adaptive.skip_agreement), _order(adaptive.floor_margin)
    trials = [trial(adaptive, items, s, f) for s in SKIP_GRID for f in FLOOR_GRID]
    ranked = sorted(trials, key=lambda t: (-round(t.mean, 9), -t.skipped, -t.floored))
    best = ranked[0]
    tied = [t for t in ranked if (round(t.mean, 9), t.skipped, t.floored) == (round(best.mean, 9), best.skipped,
                                                                                best.floored)]  # fmt: skip
    closest = min(tied, key=lambda t: abs(_order(t.skip_agreement) - prior[0]) + abs(_order(t.floor_margin) - prior[1]))
    return closest, ranked[:top]


def _order(value: float | None) -> float:
    return 2.0 if value is None else value


async def choose_thresholds(evaluation: Evaluation, advance: Advance = no_progress) -> ThresholdChoice:
    """Collect the slice, try the grid, and pick; restores the task's thresholds on the evaluation afterwards."""
    adaptive = evaluation.adaptive.aggregator
    before = adaptive.skip_agreement, adaptive.floor_margin
    items, baselines = await collect(evaluation, advance)
    try:
        chosen, top = choose(adaptive, items)
    finally:
        adaptive.skip_agreement, adaptive.floor_margin = before
    config = evaluation.config
    return ThresholdChoice(task=config.task, languages=config.languages, examples=len(items),
                           consensus=adaptive.consensus.label, baselines=baselines, chosen=chosen,
                           top=top if chosen in top else [*top, chosen])  # fmt: skip
