"""Pool views: the first n of stored pools and mixed pools, read from stores, never sampled."""

import pytest

from fusion_dspy.candidates import Candidate, CandidatePool
from fusion_dspy.errors import ConfigurationError
from fusion_dspy.eval.pool_views import PoolView, ViewPools
from fusion_dspy.eval.store import PoolKey, PoolRecord, pool_log


def stored(folder, model, ids, n=5):
    key = PoolKey(task="math", language="en", model=model, n=n, temperature=0.8, seed=0, max_tokens=256)
    log = pool_log(folder, key)
    for example_id in ids:
        candidates = [Candidate(index=i, outputs={"answer": f"{model}-{i}"}, source=model) for i in range(n)]
        log.append(PoolRecord(id=example_id, pool=CandidatePool(candidates=candidates)))
    return key


def test_first_n_and_mixed_pools_come_from_the_stored_ones(tmp_path):
    key = stored(tmp_path, "openai/local-small", ["a", "b"])
    stored(tmp_path / "other", "openai/local", ["a"])
    first = PoolView(models=["local-small"], n=3, pool_n=5, folders=[tmp_path])
    rows, missing = first.rows(key, ["a", "b"])
    assert [c.outputs["answer"] for c in rows["a"].pool.candidates] == [f"openai/local-small-{i}" for i in range(3)]
    assert not missing and first.label() == "view-local-small-first3of5"

    mixed = PoolView(models=["local-small", "local"], n=5, pool_n=5, folders=[tmp_path, tmp_path / "other"])
    rows, missing = mixed.rows(key, ["a", "b"])
    answers = [c.outputs["answer"] for c in rows["a"].pool.candidates]
    assert answers == ["openai/local-small-0", "openai/local-0", "openai/local-small-1", "openai/local-1",
                       "openai/local-small-2"]  # fmt: skip
    assert [c.index for c in rows["a"].pool.candidates] == [0, 1, 2, 3, 4]
    assert [c.source for c in rows["a"].pool.candidates][:2] == ["openai/local-small", "openai/local"]
    assert missing == {"local": ["b"]} and "b" not in rows


def test_a_view_is_never_sampled_and_says_when_it_asks_too_much(tmp_path):
    with pytest.raises(ConfigurationError, match="stored pools and never sampled"):
        ViewPools({}).append(PoolRecord(id="x", pool=CandidatePool(candidates=[])))
    with pytest.raises(ConfigurationError, match="use a smaller n or make pools of 3"):
        PoolView(models=["local"], n=3, pool_n=2, folders=[tmp_path]).check()
