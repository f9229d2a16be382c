"""The end of a study: held-out before/after with a paired CI and strata in the manifest, no entry worse than the
default beyond noise, a report beside the entry, and `from_registry` still loading it (issue 13)."""

import json

import dspy

import fusion_dspy as fd
from fusion_dspy.eval.store import PoolRecord
from fusion_dspy.optimizers import FusorStudy
from fusion_dspy.optimizers.scoring import Scored
from fusion_dspy.registry import FusorRegistry
from fusion_dspy.testing import FakeModelServer, ScriptedLM
from tests.conftest import pool_of
from tests.optimizers.test_study import math_responder
from tests.optimizers.test_study_keys import study_config

MIXES = [("R", "R", "W"), ("W", "W", "R"), ("W", "W", "W"), ("R", "R", "R"), ("W", "R", "W")]


def write_pools(runner: FusorStudy) -> dict[str, str]:
    """Stored pools for every example of the study (so nothing is sampled): right (R) or wrong (W) answers in a
    fixed mix per example; returns each example's expected stratum."""
    c = runner.config
    examples = runner.task.load(c.language, c.limit, c.seed)
    pools = runner.evaluation(c.temperatures[0]).pools(c.language)
    expected = {}
    for i, example in enumerate(examples):
        mix = MIXES[i % len(MIXES)]
        answers = [example.reference if m == "R" else "7" for m in mix]
        pools.append(PoolRecord(id=example.id, pool=pool_of(*answers)))
        right = mix.count("R")
        expected[example.id] = "impossible" if right == 0 else ("easy" if right >= 2 else "hard")
    return expected


def test_strata_come_from_the_stored_pools_and_reach_the_manifest(tmp_path):
    with FakeModelServer(responder=math_responder) as server:
        runner = FusorStudy(study_config(server, tmp_path, limit=10, trials=1, pools_dir=tmp_path / "eval"))
        expected = write_pools(runner)
        assert runner.strata() == expected
        result = runner.finish(runner.run(), FusorRegistry(tmp_path / "registry"))
    assert [p.name for p in (tmp_path / "eval").iterdir()] == ["pools"]  # an eval store is only read
    assert list((tmp_path / "runs" / "trials").glob("*.json"))
    assert (tmp_path / "runs" / "responses.jsonl").stat().st_size > 0  # the study's LM responses, replayable
    counts = {split: sum(result.strata[split].values()) for split in result.strata}
    assert counts == result.splits == {"train": 4, "val": 3, "test": 3}
    assert len(result.strata["train"]) >= 2  # the fixture's strata reach the training split
    [entry] = json.loads((tmp_path / "registry" / "manifest.json").read_text())["entries"]
    held = entry["held_out"]
    assert held["n"] == 3 and held["low"] <= held["difference"] <= held["high"]
    assert sum(s["n"] for s in held["strata"].values()) == 3
    assert sorted(held["pairs"]) == sorted(runner.split_ids()["test"])  # each example's (default, tuned) scores
    assert entry["held_out_reuse"] == 0  # the first study on these held-out examples
    assert "paired permutation p = " in result.report.read_text()
    assert "Parameter importances need at least 2 completed trials; this study has 1." in result.report.read_text()
    lm = ScriptedLM({"reasoning": "…", "answer": "12"})
    program = fd.FusionOfN.from_registry("math", "en", n=2, registry=FusorRegistry(tmp_path / "registry"))
    with dspy.context(lm=lm):
        assert program(question="Sam has 3 apples and buys 9 more. How many?").answer == "12"


def test_a_fusor_worse_than_the_default_beyond_noise_is_not_registered(tmp_path, monkeypatch):
    with FakeModelServer(responder=math_responder) as server:
        runner = FusorStudy(study_config(server, tmp_path, limit=10, trials=1))
        write_pools(runner)
        study = runner.run()
        calls = []

        def scripted(program, devset, adaptive=None, label="", stored=False):
            calls.append(program)
            score = 1.0 if len(calls) == 1 else 0.0  # "before" right everywhere, "after" wrong everywhere
            return Scored(scores={e.id: score for e in devset})

        monkeypatch.setattr(runner, "score_each", scripted)
        result = runner.finish(study, FusorRegistry(tmp_path / "registry"))
    assert result.registered is None and "worse than the default one beyond noise" in result.refused
    assert not (tmp_path / "registry" / "manifest.json").exists()
    assert result.report == tmp_path / "runs" / "reports" / runner.config.study_name / "README.md"
    assert result.refused in result.report.read_text()


def test_a_second_finish_reads_the_held_out_scores_back_from_the_study_folder(tmp_path, monkeypatch):
    """The finish's scores land in <out>/scores.jsonl as they come: a finish cut by a session's end, or the next
    study's finish on the same split (the same default fusor), does not call the fusor for them again."""
    import fusion_dspy.optimizers.study as study_module

    scored: list[int] = []
    real = study_module.ascore_each

    def counting(program, devset, *args, **kwargs):
        scored.append(len(devset))
        return real(program, devset, *args, **kwargs)

    monkeypatch.setattr(study_module, "ascore_each", counting)
    with FakeModelServer(responder=math_responder) as server:
        runner = FusorStudy(study_config(server, tmp_path, limit=10, trials=1))
        write_pools(runner)
        study = runner.run()
        first = runner.finish(study, None, report=False)
        trial_scoring = scored[:1]
        second = runner.finish(study, None, report=False)
    assert trial_scoring == [3] and sum(scored[1:]) == 6  # the trial's validation, then before + after: once
    assert (second.before, second.after, second.held_out) == (first.before, first.after, first.held_out)
    rows = (tmp_path / "runs" / "scores.jsonl").read_text().splitlines()
    assert len(rows) == 6 and {json.loads(row)["id"] for row in rows} == set(runner.split_ids()["test"])
