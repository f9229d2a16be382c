"""A study is keyed by everything that defines it, refuses to continue on other data, and its "before" is the
task's default fusor (issue 11, points 2 and 3)."""

import optuna
import pytest

from fusion_dspy.errors import ConfigurationError
from fusion_dspy.optimizers import FusorStudy, StudyConfig
from fusion_dspy.testing import FakeModelServer
from tests.optimizers.test_study import math_responder


def mgsm_folder(root, count=12, language="en"):
    (root / "mgsm").mkdir(parents=True)
    rows = [f"Problem {i}: Sam has {i} apples and buys {i + 6} more. How many?\t{2 * i + 6}" for i in range(count)]
    (root / "mgsm" / f"mgsm_{language}.tsv").write_text("\n".join(rows) + "\n", encoding="utf-8")
    return str(root)


def study_config(server, tmp_path, **overrides):
    values = {
        "task": "math", "language": "en", "out_dir": tmp_path / "runs", "storage": f"sqlite:///{tmp_path}/s.db",
        "trials": 1, "model": "openai/fake", "api_base": server.base_url, "n": 3, "limit": 6,
        "optimizers": ["bootstrap"], "chain_of_thought": [False], "max_demos": 1, "threads": 2,
        "data_dir": mgsm_folder(tmp_path / "data") if not (tmp_path / "data").exists() else str(tmp_path / "data"),
    }  # fmt: skip
    return StudyConfig(**{**values, **overrides})


def optimize_args(server, config, tmp_path, *extra: str) -> list[str]:
    """`fusion-dspy optimize` over `study_config`'s study (1 trial), registering under <tmp>/registry."""
    return ["optimize", "--task", "math", "--lang", "en", "--trials", "1", "--storage", config.storage,
            "--model", "openai/fake", "--api-base", server.base_url, "-n", "3", "--limit", "6", "--cot", "off",
            "--max-demos", "1", "--out", str(tmp_path / "runs"), "--registry", str(tmp_path / "registry"),
            "--data-dir", config.data_dir, *extra]  # fmt: skip


def test_another_limit_seed_or_model_is_another_study(tmp_path):
    with FakeModelServer(responder=math_responder) as server:
        base = study_config(server, tmp_path)
        names = {base.study_name}
        for change in [{"limit": 9}, {"seed": 1}, {"model": "openai/other"}, {"n": 4}, {"max_tokens": 64},
                       {"temperatures": [0.5]}, {"max_demos": 2}]:  # fmt: skip
            names.add(study_config(server, tmp_path, **change).study_name)
        assert len(names) == 8
        assert study_config(server, tmp_path, trials=7, threads=1).study_name == base.study_name  # not defining

        small = FusorStudy(base)
        small.run()
        large = FusorStudy(study_config(server, tmp_path, limit=9))
        study = large.run()  # a fresh study on its own splits, not the old one continued
        assert len(study.trials) == 1
        ids = large.split_ids()
        assert not set(ids["test"]) & (set(ids["train"]) | set(ids["val"]))
        assert study.user_attrs["split_ids"] == ids and study.user_attrs["config"]["limit"] == 9


def test_a_study_whose_data_changed_is_refused(tmp_path):
    with FakeModelServer(responder=math_responder) as server:
        config = study_config(server, tmp_path)
        FusorStudy(config).run()
        stored = optuna.load_study(study_name=config.study_name, storage=config.storage)
        stored.set_user_attr("split_ids", {"train": ["en-0"], "val": ["en-1"], "test": ["en-2"]})
        with pytest.raises(ConfigurationError, match=r"another split ids.*another --storage"):
            FusorStudy(config).run()


def test_a_study_keeps_its_splits_when_a_metric_fix_moves_a_pool_between_strata(tmp_path):
    """Same examples, another partition (as a metric fix that moves one pool to another stratum would make it):
    the study continues on the splits it was made with."""
    with FakeModelServer(responder=math_responder) as server:
        config = study_config(server, tmp_path)
        FusorStudy(config).run()
        stored = optuna.load_study(study_name=config.study_name, storage=config.storage)
        ids = stored.user_attrs["split_ids"]
        moved = {
            "train": ids["train"][1:] + ids["test"][:1],
            "val": ids["val"],
            "test": ids["test"][1:] + ids["train"][:1],
        }
        stored.set_user_attr("split_ids", moved)
        runner = FusorStudy(config)
        runner.run()
        assert runner.split_ids() == moved


def test_before_is_the_tasks_default_fusor(tmp_path, monkeypatch):
    with FakeModelServer(responder=math_responder) as server:
        runner = FusorStudy(study_config(server, tmp_path, chain_of_thought=[False]))
        study = runner.run()
        scored = []
        original = runner.score_each
        monkeypatch.setattr(
            runner,
            "score_each",
            lambda program, devset, *a, **kw: scored.append(program) or original(program, devset, *a, **kw),
        )
        runner.finish(study, None)
    before, after = scored
    assert runner.task.chain_of_thought is True  # math's default fusor reasons first …
    assert before.fuser.chain_of_thought is True  # … and so does "before" (it ran without it before)
    assert after.fuser.chain_of_thought is False  # the tuned one, as its trial chose
    assert before.fuser.predict.predict.demos == [] and before.fuser.instructions is None


def test_a_fusor_token_limit_is_a_study_of_its_own_and_reaches_both_fusors_but_not_the_candidates(tmp_path):
    committed = StudyConfig(task="translation", language="de", out_dir=tmp_path, model="local", max_tokens=256,
                            limit=100, optimizers=["gepa"], chain_of_thought=[False], optimizer_budget=200,
                            stratum_threshold=0.35)  # fmt: skip
    assert committed.study_name == "fusion-translation-de-754de57c"  # results/optimize/real: names stay as they were
    assert committed.model_copy(update={"fusor_max_tokens": 512}).study_name != committed.study_name
    with FakeModelServer(responder=math_responder) as server:
        study = FusorStudy(study_config(server, tmp_path, max_tokens=64, fusor_max_tokens=512))
        assert study.fusor(False, "openai/fake").fuser.lm.kwargs["max_tokens"] == 512
        assert study.default_fusor().fuser.lm.kwargs["max_tokens"] == 512  # tested against the same limit
        assert study.evaluation(0.8).config.max_tokens == 64  # the candidates keep theirs


def test_a_restarted_study_does_not_draw_its_random_start_again(tmp_path):
    """A seeded sampler made anew in each process would suggest trial 1's parameters again as trial 2."""
    with FakeModelServer(responder=math_responder) as server:
        config = study_config(server, tmp_path, trials=2, temperatures=[0.5, 0.7, 0.9, 1.1], max_demos=3)
        FusorStudy(config).run()  # trial 0: the full configuration; trial 1: the sampler's first random draw
        study = FusorStudy(config.model_copy(update={"trials": 3})).run()  # a new process continues
    first, again = study.trials[1].params, study.trials[2].params
    assert first != again
