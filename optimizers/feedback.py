"""Metrics with textual feedback for GEPA: the score, and what went wrong in words its reflection LM can use.

GEPA's metric (`dspy.teleprompt.gepa.gepa.GEPAFeedbackMetric`) is called as `metric(gold, pred, trace,
pred_name, pred_trace)` and may return `dspy.Prediction(score=..., feedback=...)` (dspy's `ScoreWithFeedback`).
Candidates are named by the number the fusor's prompt gives them (`<candidate 3>`), read from the pool the
fusor example carries. No LM call: math and translation feedback use the task's own metric.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import dspy

from fusion_dspy._async import run_sync
from fusion_dspy.metrics.numeric import answer_text
from fusion_dspy.numbers import parse_number
from fusion_dspy.optimizers.fusor_data import shown_outputs
from fusion_dspy.programs.base import LANGUAGE_NAMES, Task
from fusion_dspy.programs.math_reasoning import MathTask
from fusion_dspy.programs.translation import TranslationTask

FeedbackMetric = Callable[..., dspy.Prediction]


def _numbered(indices: list[int]) -> str:
    return ", ".join(str(i + 1) for i in indices) or "none"


def math_feedback(task: Task, gold: dspy.Example, outputs: dict[str, Any], score: float) -> str:
    """The fused number, the reference, which candidates had it right or wrong, and whether a wrong one was
    copied."""
    language = gold.get("language")
    fused_text = answer_text(outputs)
    fused = parse_number(fused_text, language)
    candidates = shown_outputs(gold)
    numbers = [parse_number(answer_text(c), language) for c in candidates]
    right = [i for i, c in enumerate(candidates) if run_sync(task.ascore(gold, c)) >= task.pass_threshold]
    wrong = [i for i in range(len(candidates)) if i not in right]
    shown = "no number" if fused is None else f"{fused:g}"
    lines = [f"The fused answer is {shown}; the reference is {gold.reference}."]
    lines.append(f"Candidates with the right answer: {_numbered(right)}; with a wrong one: {_numbered(wrong)}.")
    if score >= task.pass_threshold:
        lines.append("Correct." + (" The fusor rescued a right minority." if 2 * len(right) < len(candidates) else ""))
        return " ".join(lines)
    copied = [i for i in wrong if fused is not None and (x := numbers[i]) is not None and abs(x - fused) < 1e-6]
    if copied:
        lines.append(f"The fused answer copied candidate {_numbered(copied)}'s wrong total.")
    if right:
        lines.append(
            f"Candidate {_numbered(right)} had it right: check each candidate's steps rather than follow the majority."
        )
    else:
        lines.append("No candidate had it right: the fusor must recompute the answer from the problem itself.")
    return " ".join(lines)


def translation_feedback(task: Task, gold: dspy.Example, outputs: dict[str, Any], score: float) -> str:
    """chrF++ of the fused translation, whether it is in the target language, and the best candidate's chrF++
    against it."""
    language = str(gold.get("language", ""))
    name = LANGUAGE_NAMES.get(language, language)
    lines = [f"chrF++ against the reference: {score:.3f}."]
    if task.wrong_language(gold, outputs):
        lines.append(f"The fused output is not in {name}: it scores 0. Write the translation in {name} only.")
    candidates = shown_outputs(gold)
    scores = [run_sync(task.ascore(gold, c)) for c in candidates]
    if scores:
        best = max(range(len(scores)), key=lambda i: scores[i])
        if scores[best] > score + 1e-9:
            lines.append(
                f"Candidate {best + 1} scored {scores[best]:.3f}, above the fused {score:.3f}: "
                "the fusion lost quality the candidates had."
            )
        else:
            lines.append(f"The fused translation scores at least the best candidate ({scores[best]:.3f}).")
    lines.append(f"Reference: {gold.reference}")
    return " ".join(lines)


def generic_feedback(task: Task, gold: dspy.Example, outputs: dict[str, Any], score: float) -> str:
    return f"Score {score:.3f} ({task.description})."


def feedback_for(task: Task) -> Callable[[Task, dspy.Example, dict[str, Any], float], str]:
    """The feedback writer of `task`'s kind (math, translation, or the score alone)."""
    if isinstance(task, MathTask):
        return math_feedback
    if isinstance(task, TranslationTask):
        return translation_feedback
    return generic_feedback


def feedback_metric(task: Task, metric: Callable[..., Any] | None = None) -> FeedbackMetric:
    """A GEPA metric: `metric` (default: the task's language-aware one) as a score, with the task's feedback."""
    score_of = metric or task.metric
    write = feedback_for(task)

    def gepa_metric(
        gold: dspy.Example, pred: dspy.Prediction, trace: Any = None, pred_name: Any = None, pred_trace: Any = None
    ) -> dspy.Prediction:
        score = float(score_of(gold, pred))
        return dspy.Prediction(score=score, feedback=write(task, gold, dict(pred.items()), score))

    return gepa_metric
