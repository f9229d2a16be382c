"""The map end to end on scripted fakes: pools made once by eval, every cell read from them (n=3 the first 3 of
5), a report with cost, paired statistics and bins; a rerun over complete stores makes no LM call."""

import asyncio
import json

import pytest

from fusion_dspy.cli.main import app
from fusion_dspy.errors import ConfigurationError
from fusion_dspy.eval import EvalConfig, Evaluation, make_pools
from fusion_dspy.map import MapConfig, MapReport, MapRun, TaskGrid
from fusion_dspy.map.cost import ModelSpeed
from fusion_dspy.programs import task_by_name
from tests.conftest import is_fusor_prompt

MODEL = "openai/scripted"


def make_stored_pools(folder):
    config = EvalConfig(task="math", languages=["de", "en"], out_dir=folder, n=5, limit=3, max_tokens=256,
                        model=MODEL, methods=["single"])  # fmt: skip
    asyncio.run(make_pools(config, evaluation=Evaluation(config)))


def map_config(tmp_path, **overrides) -> MapConfig:
    values = {
        "tasks": [TaskGrid(task="math", languages=["de", "en"], limit=3)], "candidates": [MODEL], "fusors": [MODEL],
        "ns": [3, 5], "out_dir": tmp_path / "map", "pool_folders": [tmp_path / "pools"], "reference": MODEL,
        "speeds": {MODEL: ModelSpeed(prompt=100.0, generation=10.0)}, "concurrency": 2,
    }  # fmt: skip
    return MapConfig(**{**values, **overrides})


def test_the_grid_runs_end_to_end_and_a_rerun_makes_no_call(scripted_math, tmp_path):
    make_stored_pools(tmp_path / "pools")
    sampled = len(scripted_math.calls)
    config = map_config(tmp_path)
    run = MapRun(config)
    assert [p.fusor_calls for p in run.plan()] == [6, 6]  # 2 languages × 3 items per cell
    results = run.run()
    assert len(scripted_math.calls) > sampled
    assert not any("step by step" in (c.answer or "") for c in scripted_math.calls[sampled:]), "never sampled"
    assert len([c for c in scripted_math.calls[sampled:] if is_fusor_prompt(c.prompt)]) == 12

    report = MapReport.build(config, results)
    paths = report.write(tmp_path / "map")
    assert [p.name for p in paths] == ["report.md", "report.json", "cost-math.png"]
    assert paths[2].read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    rows = {(r.cell, r.method): r for r in report.rows}
    assert len(rows) == 1 + 2 * 5  # the reference line, then five methods in each cell
    three, five = "openai/scripted × openai/scripted fusor, n=3", "openai/scripted × openai/scripted fusor, n=5"
    assert rows[(three, "majority")].candidate_seconds_per_item < rows[(five, "majority")].candidate_seconds_per_item
    assert rows[(five, "fusion")].seconds_per_item > rows[(five, "fusion")].candidate_seconds_per_item > 0
    assert rows[(five, "majority")].seconds_per_item == rows[(five, "majority")].candidate_seconds_per_item
    assert rows[(five, "single")].seconds_per_item < rows[(five, "majority")].seconds_per_item
    assert len(report.versus) == 2 * 2 * 2  # (fusion, adaptive) × (selection, reference) × 2 cells
    assert all(v.p_holm >= v.p_permutation for v in report.versus)
    assert {b.label for b in report.bins} == {"no majority (<50%)", "majority (50–99%)", "unanimous"}
    assert sum(b.items for b in report.bins if b.cell == five and b.method == "fusion") == 6
    assert any(r.pareto for r in report.rows)
    markdown = paths[0].read_text()
    assert "## math (de, en: 3 items each)" in markdown and "Holm p" in markdown and "★" in markdown
    front = [r for r in report.rows if r.pareto]
    assert front and "oracle" not in {r.method for r in front}
    assert "The cheapest way to each quality" in markdown
    assert json.loads(paths[1].read_text())["rows"][0]["cell"] == f"{MODEL} single sample"

    unmeasured = MapReport.build(map_config(tmp_path, speeds={}), results)
    assert all(r.seconds_per_item is None and r.tokens_per_item > 0 for r in unmeasured.rows)
    assert "No measured speeds" in unmeasured.markdown() and "local_model_speed.py" in unmeasured.markdown()

    calls = len(scripted_math.calls)
    again = MapRun(map_config(tmp_path))
    assert [p.fusor_calls for p in again.plan()] == [0, 0]
    assert MapReport.build(config, again.run()).model_dump() == report.model_dump()
    assert len(scripted_math.calls) == calls, "a rerun over complete stores makes no LM call"

    grids = [TaskGrid(task="math", languages=[lang], limit=3) for lang in ("de", "en")]  # one task, two grids
    split = map_config(tmp_path, tasks=grids)
    paths = MapReport.build(split, MapRun(split).run()).write(tmp_path / "split")
    assert [p.name for p in paths] == ["report.md", "report.json", "cost-math.png"]  # one figure per task
    assert len(scripted_math.calls) == calls


