"""The harness end to end on real MGSM rows with a scripted_math model: pools once, methods on identical pools."""

import asyncio
import json

import pytest

from fusion_dspy.eval import EvalConfig, run_evaluation
from fusion_dspy.eval import runner as runner_module
from fusion_dspy.eval.report import EvalReport
from fusion_dspy.eval.store import MethodRecord
from tests.conftest import is_fusor_prompt


def config(tmp_path, **overrides) -> EvalConfig:
    values = {"task": "math", "languages": ["de", "en"], "out_dir": tmp_path, "n": 3, "limit": 3, "concurrency": 2}
    return EvalConfig(**{**values, **overrides})


def test_every_method_is_scored_on_identical_pools_and_reported(scripted_math, tmp_path):
    everything = ["majority", "mbr", "judge", "pairwise"]
    report, paths = asyncio.run(run_evaluation(config(tmp_path, scorers=everything)))
    assert [p.name for p in paths] == ["report.md", "report.json", "figure.png"]
    assert paths[2].read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert report.methods == [
        "single", "bon:majority", "bon:mbr", "bon:judge", "bon:pairwise", "fusion", "adaptive", "oracle"
    ]  # fmt: skip
    for method in report.methods:
        assert set(report.scores[method]) == {"de", "en", "mean"}
        assert report.scores[method]["de"].n == 3
    assert report.cost["bon:judge"].usage.lm_calls == 6 * 3
    assert report.cost["bon:pairwise"].usage.lm_calls == 6 * 6
    assert report.cost["fusion"].usage.lm_calls == 6
    fusor_calls = [c for c in scripted_math.calls if is_fusor_prompt(c.prompt)]
    assert len(fusor_calls) == 6, "adaptive reuses plain fusion's call"
    assert report.cost["single"].usage.lm_calls == 0
    assert report.pool_usage.lm_calls == 6 * 3
    sample_calls = [c for c in scripted_math.calls if "step by step" in (c.answer or "")]
    assert len(sample_calls) == 18
    markdown = paths[0].read_text()
    assert "| fusion |" in markdown and "fusion against each method, paired" in markdown
    assert set(report.comparisons) == {"fusion", "adaptive"}
    assert set(report.comparisons["fusion"]) == set(report.methods) - {"fusion"}  # oracle and single included
    assert set(report.comparisons["fusion"]["single"]) == {"de", "en", "all"}
    assert report.parallel  # MGSM items are shared across languages


def test_oracle_is_never_below_any_selection(scripted_math, tmp_path):
    asyncio.run(run_evaluation(config(tmp_path)))
    for language in ["de", "en"]:
        [log] = (tmp_path / "predictions" / "math" / language).glob("*/*.jsonl")
        records = [MethodRecord.model_validate_json(line) for line in log.read_text().splitlines()]
        by = {(r.method, r.id): r.score for r in records}
        for (method, example_id), score in by.items():
            if method.startswith("bon:") or method == "single":
                assert by[("oracle", example_id)] >= score


def test_a_rerun_makes_no_lm_calls_and_reproduces_the_report(scripted_math, tmp_path):
    first, _ = asyncio.run(run_evaluation(config(tmp_path)))
    calls = len(scripted_math.calls)
    again, _ = asyncio.run(run_evaluation(config(tmp_path)))
    assert len(scripted_math.calls) == calls
    assert again.model_dump() == first.model_dump()


def test_an_interrupted_run_resumes_from_stored_pools(scripted_math, tmp_path):
    asyncio.run(run_evaluation(config(tmp_path, languages=["de"])))
    [pools] = (tmp_path / "pools" / "math" / "de").glob("*.jsonl")
    lines = pools.read_text().splitlines()
    pools.write_text("\n".join(lines[:2]) + "\n" + lines[2][:40])
    calls = len(scripted_math.calls)
    report, _ = asyncio.run(run_evaluation(config(tmp_path, languages=["de"])))
    new_sample_calls = [c for c in scripted_math.calls[calls:] if "step by step" in (c.answer or "")]
    assert len(new_sample_calls) == 3
    assert report.scores["fusion"]["de"].n == 3


