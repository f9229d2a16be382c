"""The study report `fusion-dspy optimize` writes: markdown with figures (the Pareto front or the score per
trial, and Optuna's parameter importances), the held-out result with its paired CI, and per-stratum scores —
what mattered, without opening a dashboard."""

from __future__ import annotations

import re
from pathlib import Path

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt
import optuna

from fusion_dspy.files import write_atomically
from fusion_dspy.optimizers.fusor_only import FusorOnly
from fusion_dspy.optimizers.heldout import TOP, robustness
from fusion_dspy.optimizers.importances import COMPLETE, importance_lines, importances, plot_importances
from fusion_dspy.optimizers.study_config import StudyConfig, StudyResult, params_text
from fusion_dspy.registry import HeldOut, RegistryEntry

FRONT, IMPORTANCES = "pareto.png", "importances.png"


def plot_front(study: optuna.Study, path: Path) -> None:
    """Validation score against fusor tokens per example, every completed trial, the Pareto front marked."""
    trials = study.get_trials(deepcopy=False, states=COMPLETE)
    front = {t.number for t in study.best_trials} if len(study.directions) > 1 else {study.best_trial.number}
    figure, axes = plt.subplots(figsize=(6, 4))
    for on_front, colour, label in [(False, "#9aa5b1", "trial"), (True, "#d1495b", "Pareto front")]:
        points = [t for t in trials if (t.number in front) == on_front]
        xs = [t.user_attrs.get("tokens_per_example", 0.0) for t in points]
        ys = [t.user_attrs.get("val_score", 0.0) for t in points]
        axes.scatter(xs, ys, c=colour, label=label)
        at: dict[tuple[float, float], list[str]] = {}  # trials with the same scores share one label: "1, 4"
        for trial, x, y in zip(points, xs, ys, strict=True):
            at.setdefault((x, y), []).append(str(trial.number))
        for (x, y), numbers in at.items():
            axes.annotate(", ".join(numbers), (x, y), textcoords="offset points", xytext=(4, 4), fontsize=7)
    axes.set_xlabel("fusor tokens per validation example")
    axes.set_ylabel("validation score")
    axes.set_title(study.study_name)
    axes.legend()
    figure.tight_layout()
    figure.savefig(path, dpi=120)
    plt.close(figure)


def front_lines(study: optuna.Study) -> list[str]:
    """The Pareto front's trials as a table, best score first: what each bought and paid (a score-and-tokens
    study; a single-objective one has no front)."""
    if len(study.directions) < 2:
        return []
    lines = ["", "The Pareto front (no other trial is better on both):", "",
             "| trial | val | tokens/ex | params |", "|---|---|---|---|"]  # fmt: skip
    for t in sorted(study.best_trials, key=lambda t: (-t.values[0], t.values[1], t.number)):
        lines.append(f"| {t.number} | {t.values[0]:.3f} | {t.values[1]:.0f} | {params_text(t.params)} |")
    return lines


def permutation_text(held_out: HeldOut) -> str:
    """`; paired permutation p = 0.068 (exact, 2^20 sign flips)`, or nothing when no per-example scores were kept."""
    test = robustness(held_out)
    return "" if test is None else f"; paired permutation p = {test.permutation.p:.3f} ({test.permutation.method})"


def influence_lines(held_out: HeldOut) -> list[str]:
    """The difference without the TOP examples that carry most of it, naming them."""
    test = robustness(held_out)
    if test is None:
        return []
    removed = ", ".join(f"`{i}` ({d:+.3f})" for i, d in test.influence.removed.items())
    e = test.influence.estimate
    return [
        "",
        f"Without the {TOP} examples that push the difference most in its direction ({removed or 'none'}): "
        f"{e.mean:+.3f}, 95% CI [{e.low:+.3f}, {e.high:+.3f}] (n={e.n}). One study alone: the verdict across "
        "studies (Holm-adjusted, and checked on fresh examples) is in `fusion-dspy studies`.",
    ]


def held_out_lines(before: float, after: float, h: HeldOut | None) -> list[str]:
    """Default → tuned on the held-out split: the paired difference, its tests and influence, per stratum."""
    if h is None:
        return ["No held-out comparison."]
    lines = [
        f"Default fusor {before:.3f} → tuned {after:.3f} on the held-out examples: paired "
        f"difference {h.summary}; sign test p = {h.p_sign:.3g}{permutation_text(h)}.",
        *influence_lines(h),
        "",
        "| stratum | examples | default | tuned |",
        "|---|---|---|---|",
    ]
    lines += [f"| {name} | {s.n} | {s.before:.3f} | {s.after:.3f} |" for name, s in h.strata.items()]
    return lines


def instruction_lines(result: StudyResult) -> list[str]:
    """English against task-language instructions: validation (which chose), held-out (both reported)."""
    i = result.instructions
    if i is None:
        return ["Not compared (an English study, or --english-only)."]
    if i.error is not None:
        return [f"No {i.language} instructions: the translation failed ({i.error}); the English ones were kept."]
    lines = [
        f"Kept: **{i.kept}** (the translation is kept only when it is better on validation beyond noise).",
        "",
        "| instructions | validation | held-out test |",
        "|---|---|---|",
        f"| English | {i.val_source:.3f} | {i.test_source:.3f} |",
        f"| {i.language} | {i.val_translated:.3f} | {i.test_translated:.3f} |",
    ]
    for split, h in [("Validation", i.validation), ("Held-out", i.difference)]:
        if h is not None:
            lines += ["", f"{split} {i.language} − English: {h.summary}."]
    return [*lines, "", f"The {i.language} instructions:", "", *fenced(i.translated or "")]