def test_missing_pools_name_the_command_that_makes_them(scripted_math, tmp_path):
    make_stored_pools(tmp_path / "pools")
    config = map_config(tmp_path, candidates=[f"{MODEL}+openai/other"], ns=[5])
    [plan] = MapRun(config).plan()
    assert plan.missing_pools == {"de": 3, "en": 3}
    with pytest.raises(ConfigurationError, match=r"pools of openai/scripted\+openai/other are missing.*--pools-only"):
        MapRun(config).run()


def test_grids_are_parsed_and_bad_ones_named(tmp_path):
    assert TaskGrid.parse("translation:de,es:50") == TaskGrid(task="translation", languages=["de", "es"], limit=50)
    with pytest.raises(ConfigurationError, match="TASK:LANG,LANG:LIMIT"):
        TaskGrid.parse("math:en")
    with pytest.raises(ConfigurationError, match="no language"):
        map_config(tmp_path, tasks=[TaskGrid(task="math", languages=["xx"], limit=3)]).check()


def test_the_map_command_dry_run_prints_the_plan(scripted_math, tmp_path):
    from typer.testing import CliRunner

    make_stored_pools(tmp_path / "pools")
    result = CliRunner().invoke(app, ["map", "--grid", "math:de,en:3", "--candidates", MODEL, "--fusors", MODEL,
                                      "--ns", "3", "--pools", str(tmp_path / "pools"), "--out", str(tmp_path / "map"),
                                      "--dry-run"])  # fmt: skip
    assert result.exit_code == 0, result.output
    assert "Plan: 6 fusor calls" in result.output and "n=3: 6 fusor calls" in result.output


def test_answers_an_eval_run_stored_for_the_same_pools_are_reused(scripted_math, tmp_path):
    from fusion_dspy.eval import run_evaluation

    stored = EvalConfig(task="math", languages=["de", "en"], out_dir=tmp_path / "pools", n=5, limit=3,
                        max_tokens=256, model=MODEL, fusor_model=MODEL, judge_model=MODEL,
                        methods=["single", "majority", "fusion", "adaptive", "oracle"])  # fmt: skip
    asyncio.run(run_evaluation(stored))
    calls = len(scripted_math.calls)
    run = MapRun(map_config(tmp_path, ns=[5]))
    assert [p.fusor_calls for p in run.plan()] == [0]
    assert not (tmp_path / "map" / "predictions").exists(), "a plan writes nothing"
    run.run()
    assert len(scripted_math.calls) == calls, "the stored fusion answers were reused, not made again"


def test_a_tasks_grids_at_different_limits_each_run_their_own_items(scripted_math, tmp_path):
    """Translation de at 100 and es, ja at 50: the second grid of a task used the first grid's evaluation (its
    languages and limit), and asked for pools of items it does not have."""
    make_stored_pools(tmp_path / "pools")
    grids = [TaskGrid(task="math", languages=["de"], limit=3), TaskGrid(task="math", languages=["en"], limit=2)]
    config = map_config(tmp_path, tasks=grids, ns=[5])
    assert [p.fusor_calls for p in MapRun(config).plan()] == [3, 2]
    [cell] = MapRun(config).run().cells
    assert sorted(i.language for i in cell.methods["fusion"]) == ["de", "de", "de", "en", "en"]
    missing = map_config(tmp_path, tasks=[TaskGrid(task="math", languages=["de"], limit=3)], ns=[5],
                         candidates=[f"{MODEL}+openai/other"])  # fmt: skip
    with pytest.raises(ConfigurationError, match=f"--out {tmp_path / 'map'}"):  # made where the map reads first
        MapRun(missing).run()


