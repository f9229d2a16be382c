"""Training pools for a weight-tuned fusor from unreported items of several languages, the study's own pools its
test set: parsed specs, stored pools read back as fusor examples with their strata, and the refusals (a missing
pool names the command that makes it; a shared item; a task whose fusor writes other fields)."""

import asyncio

import pytest

from fusion_dspy.errors import ConfigurationError
from fusion_dspy.eval import EvalConfig, make_pools
from fusion_dspy.optimizers.finetune_sources import (
    PoolSettings,
    TrainSource,
    refuse_overlap,
    training_set,
)
from fusion_dspy.programs import reported, task_by_name

SUBSETS = (("en", 3), ("de", 4))  # a small registry for the 12 synthetic MGSM rows
POOLS = PoolSettings(model="openai/scripted", n=3, temperature=0.8, max_tokens=256)


@pytest.fixture
def small_registry(monkeypatch):
    monkeypatch.setitem(reported.REPORTED_SUBSETS, "math", SUBSETS)
    monkeypatch.setitem(reported.REPORTED_KEYS, "math", frozenset())  # only the subsets above


def make_unreported_pools(folder, languages, limit=None):
    config = EvalConfig(task="math", languages=languages, out_dir=folder, n=3, limit=limit, items="unreported",
                        model="scripted", max_tokens=256, methods=["single"])  # fmt: skip
    return asyncio.run(make_pools(config))


def test_specs_parse_with_and_without_a_limit():
    assert TrainSource.parse("math:de,fr,sw") == TrainSource(task="math", languages=["de", "fr", "sw"])
    assert TrainSource.parse("gsm8k:en:300").limit == 300
    for bad in ["math", "math:de:many", "a:b:c:d"]:
        with pytest.raises(ConfigurationError, match="TASK:LANG,LANG"):
            TrainSource.parse(bad)


def test_the_stored_unreported_pools_become_fusor_examples_with_strata(scripted_math, small_registry, tmp_path):
    scripted_math.model = "openai/scripted"  # the stores are keyed by the model's name
    left = 12 - len(reported.reported_items(task_by_name("math")(), SUBSETS))  # of the 12 synthetic rows
    made = make_unreported_pools(tmp_path, ["de", "fr"])
    assert made == {"de": left, "fr": left} and 0 < left < 12
    training = training_set([TrainSource.parse("math:de,fr")], tmp_path, POOLS, "math")
    assert training.sources == {"math:de": left, "math:fr": left} and len(training.examples) == 2 * left
    assert set(training.strata) == {e.id for e in training.examples}
    keys = {task_by_name("math")().item_key(e.id, e.language) for e in training.examples}
    assert set(training.items) == {"math"} and set(training.items["math"]) == keys  # what the adapter records
    assert all("candidates" in e.inputs() for e in training.examples)
    limited = training_set([TrainSource.parse("math:de:3")], tmp_path, POOLS, "math")
    assert limited.sources == {"math:de": 3}  # a seeded 3 of those stored

    test = task_by_name("math")().load("en", 3, 0)  # a reported subset: never trained on
    refuse_overlap(task_by_name("math")(), training.examples, test)
    with pytest.raises(ConfigurationError, match="also training items"):
        refuse_overlap(task_by_name("math")(), training.examples, task_by_name("math")().load("fr", None, 0))


def test_missing_pools_and_other_signatures_are_refused_with_the_fix(scripted_math, small_registry, tmp_path):
    scripted_math.model = "openai/scripted"
    make_unreported_pools(tmp_path, ["de"])
    fix = r"make them with: fusion-dspy eval --task math --langs fr .*--items unreported"
    with pytest.raises(ConfigurationError, match=fix):
        training_set([TrainSource.parse("math:de,fr")], tmp_path, POOLS, "math")
    with pytest.raises(ConfigurationError, match="other fields than math's"):
        training_set([TrainSource.parse("translation:de")], tmp_path, POOLS, "math")
