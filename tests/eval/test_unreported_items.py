"""`items="unreported"`: every eval path (runs, plans, pool views, first-k) sees only the items no reported number
was measured on, in every language; the default changes nothing and the stores stay keyed by example id."""

import asyncio

import pytest

from fusion_dspy.errors import ConfigurationError
from fusion_dspy.eval import EvalConfig, Evaluation, make_pools, plan, run_evaluation
from fusion_dspy.eval.first_k import compare_first_k
from fusion_dspy.eval.pool_views import PoolView
from fusion_dspy.programs import reported, task_by_name

SUBSETS = (("en", 3), ("de", 4))  # a small registry for the 12 synthetic MGSM rows


@pytest.fixture
def small_registry(monkeypatch):
    monkeypatch.setitem(reported.REPORTED_SUBSETS, "math", SUBSETS)
    monkeypatch.setitem(reported.REPORTED_KEYS, "math", frozenset())  # only the subsets above
    return reported.reported_items(task_by_name("math")(), SUBSETS)


def config(tmp_path, **overrides) -> EvalConfig:
    values = {"task": "math", "languages": ["de", "en"], "out_dir": tmp_path, "n": 3, "limit": 2,
              "items": "unreported", "methods": ["single", "majority", "fusion"]}  # fmt: skip
    return EvalConfig(**{**values, **overrides})


def item_keys(task, examples, language):
    return {task.item_key(e.id, language) for e in examples}


def test_a_run_sees_only_unreported_items_and_samples_among_them_reproducibly(scripted_math, small_registry, tmp_path):
    evaluation = Evaluation(config(tmp_path))
    for language in ["de", "en"]:
        chosen = evaluation.task.load(language, 2, 0)
        assert len(chosen) == 2 and not item_keys(evaluation.task, chosen, language) & small_registry
        assert [e.id for e in chosen] == [e.id for e in Evaluation(config(tmp_path)).task.load(language, 2, 0)]
    every = Evaluation(config(tmp_path, limit=None)).task
    assert len(every.load("fr")) == 12 - len(small_registry)  # excluded in a language no subset was drawn from
    report, paths = asyncio.run(run_evaluation(config(tmp_path), evaluation=evaluation))
    assert {lang: report.scores["fusion"][lang].n for lang in ["de", "en"]} == {"de": 2, "en": 2}
    assert "unreported items only" in paths[0].read_text()
    stored = {r.id for lang in ["de", "en"] for r in evaluation.pools(lang).rows.values()}
    assert stored == {e.id for lang in ["de", "en"] for e in evaluation.task.load(lang, 2, 0)}


def test_the_plan_pool_views_and_first_k_see_the_same_examples(scripted_math, small_registry, tmp_path):
    pools = tmp_path / "pools-run"
    made = asyncio.run(make_pools(config(pools, n=3)))
    assert made == {"de": 2, "en": 2}
    assert [lang.examples for lang in plan(Evaluation(config(pools))).languages] == [2, 2]
    first_k = asyncio.run(compare_first_k(config(pools, languages=["en"]), "en", 2))
    assert first_k.examples == 2
    view = PoolView(models=["openai/scripted"], n=2, pool_n=3, folders=[pools])
    viewed = {"n": 2, "pool_view": view, "fusor_model": "scripted"}
    report, _ = asyncio.run(run_evaluation(config(tmp_path / "view", **viewed)))  # a view lacking one would refuse
    assert report.scores["fusion"]["de"].n == 2
    with pytest.raises(ConfigurationError, match="pools of openai/scripted are missing"):  # all items: others
        asyncio.run(run_evaluation(config(tmp_path / "view-all", **viewed, items="all", limit=6)))


def test_the_default_changes_nothing_and_shares_the_stores(scripted_math, small_registry, tmp_path):
    plain = config(tmp_path, items="all", limit=3)
    assert Evaluation(plain).task.excluded == frozenset()
    math = task_by_name("math")()
    assert [e.id for e in Evaluation(plain).task.load("de", 3, 0)] == [e.id for e in math.load("de", 3, 0)]
    before, _ = asyncio.run(run_evaluation(plain))
    asyncio.run(run_evaluation(config(tmp_path)))  # same folder, same stores: pools keyed by example id
    calls = len(scripted_math.calls)
    after, _ = asyncio.run(run_evaluation(plain))
    assert len(scripted_math.calls) == calls and after.model_dump() == before.model_dump()
    assert "unreported" not in (tmp_path / "report.md").read_text()


def test_no_unreported_items_left_or_no_record_of_them_names_the_fix(scripted_math, monkeypatch, tmp_path):
    monkeypatch.setitem(reported.REPORTED_SUBSETS, "math", (("en", 12),))
    with pytest.raises(ConfigurationError, match="leaves no math de items"):
        Evaluation(config(tmp_path))
    with pytest.raises(ConfigurationError, match=r"programs/reported\.py"):
        Evaluation(config(tmp_path, task="factual", languages=["en"]))


def test_pools_for_a_tuned_fusor_leave_out_what_it_trained_on(scripted_math, tmp_path):
    """Naming the tuned fusor is how its fresh-item pools are made: eval samples only the items it never saw."""
    from fusion_dspy.lm.adapter_items import write_trained_items

    math = task_by_name("math")()
    subset = math.load("de", 5, 0)
    adapter = tmp_path / "tuned" / "adapter.gguf"
    write_trained_items(adapter, {"math": [math.item_key(e.id, "de") for e in subset[:3]]})
    made = asyncio.run(make_pools(config(tmp_path, items="all", limit=5, languages=["de"],
                                         fusor_model=f"local-small@{adapter}")))  # fmt: skip
    assert made == {"de": 2}
    assert len(scripted_math.calls) == 2 * 3  # the two fresh items' candidates, nothing else
