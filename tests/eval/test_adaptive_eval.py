"""The adaptive row of `fusion-dspy eval` on scripted pools over a small MGSM-format fixture (no ../shared needed):
every path, fusor calls shared with plain fusion and saved by the skip, the plan, stale thresholds, old stores."""

import asyncio
import json
from collections import defaultdict

import pytest
from typer.testing import CliRunner

from fusion_dspy.cli.main import app
from fusion_dspy.eval import EvalConfig, Evaluation, make_pools, plan, run_evaluation
from fusion_dspy.eval import runner as runner_module
from fusion_dspy.eval.store import MethodRecord, PoolRecord
from fusion_dspy.eval.thresholds import choose_thresholds
from fusion_dspy.programs import adaptive_defaults
from fusion_dspy.testing import ScriptedLM
from tests.conftest import is_fusor_prompt

# question → (reference, the five candidates' answers, the fusor's answer)
SCRIPT = {
    "apples": ("4", ["4", "4", "4", "4", "4"], "6"),  # identical: skipped (the fusor would have said 6)
    "pears": ("3", ["3", "3", "3", "5", "7"], "3"),  # 3 of 5 agree: skipped at math's skip_agreement 0.6
    "plums": ("2", ["2", "8", "9", "10", "2"], "11"),  # split; the fused 11 is in no candidate: floored to 2
    "figs": ("7", ["5", "6", "7", "8", "9"], "7"),  # all differ; the fused 7 is a candidate's: it stands
}
PATHS = {"apples": "skipped", "pears": "skipped", "plums": "floored", "figs": "fused"}


@pytest.fixture
def data_dir(tmp_path):
    folder = tmp_path / "data" / "mgsm"
    folder.mkdir(parents=True)
    lines = [f"How many {fruit} are left in the basket?\t{answer}" for fruit, (answer, _, _) in SCRIPT.items()]
    (folder / "mgsm_en.tsv").write_text("\n".join(lines) + "\n")
    return tmp_path / "data"


@pytest.fixture
def scripted(monkeypatch, tmp_path):
    served = defaultdict(int)

    def respond(prompt):
        fruit = next(f for f in SCRIPT if f in prompt.rsplit("[[ ## question ## ]]", 1)[-1])
        _, answers, fused = SCRIPT[fruit]
        if is_fusor_prompt(prompt):
            return {"reasoning": "combined", "answer": fused}
        served[fruit] += 1
        return {"reasoning": "step by step", "answer": answers[(served[fruit] - 1) % 5]}

    lm = ScriptedLM(respond)
    monkeypatch.setattr(runner_module, "resolve_lm", lambda spec=None, **kw: lm)
    monkeypatch.setattr(adaptive_defaults, "default_path", lambda: tmp_path / "adaptive.json")
    return lm


def config(tmp_path, data_dir, **overrides):
    values = {"task": "math", "languages": ["en"], "out_dir": tmp_path / "run", "n": 5, "limit": None,
              "concurrency": 2, "data_dir": str(data_dir)}  # fmt: skip
    return EvalConfig(**{**values, **overrides})


def fusor_calls(lm):
    return [c for c in lm.calls if is_fusor_prompt(c.prompt)]


def records(report_dir, method):
    [log] = (report_dir / "predictions" / "math" / "en").glob("*/*.jsonl")
    rows = [MethodRecord.model_validate_json(line) for line in log.read_text().splitlines()]
    return {r.id: r for r in rows if r.method == method}


def fruit_of(example_id, evaluation):
    question = next(ex for ex in evaluation.task.load("en", None) if ex.id == example_id).question
    return next(f for f in SCRIPT if f in question)


def test_every_path_and_the_fusor_calls_adaptive_shares_and_saves(scripted, tmp_path, data_dir):
    cfg = config(tmp_path, data_dir)
    assert cfg.methods == ["single", "bon:majority", "bon:mbr", "fusion", "adaptive", "oracle"]
    evaluation = Evaluation(cfg)
    report, _ = asyncio.run(run_evaluation(cfg, evaluation=evaluation))
    assert len(fusor_calls(scripted)) == 4, "plain fusion's four calls; adaptive made none of its own"
    adaptive = records(cfg.out_dir, "adaptive")
    assert {fruit_of(i, evaluation): r.path for i, r in adaptive.items()} == PATHS
    assert {fruit_of(i, evaluation): r.outputs["answer"] for i, r in adaptive.items()} == {
        "apples": "4", "pears": "3", "plums": "2", "figs": "7"
    }  # fmt: skip
    assert all(r.score == 1.0 for r in adaptive.values())
    assert report.scores["fusion"]["en"].mean == 0.5 and report.scores["adaptive"]["en"].mean == 1.0
    paths = report.paths["all"]
    assert paths.paths == {"skipped": 2, "floored": 1, "fused": 1}
    assert (paths.fusor_calls, paths.plain_fusor_calls) == (2, 4)
    assert paths.skipped_delta == 0.5 and str(paths.skipped_vs_fusion) == "1/1/0"
    assert paths.floored_delta == 1.0
    assert str(report.comparisons["adaptive"]["fusion"]["all"].record) == "2/2/0"
    made = report.provenance["fusion"]
    assert made.answers == 4 and made.with_new == 2 and made.mean_new == 0.5 and made.reference == "bon:mbr"
    much = next(b for b in made.buckets if b.label.startswith("much"))
    assert much.answers == 2 and much.delta == -1.0, "the fusor's made-up numbers lost against selection"
    assert report.provenance["adaptive"].mean_new == 0.0
    markdown = (cfg.out_dir / "report.md").read_text()
    assert "Adaptive fusion's paths" in markdown and "made, not taken" in markdown


