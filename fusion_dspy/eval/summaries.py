"""Report sections on adaptive fusion (which path, fusor calls saved, effect) and on provenance (made, not taken)."""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence

from pydantic import BaseModel, Field

from fusion_dspy.eval.stats import WinTieLoss, paired
from fusion_dspy.eval.store import MethodRecord

ALL = "all"
REFERENCES = ("bon:mbr", "bon:majority", "single")
NOVELTY_BUCKETS = (("none (0%)", 0.0, 0.0), ("some (≤25%)", 1e-9, 0.25), ("much (>25%)", 0.25 + 1e-9, 1.0))

Results = dict[str, dict[str, list[MethodRecord]]]


class PathSummary(BaseModel):
    """How adaptive fusion answered: per path, the fusor calls it made and saved, and what skipping/flooring did."""

    examples: int
    paths: dict[str, int] = Field(description="fused / skipped / floored / selected → answers")
    fusor_calls: int = Field(description="LM calls adaptive fusion made (fusor calls where it fused).")
    plain_fusor_calls: int | None = Field(default=None, description="LM calls of plain fusion on the same pools.")
    skipped_vs_fusion: WinTieLoss | None = Field(default=None, description="adaptive vs plain fusion where skipped")
    skipped_delta: float | None = Field(default=None, description="mean(adaptive − fusion) where it skipped")
    floored_vs_fusion: WinTieLoss | None = None
    floored_delta: float | None = None

    def share(self, path: str) -> float:
        return self.paths.get(path, 0) / self.examples if self.examples else 0.0


class NoveltyBucket(BaseModel):
    label: str
    answers: int
    delta: float | None = Field(description="mean score difference against the reference row")
    versus: WinTieLoss


class ProvenanceSummary(BaseModel):
    """How much of a method's answers is made (in no candidate), and whether novelty goes with gains or losses."""

    answers: int
    mean_new: float = Field(description="Mean share of an answer's units found in no candidate.")
    with_new: int = Field(description="Answers with any new unit.")
    reference: str | None = Field(description="The selection row differences are measured against.")
    buckets: list[NoveltyBucket] = Field(default_factory=list)


def _mean(values: Sequence[float]) -> float | None:
    return sum(values) / len(values) if values else None


def path_summaries(results: Results) -> dict[str, PathSummary]:
    """Per language and for all: adaptive fusion's paths; empty when there is no adaptive row."""
    summaries: dict[str, PathSummary] = {}
    groups = {lang: methods for lang, methods in results.items() if "adaptive" in methods}
    if not groups:
        return summaries
    for label, languages in [*((lang, [lang]) for lang in groups), (ALL, list(groups))]:
        adaptive = [r for lang in languages for r in groups[lang]["adaptive"]]
        fusion = [r for lang in languages for r in groups[lang].get("fusion", [])]
        summary = PathSummary(
            examples=len(adaptive),
            paths=dict(Counter(r.path or "fused" for r in adaptive)),
            fusor_calls=sum(r.usage.lm_calls for r in adaptive),
            plain_fusor_calls=sum(r.usage.lm_calls for r in fusion) if fusion else None,
        )
        if fusion:
            for path in ("skipped", "floored"):
                pairs = [
                    (a.score, f.score)
                    for a, f in zip(adaptive, fusion, strict=True)
                    if a.path == path and a.score is not None and f.score is not None
                ]
                setattr(summary, f"{path}_vs_fusion", paired([a for a, _ in pairs], [f for _, f in pairs]))
                setattr(summary, f"{path}_delta", _mean([a - f for a, f in pairs]))
        summaries[label] = summary
    return summaries


def provenance_summaries(
    results: Results, methods: Sequence[str] = ("fusion", "adaptive")
) -> dict[str, ProvenanceSummary]:
    """Per method (pooled over languages): the made-not-taken share, and score differences by novelty."""
    summaries: dict[str, ProvenanceSummary] = {}
    for method in methods:
        rows = [(lang, i, r) for lang, by in results.items() for i, r in enumerate(by.get(method, []))]
        rows = [(lang, i, r) for lang, i, r in rows if r.provenance is not None]
        if not rows:
            continue
        languages = {lang for lang, _, _ in rows}
        reference = next((m for m in REFERENCES if all(m in results[lang] for lang in languages)), None)
        buckets = []
        for label, low, high in NOVELTY_BUCKETS:
            inside = [(lang, i, r) for lang, i, r in rows if r.provenance and low <= r.provenance.new <= high]
            scored = [(r.score, results[lang][reference][i].score if reference else None) for lang, i, r in inside]
            pairs = [(a, b) for a, b in scored if a is not None and b is not None]
            mine, theirs = [a for a, _ in pairs], [b for _, b in pairs]
            buckets.append(
                NoveltyBucket(
                    label=label, answers=len(inside), versus=paired(mine, theirs) if reference else WinTieLoss(),
                    delta=_mean([a - b for a, b in zip(mine, theirs, strict=True)]) if reference else None,
                )
            )  # fmt: skip
        news = [r.provenance.new for _, _, r in rows if r.provenance is not None]
        summaries[method] = ProvenanceSummary(answers=len(rows), mean_new=sum(news) / len(news),
                                              with_new=sum(n > 0 for n in news), reference=reference,
                                              buckets=buckets)  # fmt: skip
    return summaries