def test_a_resumed_run_opens_its_bars_with_what_was_stored(scripted_math, tmp_path):
    """The steps found stored open the bar as done (they took no time here), so its time to go is this run's pace;
    advanced one by one, they made a resumed pool run look ten times faster than it was."""
    asyncio.run(run_evaluation(config(tmp_path, languages=["de"], limit=2)))
    calls: list[tuple[str, int | None, int]] = []

    def advance(label: str, total: int | None, done: int = 0) -> None:
        calls.append((label, total, done))

    resumed = config(tmp_path, languages=["de"], limit=3)
    asyncio.run(run_evaluation(resumed, advance))
    assert calls[0] == ("de: candidate pools", 3, 2)
    assert calls[1] == ("de: candidate pools", None, 0)  # the one pool made now
    methods = [c for c in calls if c[0] == "de: methods"]
    per_item = len(resumed.methods)
    assert methods[0] == ("de: methods", 3 * per_item, 2 * per_item) and len(methods) == 1 + per_item


def test_report_json_round_trips(scripted_math, tmp_path):
    report, paths = asyncio.run(run_evaluation(config(tmp_path, languages=["en"], scorers=["majority"])))
    assert EvalReport.model_validate(json.loads(paths[1].read_text())) == report


def test_bad_configurations_name_the_fix(scripted_math, tmp_path):
    from fusion_dspy.errors import ConfigurationError

    bad = [
        ({"scorers": ["oracle"]}, "unknown scorer"),
        ({"languages": ["xx"]}, "no language"),
        ({"languages": []}, "no languages"),
        ({"limit": 0}, "--limit"),
        ({"n": 0}, "n must be"),
    ]
    for overrides, message in bad:
        with pytest.raises(ConfigurationError, match=message):
            asyncio.run(run_evaluation(config(tmp_path, **overrides)))


def test_missing_data_fails_before_any_model_starts(monkeypatch, tmp_path):
    def no_model(*args, **kwargs):
        raise AssertionError("a model was resolved before the data was checked")

    monkeypatch.setattr(runner_module, "resolve_lm", no_model)
    from fusion_dspy.data import DataNotFoundError

    with pytest.raises(DataNotFoundError, match="--data-dir"):
        asyncio.run(run_evaluation(config(tmp_path, data_dir=str(tmp_path))))


def test_a_failed_fusor_falls_back_to_the_selection_fusion_is_measured_against(monkeypatch, tmp_path):
    """On math, fusion is compared with majority vote: a fusor call that fails takes majority vote's answer (the
    Fuser's own default is MBR), so fusion minus majority is zero wherever the fusor did not answer."""
    from tests.eval.scripted_math import math_model

    lm = math_model(fused={"reasoning": "no answer field"})  # unparsable: the answer field is missing
    monkeypatch.setattr(runner_module, "resolve_lm", lambda spec=None, **kw: lm)
    asyncio.run(run_evaluation(config(tmp_path, languages=["en"], scorers=["majority", "mbr"])))
    [log] = (tmp_path / "predictions" / "math" / "en").glob("*/*.jsonl")
    records = [MethodRecord.model_validate_json(line) for line in log.read_text().splitlines()]
    by = {(r.method, r.id): r for r in records}
    fused = [r for r in records if r.method == "fusion"]
    assert len(fused) == 3 and all(r.path == "selected" and "MajorityVote" in (r.fallback or "") for r in fused)
    assert all(r.answer_version.endswith("/majority") for r in fused)
    assert all(r.outputs == by[("bon:majority", r.id)].outputs for r in fused)
    adaptive = [r for r in records if r.method == "adaptive"]  # where it fuses it takes that fallback too
    assert len(adaptive) == 3 and all(r.answer_version.endswith("/majority") for r in adaptive)
