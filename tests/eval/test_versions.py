"""Stored answers and scores carry versions: a metric fix re-scores stored answers with no LM call, a selection
fix redoes only the selections, and the pools are never touched (issue 11, point 7)."""

import asyncio
import json

import pytest

from fusion_dspy.eval import EvalConfig, run_evaluation
from fusion_dspy.eval import runner as runner_module
from fusion_dspy.eval.store import MethodRecord
from fusion_dspy.programs.math_reasoning import MathTask
from tests.eval.fixture_data import mgsm_folder


def config(tmp_path, **overrides) -> EvalConfig:
    values = {"task": "math", "languages": ["de", "en"], "out_dir": tmp_path / "out", "n": 3, "limit": None,
              "data_dir": str(mgsm_folder(tmp_path / "data")), "concurrency": 2,
              "scorers": ["majority", "mbr", "judge", "pairwise"]}  # fmt: skip
    return EvalConfig(**{**values, **overrides})


def stored(tmp_path, language="de") -> list[MethodRecord]:
    [log] = (tmp_path / "out" / "predictions" / "math" / language).glob("*/*.jsonl")
    return [MethodRecord.model_validate_json(line) for line in log.read_text().splitlines()]


def pool_bytes(tmp_path) -> dict[str, bytes]:
    return {str(p): p.read_bytes() for p in (tmp_path / "out" / "pools").rglob("*.jsonl")}


def test_a_metric_fix_rescores_stored_answers_without_lm_calls(scripted_math, tmp_path, monkeypatch):
    asyncio.run(run_evaluation(config(tmp_path)))
    pools, calls = pool_bytes(tmp_path), len(scripted_math.calls)
    log = next((tmp_path / "out" / "predictions" / "math" / "de").glob("*/*.jsonl"))
    wrong = [r.model_copy(update={"score": 0.123, "score_version": "math/metric-1"}) for r in stored(tmp_path)]
    log.write_text("".join(r.model_dump_json() + "\n" for r in wrong))  # scores made by an older metric
    asyncio.run(run_evaluation(config(tmp_path)))
    assert len(scripted_math.calls) == calls  # re-scored, not re-answered
    assert pool_bytes(tmp_path) == pools
    records = stored(tmp_path)
    assert all(r.score in (0.0, 1.0) and r.score_version == "math/metric-2" for r in records)
    assert [r.outputs for r in records] == [r.outputs for r in wrong]
    assert len(log.read_text().splitlines()) == len(records)  # superseded lines compacted away

    monkeypatch.setattr(MathTask, "metric_version", 3)
    asyncio.run(run_evaluation(config(tmp_path)))
    assert len(scripted_math.calls) == calls
    assert {r.score_version for r in stored(tmp_path)} == {"math/metric-3"}


def test_a_selection_fix_redoes_only_the_selections(scripted_math, tmp_path, monkeypatch):
    asyncio.run(run_evaluation(config(tmp_path)))
    calls = len(scripted_math.calls)
    monkeypatch.setattr(runner_module, "SELECTION_VERSION", 99)
    asyncio.run(run_evaluation(config(tmp_path)))
    new = scripted_math.calls[calls:]
    assert new and all("[[ ## response" in c.prompt for c in new)  # bon:judge / bon:pairwise only: no samples,
    versions = {r.method: r.answer_version for r in stored(tmp_path)}  # no fusor (it fell back nowhere)
    assert versions["bon:majority"] == "select-99" and versions["bon:judge"].startswith("select-99/")
    assert "select" not in versions["fusion"]


def test_records_from_before_versioning_are_redone_once(scripted_math, tmp_path):
    asyncio.run(run_evaluation(config(tmp_path)))
    log = next((tmp_path / "out" / "predictions" / "math" / "en").glob("*/*.jsonl"))
    legacy = []
    for line in log.read_text().splitlines():
        row = json.loads(line)
        for field in ("answer_version", "score_version", "scores", "tied", "failed_judgements"):
            row.pop(field)
        legacy.append(json.dumps(row))
    log.write_text("\n".join(legacy) + "\n")
    asyncio.run(run_evaluation(config(tmp_path)))
    calls = len(scripted_math.calls)
    assert all(r.answer_version and r.score_version for r in stored(tmp_path, "en"))
    asyncio.run(run_evaluation(config(tmp_path)))
    assert len(scripted_math.calls) == calls


def test_rescore_only_makes_no_lm_call_and_counts_what_it_kept(scripted_math, tmp_path, monkeypatch):
    from fusion_dspy.errors import ConfigurationError

    with pytest.raises(ConfigurationError, match="--rescore-only needs every pool"):
        asyncio.run(run_evaluation(config(tmp_path, rescore_only=True)))
    asyncio.run(run_evaluation(config(tmp_path)))
    calls = len(scripted_math.calls)
    monkeypatch.setattr(runner_module, "SELECTION_VERSION", 99)
    monkeypatch.setattr(MathTask, "metric_version", 3)
    report, paths = asyncio.run(run_evaluation(config(tmp_path, rescore_only=True)))
    assert len(scripted_math.calls) == calls
    records = {r.method: r for r in stored(tmp_path)}
    assert records["bon:majority"].answer_version == "select-99"  # redone: needs no LM
    assert records["bon:judge"].answer_version != "select-99" and records["bon:judge"].score_version == "math/metric-3"
    assert {m: report.cost[m].stale for m in report.methods} == {
        "single": 0, "bon:majority": 0, "bon:mbr": 0, "bon:judge": 6, "bon:pairwise": 6, "fusion": 0, "adaptive": 0,
        "oracle": 0,
    }  # fmt: skip
    assert "Partly re-scored" in paths[0].read_text()
