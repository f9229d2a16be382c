"""Registered studies side by side: for each task and language, which optimiser (at which budget) moved the
held-out score, by how much, with what certainty — one table instead of one report per run.

The verdict (`checked_verdict`, the one rule): "better" needs the paired CI above 0, the permutation test's p
below ALPHA after Holm's adjustment over every tuned-vs-default held-out comparison in the table, and the same
gain on fresh examples (their own CI above 0 and permutation p below ALPHA). A CI that clears 0 without the rest
is "suggestive"; "worse" needs the CI below 0 and the adjusted p below ALPHA."""

from __future__ import annotations

from pathlib import Path

import optuna
from pydantic import BaseModel, Field

from fusion_dspy.errors import ConfigurationError
from fusion_dspy.eval.paired import EXACT_UP_TO, PERMUTATION_DRAWS, holm
from fusion_dspy.optimizers.heldout import TOP, Robustness, robustness
from fusion_dspy.optimizers.study import pick_best
from fusion_dspy.registry import MANIFEST, HeldOut, Manifest, RegistryEntry

HARD = "hard"
ALPHA = 0.05


class StudyRow(BaseModel):
    """One registry entry, with what its Optuna study adds when the storage is at hand."""

    registry: str
    entry: RegistryEntry
    budget: int | None = None
    trials: int | None = None
    val: float | None = None
    held_out_test: Robustness | None = Field(default=None, description="Permutation test and influence, held-out.")
    fresh_test: Robustness | None = Field(default=None, description="The same on the fresh examples (--replicate).")
    p_holm: float | None = Field(default=None, description="The held-out permutation p, Holm-adjusted over the table.")

    @property
    def verdict(self) -> str:
        fresh = self.entry.replication.held_out if self.entry.replication else None
        return checked_verdict(self.entry.held_out, self.p_holm, fresh, self.fresh_test)


def replicated(fresh: HeldOut, test: Robustness | None) -> bool:
    """The gain held on fresh examples: their own CI above 0 and their permutation p below ALPHA (one planned
    check of one result, so unadjusted)."""
    return fresh.better_beyond_noise and test is not None and test.permutation.p < ALPHA


def checked_verdict(
    held_out: HeldOut | None, p_holm: float | None, fresh: HeldOut | None = None, fresh_test: Robustness | None = None
) -> str:
    """The verdict on a tuned fusor (the module's rule): `held_out` its comparison with the default fusor,
    `p_holm` that comparison's permutation p adjusted over all of them, `fresh` the same comparison on examples
    no trial saw (--replicate) and `fresh_test` its permutation test. A "suggestive" verdict says what is
    missing; a 30-example split tried by several studies lets a lucky draw clear the CI."""
    if held_out is None:
        return "not compared"
    if not (held_out.better_beyond_noise or held_out.worse_beyond_noise):
        return "no difference"
    adjusted = p_holm is not None and p_holm < ALPHA
    holm_text = "no per-example scores to test" if p_holm is None else f"Holm-adjusted p = {p_holm:.2f}"
    if held_out.worse_beyond_noise:
        return "worse" if adjusted else f"suggestive (worse): {holm_text}"
    missing = [] if adjusted else [holm_text]
    if fresh is None:
        missing.append("not checked on fresh examples (--replicate)")
    elif not replicated(fresh, fresh_test):
        missing.append("not replicated on fresh examples")
    return "suggestive: " + "; ".join(missing) if missing else "better"


def tested(row: StudyRow) -> StudyRow:
    """`row` with the permutation tests and influence figures of its held-out and fresh comparisons."""
    e = row.entry
    return row.model_copy(
        update={
            "held_out_test": robustness(e.held_out) if e.held_out else None,
            "fresh_test": robustness(e.replication.held_out) if e.replication else None,
        }
    )


def with_holm(found: list[StudyRow]) -> list[StudyRow]:
    """`found` with each held-out permutation p Holm-adjusted over all the rows that have one."""
    tested = [(i, test.permutation.p) for i, row in enumerate(found) if (test := row.held_out_test) is not None]
    adjusted = dict(zip([i for i, _ in tested], holm([p for _, p in tested]), strict=True))
    return [row.model_copy(update={"p_holm": adjusted.get(i)}) for i, row in enumerate(found)]


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
            found.append(tested(with_study(row, storage) if storage and entry.study else row))
    return with_holm(sorted(found, key=lambda r: (r.entry.task, r.entry.language, r.registry)))


def _score(value: float | None) -> str:
    return "—" if value is None else f"{value:.3f}"