def test_without_the_fusion_row_adaptive_calls_the_fusor_only_where_it_fuses(scripted, tmp_path, data_dir):
    cfg = config(tmp_path, data_dir, methods=["single", "adaptive"])
    report, _ = asyncio.run(run_evaluation(cfg))
    assert report.methods == ["single", "adaptive"]
    assert len(fusor_calls(scripted)) == 2, "the agreement skip saved two of four fusor calls"
    assert len(records(cfg.out_dir, "fusion")) == 2, "the fused answers are stored for later runs"
    assert report.paths["en"].plain_fusor_calls is None and report.paths["en"].skipped_delta is None


def test_the_plan_counts_missing_pools_and_calls_before_any_call(scripted, tmp_path, data_dir):
    cfg = config(tmp_path, data_dir, methods=["single", "judge", "fusion", "adaptive"])
    evaluation = Evaluation(cfg)
    before = plan(evaluation)
    assert scripted.calls == []
    [lang] = before.languages
    assert (lang.examples, lang.pools_missing, lang.pool_calls) == (4, 4, 20)
    assert (lang.fusor_calls, lang.scorer_calls, lang.metric_calls) == (4, 20, 0)
    assert before.calls == 44 and "about 44 LM calls" in before.text()
    asyncio.run(make_pools(cfg, evaluation=evaluation))
    assert len(scripted.calls) == 20 and not (cfg.out_dir / "predictions").exists()
    middle = plan(Evaluation(cfg))
    assert middle.languages[0].pools_missing == 0 and middle.calls == 24
    asyncio.run(run_evaluation(cfg))
    assert plan(Evaluation(cfg)).calls == 0


def test_new_thresholds_recompute_adaptive_answers_without_lm_calls(scripted, tmp_path, data_dir):
    cfg = config(tmp_path, data_dir, methods=["fusion", "adaptive"])
    asyncio.run(run_evaluation(cfg))
    calls = len(scripted.calls)
    adaptive_defaults.save_thresholds(
        "math", adaptive_defaults.Thresholds(skip_agreement=None, floor_margin=None, basis="test")
    )
    assert plan(Evaluation(cfg)).languages[0].answers_missing == {"fusion": 0, "adaptive": 4}
    report, _ = asyncio.run(run_evaluation(cfg))
    assert len(scripted.calls) == calls
    assert report.paths["all"].paths == {"skipped": 1, "fused": 3}, "only the identical pool is still skipped"
    assert report.scores["adaptive"]["en"].mean == 0.75


def test_stores_written_before_paths_and_provenance_still_load():
    old_method = (
        '{"id":"de-13","method":"bon:mbr","outputs":{"answer":"11"},"score":0.0,"usage":{"prompt_tokens":0,'
        '"completion_tokens":0,"lm_calls":0},"wall_s":0.0005,"chosen":0,"fallback":null}'
    )
    record = MethodRecord.model_validate_json(old_method)
    assert record.path is None and record.provenance is None and record.settings is None
    old_pool = (
        '{"id":"de-222","pool":{"candidates":[{"index":0,"outputs":{"reasoning":"r","answer":"140"},'
        '"source":"openai/local","rollout_id":0,"temperature":0.8,"latency_s":81.0,"usage":{"prompt_tokens":224,'
        '"completion_tokens":100,"lm_calls":1},"error":null}],"wall_s":81.0},"baseline":null}'
    )
    assert PoolRecord.model_validate_json(old_pool).pool.succeeded[0].text("answer") == "140"


def test_thresholds_are_chosen_on_a_tuning_slice_and_stored_with_their_basis(scripted, tmp_path, data_dir):
    cfg = config(tmp_path, data_dir, methods=["single", "majority", "mbr", "fusion"])
    choice = asyncio.run(choose_thresholds(Evaluation(cfg)))
    assert choice.examples == 4 and choice.baselines["fusion"] == 0.5
    assert choice.chosen.mean == 1.0 and choice.chosen.mean >= max(choice.baselines.values())
    # skipping at 0.4 also skips the plums (2 of 5 agree, and majority is right): more skips at the same mean;
    # 0.3 and 0.35 do the same on this slice, and the tie goes to the value nearest the prior 0.6. A negative
    # margin floors the figs (five different answers) without a fusor call; the seeded tie-break between the
    # five picks 7, the right one, so the mean stays 1.0 with one more floor, which wins the tie
    assert (choice.chosen.skip_agreement, choice.chosen.floor_margin) == (0.4, -0.01)
    assert (choice.chosen.skipped, choice.chosen.floored) == (3, 1)
    result = CliRunner().invoke(app, [
        "thresholds", "--task", "math", "--langs", "en", "--limit", "4", "--out", str(cfg.out_dir),
        "--data-dir", str(data_dir), "--write",
    ])  # fmt: skip
    assert result.exit_code == 0, result.output
    stored = adaptive_defaults.load_thresholds("math")
    assert (stored.skip_agreement, stored.floor_margin) == (0.4, -0.01)
    assert "math en (4 examples" in stored.basis and "fusion 0.500" in stored.basis
    assert json.loads((cfg.out_dir / "thresholds-math.json").read_text())["chosen"]["mean"] == 1.0


