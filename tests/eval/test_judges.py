"""Selection judges and the metric judge are separate LMs and predictors; failed judgements are counted, and
selection ties are reported (issue 11, points 6 and 10)."""

import asyncio
import itertools

import pytest

from fusion_dspy.eval import EvalConfig, run_evaluation
from fusion_dspy.eval import runner as runner_module
from fusion_dspy.testing import ScriptedLM
from tests.eval.fixture_data import arena_folder


def models() -> dict[str | None, ScriptedLM]:
    replies = itertools.cycle(["a sampled reply", "another sampled reply", "a third sampled reply"])

    def candidate(prompt: str) -> dict:
        return {"response": "a fused reply"} if "<candidate 1>" in prompt else {"response": next(replies)}

    return {
        None: ScriptedLM(candidate, model="openai/candidates"),
        "selector": ScriptedLM(
            lambda p: {"score": 7} if "[[ ## response ## ]]" in p else {"verdict": "A"}, model="openai/selector"
        ),
        "metric": ScriptedLM("no verdict here", model="openai/metric"),  # every metric judgement fails
    }


@pytest.fixture
def lms(monkeypatch):
    table = models()
    monkeypatch.setattr(runner_module, "resolve_lm", lambda spec=None, **kw: table[spec])
    return table


def config(tmp_path, **overrides) -> EvalConfig:
    values = {"task": "open_ended", "languages": ["en"], "out_dir": tmp_path / "out", "n": 3, "limit": None,
              "data_dir": str(arena_folder(tmp_path / "data")), "judge_model": "selector",
              "metric_judge_model": "metric", "scorers": ["majority", "judge", "pairwise"]}  # fmt: skip
    return EvalConfig(**{**values, **overrides})


def test_selection_and_metric_judges_are_separate_and_failed_judgements_are_counted(lms, tmp_path):
    report, paths = asyncio.run(run_evaluation(config(tmp_path)))
    selector_prompts = [c.prompt for c in lms["selector"].calls]
    metric_prompts = [c.prompt for c in lms["metric"].calls]
    assert selector_prompts and metric_prompts
    assert all("a fused reply" not in p for p in selector_prompts)  # the selector never judged the fused answer
    assert any("a fused reply" in p for p in metric_prompts)  # the metric judge did
    assert report.judges == {"selection": "openai/selector", "metric": "openai/metric"}
    for method in report.methods:
        assert report.cost[method].unscored == 2  # no score instead of a tie's 0.5
        assert report.cost[method].failed_judgements == 2 * 2 * (3 if method == "oracle" else 1)
        assert report.scores[method]["en"].n == 0
    markdown = paths[0].read_text()
    assert "metric judge `openai/metric`" in markdown and "near-oracle" not in markdown


def test_the_report_warns_when_the_metric_judge_is_the_selection_judge(lms, tmp_path):
    report, paths = asyncio.run(run_evaluation(config(tmp_path, metric_judge_model=None)))
    assert report.judges == {"selection": "openai/selector", "metric": "openai/selector"}
    assert "near-oracle by design" in paths[0].read_text()


def test_selection_ties_are_reported(lms, tmp_path):
    report, _ = asyncio.run(run_evaluation(config(tmp_path)))
    # three different replies, each voted for once and each judged 7: every selection is a tie
    assert report.cost["bon:majority"].ties == report.cost["bon:judge"].ties == 2
    assert report.cost["single"].ties == report.cost["fusion"].ties == 0


def test_rescore_only_on_a_judged_task_asks_no_judge(lms, tmp_path, monkeypatch):
    from fusion_dspy.programs.open_ended import OpenEndedTask

    asyncio.run(run_evaluation(config(tmp_path)))
    calls = {name: len(lm.calls) for name, lm in lms.items()}
    monkeypatch.setattr(runner_module, "SELECTION_VERSION", 99)
    monkeypatch.setattr(OpenEndedTask, "metric_version", 9)
    report, _ = asyncio.run(run_evaluation(config(tmp_path, rescore_only=True)))
    assert {name: len(lm.calls) for name, lm in lms.items()} == calls
    assert all(report.cost[m].stale == 2 for m in report.methods)


def test_a_tie_between_identical_answers_is_no_tie():
    from fusion_dspy.candidates import Candidate, CandidatePool
    from fusion_dspy.eval.runner import tied_answers
    from fusion_dspy.eval.store import MethodRecord, PoolRecord
    from fusion_dspy.programs import task_by_name
    from tests.conftest import pool_of

    key = task_by_name("math")().answer_key
    pool = PoolRecord(id="x", pool=pool_of("16", "16", "20"))
    record = MethodRecord(id="x", method="bon:mbr", outputs={"answer": "16"}, score=0.0, scores=[0.5, 0.5, 0.0])
    assert tied_answers(record, pool, key) == 1
    assert tied_answers(record.model_copy(update={"scores": [0.5, 0.5, 0.5]}), pool, key) == 2
    assert tied_answers(record.model_copy(update={"scores": None}), pool, key) is None
    # chain of thought: each candidate reasons differently, but one number is one answer ("180 Meter" is 180)
    answers = ["180", "180 Meter", "7"]
    candidates = [Candidate(index=i, outputs={"reasoning": f"route {i}", "answer": a}) for i, a in enumerate(answers)]
    reasoned = PoolRecord(id="y", pool=CandidatePool(candidates=candidates))
    voted = record.model_copy(update={"outputs": {"reasoning": "r", "answer": "180"}, "scores": [1.0, 1.0, 0.0]})
    assert tied_answers(voted, reasoned, key) == 1
    assert tied_answers(voted.model_copy(update={"scores": [1.0, 1.0, 1.0]}), reasoned, key) == 2