def test_a_tuned_fusor_states_its_one_off_training_cost(scripted_math, tmp_path):
    from fusion_dspy.lm.adapter_cost import add_cost

    make_stored_pools(tmp_path / "pools")
    results = MapRun(map_config(tmp_path, ns=[5])).run()
    add_cost(tmp_path / "tuned" / "adapter.gguf", "bootstrap", 1800.0)
    add_cost(tmp_path / "tuned" / "adapter.gguf", "train", 5400.0)
    tuned, untracked = f"local-small@{tmp_path}/tuned/adapter.gguf", f"local-small@{tmp_path}/elsewhere.gguf"
    report = MapReport.build(map_config(tmp_path, ns=[5], fusors=[MODEL, tuned, untracked]), results)
    assert report.training[tuned] is not None and report.training[tuned].cpu_hours == 2.0
    text = " ".join(report.markdown().split())
    assert (
        f"Tuned fusor `{tuned}`: 2.0 CPU-hours once (fusor samples 0.5, reading the model and LoRA steps 1.5)" in text
    )
    assert f"`{untracked}`: no cost recorded beside its adapter" in text


def test_the_items_a_tuned_fusor_trained_on_leave_every_cell_and_the_reference(scripted_math, tmp_path):
    """Seeded subsets nest, so a map over fresh items could hold items a tuned fusor trained on: they are dropped
    from every cell (so the cells stay paired) and from the reference line, never replaced."""
    from fusion_dspy.lm.adapter_items import write_trained_items

    make_stored_pools(tmp_path / "pools")
    task = task_by_name("math")()
    first_de = task.load("de", 3)[0]
    adapter = tmp_path / "tuned" / "adapter.gguf"
    write_trained_items(adapter, {"math": [task.item_key(first_de.id, "de")], "gsm8k": ["7"]})
    config = map_config(tmp_path, ns=[5], fusors=[MODEL, f"local-small@{adapter}"])
    run = MapRun(config)
    grid = config.tasks[0]
    for _, cell in run.cells():  # the plain fusor's cell too
        loaded = run.evaluation(grid, cell).task.load("de", 3)
        assert [e.id for e in loaded] == [e.id for e in task.load("de", 3)[1:]]
    reference = asyncio.run(run.areference(grid))
    assert first_de.id not in {r.id for r in reference if r.language == "de"} and len(reference) == 5


def test_a_rows_overall_score_and_second_metric_weigh_each_language_once(tmp_path):
    """Translation de has 100 items and es 50 in the committed map: the overall score, its CI and the second
    metric's column are all means over languages (an item mean would count de twice), and the CI is a real one."""
    from fusion_dspy.map.cost import ItemCost
    from fusion_dspy.map.items import ItemResult

    def item(language: str, i: int, score: float, bleu: float) -> ItemResult:
        return ItemResult(id=f"{language}-{i}", language=language, score=score, second={"bleu": bleu},
                          cost=ItemCost(), agreement=0.5)  # fmt: skip

    items = [item("de", i, 1.0 if i % 2 else 0.0, 0.4) for i in range(4)] + [item("es", 0, 0.0, 0.1)]
    task = task_by_name("translation")()
    row = MapReport.row(map_config(tmp_path), task, "cell", MODEL, MODEL, 5, "mbr", items)
    overall = row.scores["all"]
    assert overall.mean == pytest.approx((0.5 + 0.0) / 2)  # not the item mean, 2/5
    assert overall.low < overall.mean < overall.high and overall.n == 5
    assert row.scores["de"].mean == 0.5 and row.scores["es"].n == 1
    assert row.second["bleu"] == pytest.approx((0.4 + 0.1) / 2)  # not (4 × 0.4 + 0.1) / 5