def test_cli_dry_run_and_pools_only(scripted, tmp_path, data_dir):
    args = ["eval", "--task", "math", "--langs", "en", "--limit", "4", "--out", str(tmp_path / "run"),
            "--data-dir", str(data_dir)]  # fmt: skip
    dry = CliRunner().invoke(app, [*args, "--dry-run", "--methods", "single,mbr,adaptive"])
    assert dry.exit_code == 0, dry.output
    assert "about 24 LM calls" in dry.output and scripted.calls == []
    pools = CliRunner().invoke(app, [*args, "--pools-only"])
    assert pools.exit_code == 0, pools.output
    assert "pools stored: en 4" in pools.output and len(scripted.calls) == 20
    assert not (tmp_path / "run" / "report.md").exists()
    both = CliRunner().invoke(app, [*args, "--methods", "single", "--scorers", "mbr"])
    assert both.exit_code == 2 and "not both" in both.output


def test_adaptive_selections_break_ties_with_the_seed_and_the_report_counts_them(scripted, tmp_path, data_dir):
    """Issue 25: the figs' five different answers tie under the vote; the seed, not the sample order, decides."""
    adaptive_defaults.save_thresholds(
        "math", adaptive_defaults.Thresholds(skip_agreement=0.4, floor_margin=-0.01, basis="test")
    )
    picks = {}
    for seed in (0, 1, 2, 3):
        cfg = config(tmp_path, data_dir, methods=["fusion", "adaptive"], out_dir=tmp_path / f"run-{seed}", seed=seed)
        report, _ = asyncio.run(run_evaluation(cfg))
        figs = next(r for r in records(cfg.out_dir, "adaptive").values() if r.outputs["answer"] in SCRIPT["figs"][1])
        assert figs.path == "floored" and figs.tied == 5
        assert report.cost["adaptive"].ties == 1, "only the figs were a tie"
        picks[seed] = figs.outputs["answer"]
    assert len(set(picks.values())) > 1, picks


def test_generic_thresholds_are_chosen_per_kind_of_answer_and_stored_apart(scripted, tmp_path, data_dir, monkeypatch):
    """`thresholds --generic`: the policy a user's own signature gets, chosen on the slice's number answers."""
    from fusion_dspy import answer_thresholds

    monkeypatch.setattr(answer_thresholds, "default_path", lambda: tmp_path / "answer_thresholds.json")
    cfg = config(tmp_path, data_dir, methods=["single", "majority", "mbr", "fusion"])
    choice = asyncio.run(choose_thresholds(Evaluation(cfg), generic=True))
    assert (choice.answer_type, choice.examples, choice.slice_examples) == ("number", 4, 4)
    assert choice.consensus == "AnswerConsensus()"
    assert choice.chosen.skip_agreement is None or choice.chosen.skip_agreement > 0.5, "a vote skips on a majority"
    assert choice.chosen.floor_margin is None or choice.chosen.floor_margin >= 0.0, "no-majority pools get fused"
    result = CliRunner().invoke(app, [
        "thresholds", "--task", "math", "--langs", "en", "--limit", "4", "--out", str(cfg.out_dir),
        "--data-dir", str(data_dir), "--generic", "--write",
    ])  # fmt: skip
    assert result.exit_code == 0, result.output
    stored = answer_thresholds.answer_thresholds()
    assert (stored["number"].skip_agreement, stored["number"].floor_margin) == (
        choice.chosen.skip_agreement, choice.chosen.floor_margin
    )  # fmt: skip
    assert "`fusion-dspy thresholds --generic`" in stored["number"].basis
    assert "the 4 of 4 examples whose answers are number" in stored["number"].basis
    assert stored["text"].basis == "a priori default for free text (not tuned)"
    assert (cfg.out_dir / "thresholds-generic-number-math.md").is_file()
    assert adaptive_defaults.load_thresholds("math") is None, "the task's own thresholds are left alone"
    bad = CliRunner().invoke(app, ["thresholds", "--task", "math", "--langs", "en", "--out", str(cfg.out_dir),
                                   "--generic", "--answer-type", "numeric"])  # fmt: skip
    assert bad.exit_code != 0 and "unknown answer type" in bad.output
