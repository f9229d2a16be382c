"""Choose a task's adaptive-fusion thresholds on a tuning slice of stored pools (not on the examples you report).

Needs the slice's pools and plain fusion's answers (made if missing: one fusor call per example). Every grid
point is then evaluated with no LM call: the skip and the floor are consensus measures, a skipped or floored
answer is a candidate (scored once), and a fused answer is plain fusion's (already scored). The best mean
score wins; ties go to more skipped fusor calls, then to more floors (the safer side for a weak fusor), then
to the thresholds closest to the task's current ones (where the slice cannot tell values apart, keep the prior).
With `generic`, the same search chooses the thresholds any signature gets for one kind of answer (numbers, free
text ...), measured by `AnswerConsensus` on the slice's examples of that kind; each grid point is replayed through
`AdaptiveFusion.decide`, the one place the order of the steps is written.
"""

from __future__ import annotations

import json
from collections import Counter

import dspy
from pydantic import BaseModel, Field

from fusion_dspy.adaptive import AdaptiveFusion, Evidence
from fusion_dspy.errors import ConfigurationError
from fusion_dspy.eval.adaptive_method import as_aggregation
from fusion_dspy.eval.runner import Advance, Evaluation, no_progress
from fusion_dspy.eval.store import MethodRecord, PoolRecord
from fusion_dspy.select.answer_fields import AnswerKind
from fusion_dspy.select.consensus import FusedSupport

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
Grid = tuple[tuple[float | None, ...], tuple[float | None, ...]]
GRID: Grid = (SKIP_GRID, FLOOR_GRID)
FUSING_VOTE_GRID: Grid = (
    tuple(s for s in SKIP_GRID if s is None or s > 0.5),
    tuple(f for f in FLOOR_GRID if f is None or f >= 0.0),
)
"""The generic policy's grid for votes: skip only where more than half agree, and no negative floor margin
(which under a vote floors every fused answer). A vote policy outside it never lets a pool without a majority
reach the fusor, which is majority vote (`BestOfN`), not what `FusionOfN(..., adaptive=True)` asks for."""