def _p(test: Robustness | None) -> str:
    return "—" if test is None else f"{test.permutation.p:.3f}"


def _replication(row: StudyRow) -> str:
    r = row.entry.replication
    if r is None:
        return "—"
    h = r.held_out
    outcome = "replicated" if replicated(h, row.fresh_test) else "not replicated"
    return f"{r.before:.3f} → {r.after:.3f}, {h.interval}, p = {_p(row.fresh_test)} (n={h.n}): {outcome}"


def _ablation(entry: RegistryEntry) -> str:
    a = entry.ablation
    if a is None:
        return "—"
    halves = [("instructions only", a.instructions_only), (f"{a.demos} demos only", a.demos_only)]
    return "; ".join(f"{name} {arm.held_out.interval}" for name, arm in halves)


def _cells(row: StudyRow) -> list[str]:
    e, h, test = row.entry, row.entry.held_out, row.held_out_test
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
        _p(test),
        _score(row.p_holm),
        "—" if test is None else test.without_top,
        "—" if h is None else f"{h.win}/{h.tie}/{h.loss}",
        "—" if hard is None else f"{hard.before:.3f} → {hard.after:.3f} (n={hard.n})",
        "—" if e.held_out_reuse is None else str(e.held_out_reuse),
        e.instructions.kept if e.instructions else "en",
        row.verdict,
        _replication(row),
        _ablation(e),
        row.registry,
    ]


HEADER = [
    "task", "optimiser (budget)", "fusor", "trials", "val", "held-out default → tuned", "difference [95% CI]",
    "permutation p", "Holm p", f"without the top {TOP} [95% CI]", "W/T/L", "hard stratum", "held-out reuse",
    "instructions", "verdict", "fresh examples (--replicate)", "halves against the default (--ablate)", "registry",
]  # fmt: skip


def _family(found: list[StudyRow]) -> str:
    """Which comparisons Holm's adjustment counted, and which it could not."""
    counted = [r for r in found if r.p_holm is not None]
    names = "; ".join(f"{r.entry.task} {r.entry.language} {r.entry.optimizer} ({r.registry})" for r in counted)
    untested = [r for r in found if r.entry.held_out is not None and r.held_out_test is None]
    missing = (
        f" Not counted (no per-example scores stored): {'; '.join(r.registry for r in untested)}." if untested else ""
    )
    return (
        f"Holm's adjustment counted {len(counted)} tuned-vs-default held-out comparisons: {names or 'none'}.{missing}"
    )


def markdown(found: list[StudyRow]) -> str:
    """The comparison table, with the sizes it rests on, the tests behind the verdict and what Holm counted."""
    lines = ["| " + " | ".join(HEADER) + " |", "|" + "---|" * len(HEADER)]
    lines += ["| " + " | ".join(_cells(row)) + " |" for row in found]
    sizes = sorted({row.entry.held_out.n for row in found if row.entry.held_out})
    lines += [
        "",
        f"Held-out examples per study: {', '.join(map(str, sizes)) or '—'}. The difference is tuned − default on the "
        "same held-out examples (paired bootstrap 95% CI). Permutation p: the paired sign-flip test of that "
        f"difference, two-sided (exact over all 2^m sign flips of the m non-zero differences when m ≤ {EXACT_UP_TO}, "
        f"else {PERMUTATION_DRAWS:,} seeded random flips); Holm p: that p adjusted over every comparison in this "
        f"table. Without the top {TOP}: the difference once the {TOP} examples with the largest differences in its "
        "direction are left out (their differences in brackets): a gain that vanishes rests on them. "
        f'Verdict: "better" needs the CI above 0, Holm p < {ALPHA} and the gain again on fresh examples (their CI '
        f'above 0 and p < {ALPHA}: "replicated"); "worse" the CI below 0 and Holm p < {ALPHA}; a CI clear of 0 '
        'without the rest is "suggestive" (what is missing is named); else "no difference". '
        "Held-out reuse: earlier studies whose tuned-vs-default comparison used the same held-out examples (same "
        "task, language, limit, seed and split), by when each study started; the instruction-language and "
        "ablation comparisons of a study looked at them again. "
        "Val: the registered trial's validation score; the hard stratum: the majority was wrong but some "
        "candidate right; fresh examples: the same comparison on examples beyond the study's --limit, which no "
        "trial saw (`optimize --replicate`); halves: the registered instructions without the demos, and the default "
        "instructions with the demos, each − the default fusor on the held-out split (`optimize --ablate`).",
        "",
        _family(found),
    ]
    return "\n".join(lines) + "\n"
