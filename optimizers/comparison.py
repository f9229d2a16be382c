"""Registered studies side by side: for each task and language, which optimiser (at which budget) moved the
held-out score, by how much, with what certainty — one table instead of one report per run."""

from __future__ import annotations

from pathlib import Path

import optuna
from pydantic import BaseModel

from fusion_dspy.errors import ConfigurationError
from fusion_dspy.optimizers.study import pick_best
from fusion_dspy.registry import MANIFEST, HeldOut, Manifest, RegistryEntry

HARD = "hard"


class StudyRow(BaseModel):
    """One registry entry, with what its Optuna study adds when the storage is at hand."""

    registry: str
    entry: RegistryEntry
    budget: int | None = None
    trials: int | None = None
    val: float | None = None

    @property
    def verdict(self) -> str:
        return checked_verdict(self.entry)


def verdict(held_out: HeldOut | None) -> str:
    """Better or worse only when the paired 95% CI excludes 0."""
    if held_out is None:
        return "not compared"
    if held_out.better_beyond_noise:
        return "better"
    return "worse" if held_out.worse_beyond_noise else "no difference"


def checked_verdict(entry: RegistryEntry) -> str:
    """The held-out verdict, and for a "better" one whether fresh examples bore it out: a 30-example held-out
    split lets a lucky draw through (one of two such gains here did not hold), so an unchecked gain says so."""
    if entry.held_out is None or not entry.held_out.better_beyond_noise:
        return verdict(entry.held_out)
    if entry.replication is None:
        return "better (not replicated: --replicate)"
    return "better, replicated" if entry.replication.held_out.better_beyond_noise else "better, not replicated"


def manifests(folders: list[Path]) -> list[Path]:
    """Every registry manifest in `folders` (each a registry root or a folder holding several)."""
    found: list[Path] = []
    for folder in folders:
        if not folder.is_dir():
            raise ConfigurationError(f"{folder} is not a folder: pass registry folders (each holds {MANIFEST}).")
        found += sorted(folder.rglob(MANIFEST))
    if not found:
        raise ConfigurationError(f"No {MANIFEST} under {', '.join(map(str, folders))}: pass the --registry folders.")
    return found


def with_study(row: StudyRow, storage: str) -> StudyRow:
    """`row` with its study's metric-call budget (None: dspy's light setting, or an optimiser without one), its
    completed trials and the registered trial's validation score; as it was when the study is not there."""
    try:
        study = optuna.load_study(study_name=row.entry.study or "", storage=storage)
    except KeyError:
        return row
    complete = study.get_trials(deepcopy=False, states=(optuna.trial.TrialState.COMPLETE,))
    return row.model_copy(
        update={
            "budget": study.user_attrs.get("config", {}).get("optimizer_budget"),
            "trials": len(complete),
            "val": pick_best(study).user_attrs.get("val_score") if complete else None,
        }
    )


def rows(folders: list[Path], storage: str | None = None) -> list[StudyRow]:
    """One row per registry entry under `folders`, ordered by task, language and folder."""
    found = []
    for path in manifests(folders):
        for entry in Manifest.model_validate_json(path.read_text()).entries:
            row = StudyRow(registry=str(path.parent), entry=entry)
            found.append(with_study(row, storage) if storage and entry.study else row)
    return sorted(found, key=lambda r: (r.entry.task, r.entry.language, r.registry))


def _score(value: float | None) -> str:
    return "—" if value is None else f"{value:.3f}"


def _replication(entry: RegistryEntry) -> str:
    r = entry.replication
    if r is None:
        return "—"
    h = r.held_out
    return f"{r.before:.3f} → {r.after:.3f}, {h.interval} (n={h.n}): {verdict(h)}"


def _ablation(entry: RegistryEntry) -> str:
    a = entry.ablation
    if a is None:
        return "—"
    halves = [("instructions only", a.instructions_only), (f"{a.demos} demos only", a.demos_only)]
    return "; ".join(f"{name} {arm.held_out.interval}" for name, arm in halves)


def _cells(row: StudyRow) -> list[str]:
    e, h = row.entry, row.entry.held_out
    optimiser = e.optimizer + ("" if row.budget is None else f" ({row.budget} calls)")
    knobs = f"n={e.n}, {'CoT' if e.chain_of_thought else 'no CoT'}" + (", adaptive" if e.adaptive else "")
    hard = h.strata.get(HARD) if h else None
    return [
        f"{e.task} {e.language}",
        optimiser,
        knobs,
        "—" if row.trials is None else str(row.trials),
        _score(row.val),
        f"{e.before:.3f} → {e.after:.3f}",
        "—" if h is None else h.interval,
        "—" if h is None else f"{h.win}/{h.tie}/{h.loss}",
        "—" if hard is None else f"{hard.before:.3f} → {hard.after:.3f} (n={hard.n})",
        e.instructions.kept if e.instructions else "en",
        row.verdict,
        _replication(e),
        _ablation(e),
        row.registry,
    ]


HEADER = [
    "task", "optimiser (budget)", "fusor", "trials", "val", "held-out default → tuned", "difference [95% CI]",
    "W/T/L", "hard stratum", "instructions", "verdict", "fresh examples (--replicate)",
    "halves against the default (--ablate)", "registry",
]  # fmt: skip


def markdown(found: list[StudyRow]) -> str:
    """The comparison table, with the sizes it rests on."""
    lines = ["| " + " | ".join(HEADER) + " |", "|" + "---|" * len(HEADER)]
    lines += ["| " + " | ".join(_cells(row)) + " |" for row in found]
    sizes = sorted({row.entry.held_out.n for row in found if row.entry.held_out})
    lines += [
        "",
        f"Held-out examples per study: {', '.join(map(str, sizes)) or '—'}. The difference is tuned − default on the "
        'same held-out examples (paired bootstrap 95% CI); "better" or "worse" only when the CI excludes 0, and a '
        '"better" says whether the fresh examples bore it out ("replicated": their CI excludes 0 too). '
        "Val: the registered trial's validation score; the hard stratum: the majority was wrong but some "
        "candidate right; fresh examples: the same comparison on examples beyond the study's --limit, which no "
        "trial saw (`optimize --replicate`); halves: the registered instructions without the demos, and the default "
        "instructions with the demos, each − the default fusor on the held-out split (`optimize --ablate`).",
    ]
    return "\n".join(lines) + "\n"
