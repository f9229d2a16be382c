"""How often a study's held-out examples had already served a tuned-vs-default comparison: each study tried on
the same split is one more draw at the same 30 examples, so a later "better" there is less surprising."""

from __future__ import annotations

import optuna

SPLIT_IDS, CONFIG = "split_ids", "config"
"""The study attributes holding each split's example ids and the defining settings (set when the study is
created, `FusorStudy.study`)."""


def held_out_reuse(storage: str, study_name: str) -> int | None:
    """Studies in `storage` started before `study_name` whose held-out split holds the same examples (same
    task, language, limit, seed and split give the same ids), i.e. earlier tuned-vs-default comparisons on
    them. None when the study or its split is not in the storage, or it has no trial to date it by."""
    summaries = optuna.get_all_study_summaries(storage, include_best_trial=False)
    mine = next((s for s in summaries if s.study_name == study_name), None)
    test = _held_out(mine)
    if mine is None or test is None or mine.datetime_start is None:
        return None
    return sum(
        1
        for s in summaries
        if s.study_name != study_name
        and _held_out(s) == test
        and s.datetime_start is not None
        and s.datetime_start < mine.datetime_start
    )


def _held_out(summary: optuna.study.StudySummary | None) -> tuple[str, str, list[str]] | None:
    """Task, language and held-out ids (a parallel benchmark gives an item the same id in every language)."""
    if summary is None or (test := summary.user_attrs.get(SPLIT_IDS, {}).get("test")) is None:
        return None
    config = summary.user_attrs.get(CONFIG, {})
    return config.get("task", ""), config.get("language", ""), test