def fenced(text: str) -> list[str]:
    """A markdown code block around `text`, its fence longer than any run of backticks inside (a model's
    instructions may hold a code block of their own)."""
    longest = max((len(run) for run in re.findall(r"`+", text)), default=0)
    fence = "`" * max(3, longest + 1)
    return [fence, text, fence]


def fusor_lines(fusor: FusorOnly) -> list[str]:
    """The registered fusor's instructions and its demos: labeled (a training pool with its gold answer) or
    bootstrapped (a fused answer of the teacher that passed the metric)."""
    lines: list[str] = []
    for name, predictor in fusor.named_predictors():
        demos = predictor.demos
        kinds = ["bootstrapped" if d.get("augmented") else "labeled" for d in demos]
        counted = ", ".join(f"{kinds.count(k)} {k}" for k in dict.fromkeys(kinds)) or "none"
        lines += [
            f"`{name}`: {len(demos)} demos ({counted}); instructions:",
            "",
            *fenced(predictor.signature.instructions),
            "",
        ]
    return lines


def check_lines(entry: RegistryEntry | None) -> list[str]:
    """The registry entry's checks of this fusor: on fresh examples (--replicate) and by halves (--ablate)."""
    lines = []
    r = entry.replication if entry else None
    if r is not None:
        lines.append(
            f"- Fresh examples (`--replicate {r.limit}`: those no trial saw): default {r.before:.3f} → registered "
            f"{r.after:.3f}, {r.held_out.summary}{permutation_text(r.held_out)}."
        )
    a = entry.ablation if entry else None
    if a is not None:
        lines += [
            f"- Its instructions without its demos (`--ablate`): held-out {a.instructions_only.after:.3f}, "
            f"against the default fusor {a.instructions_only.held_out.summary}.",
            f"- The default instructions with its {a.demos} demos: held-out {a.demos_only.after:.3f}, against the "
            f"default fusor {a.demos_only.held_out.summary}.",
        ]
    return lines or ["None yet: `optimize --replicate LIMIT` and `--ablate` add them."]


def trial_lines(study: optuna.Study) -> list[str]:
    lines = ["| trial | val | tokens/ex | demo strata | params |", "|---|---|---|---|---|"]
    for t in study.get_trials(deepcopy=False, states=COMPLETE):
        params = params_text(t.params)
        demos = ", ".join(t.user_attrs.get("demo_strata", [])) or "-"
        lines.append(f"| {t.number} | {t.user_attrs.get('val_score', 0.0):.3f} | "
                     f"{t.user_attrs.get('tokens_per_example', 0.0):.0f} | {demos} | {params} |")  # fmt: skip
    return lines


def strata_lines(result: StudyResult) -> list[str]:
    names = ["easy", "hard", "impossible", "unscored"]
    lines = ["| split | " + " | ".join(names) + " |", "|---|---|---|---|---|"]
    for split, counts in result.strata.items():
        lines.append(f"| {split} | " + " | ".join(str(counts.get(name, 0)) for name in names) + " |")
    return lines


def registry_line(result: StudyResult) -> str:
    if result.registered is not None:
        return f"Registry: written ({result.registered.name})."
    return "Registry: " + (result.refused or "not written (--no-register).")


def write_report(
    study: optuna.Study,
    result: StudyResult,
    config: StudyConfig,
    directory: Path,
    threshold: float,
    fusor: FusorOnly,
    entry: RegistryEntry | None = None,
) -> Path:
    """Write `README.md`, `pareto.png` and (when computable) `importances.png` into `directory`; `threshold` is
    the score at which a candidate counted as right for the strata; `fusor` is the tuned fusor as tested, `entry`
    the registry entry written for it (with its checks), if any."""
    directory.mkdir(parents=True, exist_ok=True)
    plot_front(study, directory / FRONT)
    values = importances(study, config.objectives)
    if not values.missing:
        plot_importances(values, directory / IMPORTANCES)
    params = params_text(result.best_params)
    lines = [
        f"# Study {config.study_name}: {config.task} ({config.language})",
        "",
        f"Storage `{config.storage}`; {result.trials_completed} completed trials; objectives: "
        f"{', '.join(config.objectives)}; candidates `{config.candidate_model()}`, n={config.n}, "
        f"temperatures {config.temperatures}, token limit {config.max_tokens or 'none'}"
        + (f" (fusor: {config.fusor_max_tokens})" if config.fusor_max_tokens else "")
        + f", seed {config.seed}.",
        "",
        "## Splits (stratified by pool difficulty)",
        "",
        "Easy: the majority answer is right; hard: the majority is wrong but some candidate is right; impossible: "
        f"no candidate is right. Right: a score of at least {threshold:g} by the task's own metric.",
        "",
        *strata_lines(result),
        "",
        f"## Best trial: {result.best_trial}",
        "",
        f"Validation score {result.val_score:.3f}; parameters: {params}.",
        "",
        "## Held-out test: default fusor against the tuned one",
        "",
        *held_out_lines(result.before, result.after, result.held_out),
        "",
        registry_line(result),
        "",
        "## The tuned fusor",
        "",
        *fusor_lines(fusor),
        "## Checks on the registered fusor",
        "",
        *check_lines(entry),
        "",
        "## Instructions in the task's language",
        "",
        *instruction_lines(result),
        "",
        "## Quality against cost",
        "",
        f"![validation score against fusor tokens]({FRONT})",
        *front_lines(study),
        "",
        "## Parameter importances",
        "",
        *importance_lines(values, IMPORTANCES),
        "",
        "## Trials",
        "",
        *trial_lines(study),
        "",
    ]
    path = directory / "README.md"
    write_atomically(path, "\n".join(lines))
    return path
