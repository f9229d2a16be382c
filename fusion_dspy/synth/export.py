"""Export a finished (or partial) job: a Hugging Face dataset, chat-format JSONL for fine-tuning, stats.json."""

from __future__ import annotations

import json
import shutil
from typing import Any

import datasets
from pydantic import BaseModel, Field

from fusion_dspy.files import write_atomically
from fusion_dspy.jsonl import JsonlLog
from fusion_dspy.outcome import Answer, Outcome
from fusion_dspy.synth.config import SynthConfig
from fusion_dspy.synth.prompts import PromptRow
from fusion_dspy.usage import TokenUsage


class TeacherStats(BaseModel):
    samples: int = 0
    failures: int = 0
    usage: TokenUsage = TokenUsage()
    cost_usd: float | None = None


class SynthStats(BaseModel):
    prompts: int
    rows: int
    failed_rows: int
    teachers: dict[str, TeacherStats] = Field(default_factory=dict)
    fusor_usage: TokenUsage = TokenUsage()
    bon_usage: TokenUsage = TokenUsage()
    fusion_fallbacks: int = 0
    cost_usd: float | None = Field(default=None, description="Where litellm knows every model's price.")


def _cost(model: str, usage: TokenUsage) -> float | None:
    import litellm

    litellm.suppress_debug_info = True  # else an unknown model (e.g. `local`) prints litellm's "Provider List" line
    try:
        prompt, completion = litellm.cost_per_token(
            model=model, prompt_tokens=usage.prompt_tokens, completion_tokens=usage.completion_tokens
        )
    except Exception:  # noqa: BLE001 - an unknown price is unknown, not zero
        return None
    return float(prompt + completion)


def stats_for(config: SynthConfig, prompts: list[PromptRow], rows: list[Outcome]) -> SynthStats:
    teachers: dict[str, TeacherStats] = {}
    stats = SynthStats(prompts=len(prompts), rows=sum(r.fused is not None for r in rows), failed_rows=0)
    for row in rows:
        stats.failed_rows += row.error is not None
        for candidate in row.candidates:
            entry = teachers.setdefault(candidate.source, TeacherStats())
            entry.samples += 1
            entry.failures += not candidate.ok
            entry.usage += candidate.usage
        if row.fused is not None:
            stats.fusor_usage += row.fused.usage
            stats.fusion_fallbacks += row.fused.fallback is not None
        if row.selected is not None:
            stats.bon_usage += row.selected.usage
    for model, entry in teachers.items():
        entry.cost_usd = _cost(model, entry.usage)
    stats.teachers = teachers
    costs = [t.cost_usd for t in teachers.values()] + [_cost(config.fusor_model, stats.fusor_usage + stats.bon_usage)]
    stats.cost_usd = sum(c for c in costs if c is not None) if all(c is not None for c in costs) else None
    return stats


def _chat(row: Outcome, answer: Answer) -> dict[str, Any]:
    return {
        "id": row.id,
        "messages": [{"role": "user", "content": row.prompt}, {"role": "assistant", "content": answer.response}],
    }


def _flat(row: Outcome, fusor: str) -> dict[str, Any]:
    provenance = row.fused.provenance if row.fused else None
    return {
        "id": row.id,
        "prompt": row.prompt,
        "fused": row.fused.response if row.fused else None,
        "bon": row.selected.response if row.selected else None,
        "bon_teacher": row.selected.chosen_source if row.selected else None,
        "fusor": fusor,
        "teachers": [c.source for c in row.candidates],
        "candidates": [c.text("response") if c.ok else None for c in row.candidates],
        "candidate_errors": [c.error for c in row.candidates],
        "fusion_fallback": row.fused.fallback if row.fused else None,
        "fused_path": row.fused.path if row.fused else None,
        "fused_new_share": provenance.new if provenance else None,
        "fused_support": provenance.support if provenance else None,
    }


def export(config: SynthConfig, prompts: list[PromptRow], done: JsonlLog[Outcome]) -> SynthStats:
    """One row per prompt that has a fused answer, in prompt order; files are replaced atomically."""
    out = config.out_dir
    rows = [done.rows[p.id] for p in prompts if p.id in done]
    good = [r for r in rows if r.fused is not None]
    fused = [_chat(r, r.fused) for r in good if r.fused is not None]
    write_atomically(out / "fused.jsonl", "".join(json.dumps(row, ensure_ascii=False) + "\n" for row in fused))
    if config.bon:
        picked = [_chat(r, r.selected) for r in good if r.selected is not None]
        write_atomically(out / "bon.jsonl", "".join(json.dumps(row, ensure_ascii=False) + "\n" for row in picked))
    staging = out / "dataset.partial"
    shutil.rmtree(staging, ignore_errors=True)
    datasets.Dataset.from_list([_flat(r, config.fusor_model) for r in good]).save_to_disk(str(staging))
    shutil.rmtree(out / "dataset", ignore_errors=True)
    staging.rename(out / "dataset")
    stats = stats_for(config, prompts, rows)
    write_atomically(out / "stats.json", stats.model_dump_json(indent=2) + "\n")
    return stats