def test_the_front_leaves_out_the_oracle_and_lists_a_repeated_row_once():
    """The oracle reads the reference (a bound, not a way to an answer), and the single sample is the same row in
    every n: neither may crowd the cheapest-way table."""
    from fusion_dspy.eval.stats import Estimate
    from fusion_dspy.map.report import Row

    def row(cell: str, method: str, score: float, seconds: float) -> Row:
        estimate = Estimate(mean=score, low=score - 0.02, high=score + 0.02, n=50)
        return Row(task="translation", cell=cell, candidates=MODEL, fusor=MODEL, n=5, method=method,
                   scores={"all": estimate}, seconds_per_item=seconds, candidate_seconds_per_item=seconds,
                   tokens_per_item=100.0)  # fmt: skip

    rows = [row("n=5", "single", 0.16, 2.5), row("n=5", "mbr", 0.18, 12.1), row("n=5", "oracle", 0.26, 12.1),
            row("n=3", "single", 0.16, 2.5), row("n=3", "mbr", 0.19, 7.3), row("ref", "single", 0.26, 8.7)]  # fmt: skip
    MapReport.mark_pareto(rows)
    assert [(r.cell, r.method) for r in rows if r.pareto] == [("n=5", "single"), ("n=3", "mbr"), ("ref", "single")]
    table = "\n".join(MapReport._front(rows))
    assert "oracle" not in table and table.count("| single |") == 2
    assert "| n=3 | mbr | 0.190 [0.170, 0.210] | 7.3 | +0.030 at ×2.9 the cost |" in table


def test_a_view_whose_first_samples_all_failed_scores_zero_for_every_method(scripted_math, tmp_path):
    """MGSM en-72 of the 0.5B pools: samples 1-3 failed, the 4th answered. At n=3 no method has a candidate: the
    item scores 0 for every method of that cell (it stopped the map with an IndexError)."""
    make_stored_pools(tmp_path / "pools")
    [log] = (tmp_path / "pools" / "pools" / "math" / "en").glob("*.jsonl")
    rows = [json.loads(line) for line in log.read_text().splitlines()]
    for candidate in rows[0]["pool"]["candidates"][:3]:
        candidate.update(status="failed", error="Timeout", outputs={})
    log.write_text("".join(json.dumps(row) + "\n" for row in rows))

    results = MapRun(map_config(tmp_path)).run()
    three = next(r for r in results.cells if r.cell.n == 3)
    five = next(r for r in results.cells if r.cell.n == 5)
    broken = rows[0]["id"]
    assert all(next(i for i in items if i.id == broken).score == 0.0 for items in three.methods.values())
    assert next(i for i in five.methods["single"] if i.id == broken).score is not None  # the 4th sample answers
    assert all(len(items) == 6 for items in three.methods.values())  # nothing dropped


@pytest.mark.parametrize(("answer", "counts"), [(" ", (6, 0)), ("Candidate 2", (0, 6))], ids=["failed", "named"])
def test_the_comparisons_say_how_often_the_fusor_did_not_fuse(scripted_math, tmp_path, monkeypatch, answer, counts):
    """A fusing row answers with the selection where its fusor failed, and with a candidate where it named one
    ("Candidate 2"): the reader must see how often (the 0.5B fusor named a candidate on 13 of 40 MGSM fr items
    at n=3, and fell back on 3 of 40 en items)."""
    from fusion_dspy.eval import runner as runner_module
    from tests.eval.scripted_math import math_model

    make_stored_pools(tmp_path / "pools")
    fusor = math_model(fused={"reasoning": "combined", "answer": answer})
    monkeypatch.setattr(runner_module, "resolve_lm", lambda spec=None, **kw: fusor)
    config = map_config(tmp_path, ns=[5])
    report = MapReport.build(config, MapRun(config).run())
    fusion = [v for v in report.versus if v.method == "fusion"]
    assert fusion and all((v.fell_back, v.named, v.items) == (*counts, 6) for v in fusion)
    if answer == " ":  # the selection's answers stand
        assert all(v.difference.mean == 0 for v in fusion if v.against == "majority")
    assert "| fell back / named |" in report.markdown() and f"| {counts[0]} / {counts[1]} of 6 |" in report.markdown()