class Item(BaseModel):
    """One tuning example: the pool's evidence, each candidate's score, and plain fusion's answer."""

    language: str
    evidence: Evidence
    candidate_scores: dict[int, float]
    fusion: MethodRecord
    fused_support: FusedSupport | None = Field(description="The fused answer's support; None when the fuser fell back.")
    baselines: dict[str, float] = Field(default_factory=dict, description="The plain rows' scores on this example.")


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
    answer_type: AnswerKind | None = Field(
        default=None, description="For the generic policy: the kind of answer chosen for (only those examples)."
    )
    slice_examples: int | None = Field(default=None, description="The slice's examples before keeping one kind.")
    baselines: dict[str, float] = Field(description="Macro means of the plain rows on the same slice.")
    chosen: Trial
    top: list[Trial]

    def basis(self, slug: str) -> str:
        """How the thresholds were chosen, for `programs/adaptive.json`."""
        others = ", ".join(f"{m} {v:.3f}" for m, v in self.baselines.items())
        command, examples = "`fusion-dspy thresholds`", f"{self.examples} examples"
        if self.answer_type is not None:
            command = f"`fusion-dspy thresholds --generic` ({self.consensus})"
            examples = f"the {self.examples} of {self.slice_examples} examples whose answers are {self.answer_type}"
        return (
            f"chosen by {command} on {self.task} {','.join(self.languages)} ({examples}, "
            f"pools {slug}): adaptive {self.chosen.mean:.3f}, {others}; skipped {self.chosen.skipped}, "
            f"floored {self.chosen.floored}"
        )

    def markdown(self) -> str:
        kind = "" if self.answer_type is None else f" (generic policy, {self.answer_type} answers only)"
        lines = [
            f"Thresholds for {self.task}{kind} on {', '.join(self.languages)} ({self.examples} examples; consensus "
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


def generic_policy(evaluation: Evaluation) -> AdaptiveFusion:
    """What a user's own signature gets from `FusionOfN(..., adaptive=True)` (consensus on the answer by kind,
    thresholds by kind of answer), around the evaluation's fusor and with its seed; not the task's policy."""
    task_policy = evaluation.adaptive.aggregator
    return AdaptiveFusion(task_policy.fuser, seed=task_policy.seed).bind(evaluation.task.signature)


async def collect(
    evaluation: Evaluation, advance: Advance = no_progress, adaptive: AdaptiveFusion | None = None
) -> list[Item]:
    """The slice's items (making missing pools and plain-fusion answers), measured by `adaptive`'s consensus
    (default: the task's policy)."""
    adaptive = adaptive or evaluation.adaptive.aggregator
    if "fusion" not in evaluation.config.methods:
        raise ConfigurationError("choosing thresholds needs plain fusion's answers: include the `fusion` method.")
    items: list[Item] = []
    for language in evaluation.config.languages:
        examples, records = await evaluation.run_language(language, advance)
        pools = evaluation.pools(language)
        for i, (example, fusion) in enumerate(zip(examples, records["fusion"], strict=True)):
            item = await _item(evaluation, adaptive, language, example, pools.rows[example.id], fusion)
            item.baselines = {m: score for m, rows in records.items()
                              if m in BASELINES and (score := rows[i].score) is not None}  # fmt: skip
            items.append(item)
    return items


def baseline_means(items: list[Item]) -> dict[str, float]:
    """The plain rows' macro means (over languages) on these items."""
    by_method: dict[str, dict[str, list[float]]] = {}
    for item in items:
        for method, score in item.baselines.items():
            by_method.setdefault(method, {}).setdefault(item.language, []).append(score)
    means = {m: [sum(v) / len(v) for v in langs.values()] for m, langs in by_method.items()}
    return {m: sum(v) / len(v) for m in BASELINES if (v := means.get(m))}


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
    support = adaptive.fused_support(inputs, pool, fused.outputs) if fused.method == "fused" else None
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


def choose(adaptive: AdaptiveFusion, items: list[Item], top: int = 10, grid: Grid = GRID) -> tuple[Trial, list[Trial]]:
    """Every grid point, best first; the chosen one (see the module docstring for the tie-breaks)."""
    if not items:
        raise ValueError("no tuning examples: the slice has no pools")
    kind = Counter(item.evidence.answer_type for item in items).most_common(1)[0][0]
    prior = tuple(_order(value) for value in adaptive.thresholds(kind))
    trials = [trial(adaptive, items, s, f) for s in grid[0] for f in grid[1]]
    ranked = sorted(trials, key=lambda t: (-round(t.mean, 9), -t.skipped, -t.floored))
    best = ranked[0]
    tied = [t for t in ranked if (round(t.mean, 9), t.skipped, t.floored) == (round(best.mean, 9), best.skipped,
                                                                                best.floored)]  # fmt: skip
    closest = min(tied, key=lambda t: abs(_order(t.skip_agreement) - prior[0]) + abs(_order(t.floor_margin) - prior[1]))
    return closest, ranked[:top]


def _order(value: float | None) -> float:
    return 2.0 if value is None else value


async def choose_thresholds(
    evaluation: Evaluation,
    advance: Advance = no_progress,
    *,
    generic: bool = False,
    answer_type: AnswerKind | None = None,
) -> ThresholdChoice:
    """Collect the slice, try the grid, and pick; restores the thresholds afterwards. `generic` chooses for the
    policy any signature gets (`generic_policy`) instead of the task's, on the examples whose answers are of
    `answer_type` (default: the slice's most common kind)."""
    adaptive = generic_policy(evaluation) if generic else evaluation.adaptive.aggregator
    before = adaptive.skip_agreement, adaptive.floor_margin
    items = await collect(evaluation, advance, adaptive)
    kind = None
    if generic:
        kind = answer_type or Counter(item.evidence.answer_type for item in items).most_common(1)[0][0]
        items, total = [item for item in items if item.evidence.answer_type == kind], len(items)
        if not items:
            raise ConfigurationError(f"no example of the slice has {kind} answers; choose another --answer-type.")
    grid = FUSING_VOTE_GRID if kind is not None and kind != "text" else GRID
    try:
        chosen, top = choose(adaptive, items, grid=grid)
    finally:
        adaptive.skip_agreement, adaptive.floor_margin = before
    config = evaluation.config
    return ThresholdChoice(task=config.task, languages=config.languages, examples=len(items),
                           consensus=adaptive.consensus.label, baselines=baseline_means(items), chosen=chosen,
                           top=top if chosen in top else [*top, chosen], answer_type=kind,
                           slice_examples=total if generic else None)  # fmt: skip
