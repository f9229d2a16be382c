"""Held-out reuse (issue 25): how many studies started earlier compared a tuned fusor with the default one on the
same held-out examples, read from the studies' storage."""

import optuna

from fusion_dspy.optimizers.reuse import held_out_reuse


def study(storage: str, name: str, test: list[str], task: str = "translation", language: str = "de") -> None:
    """A stored study with a held-out split and one completed trial (which dates it)."""
    created = optuna.create_study(study_name=name, storage=storage, direction="maximize")
    created.set_user_attr("config", {"task": task, "language": language, "limit": 100, "seed": 0})
    created.set_user_attr("split_ids", {"train": ["t"], "val": ["v"], "test": test})
    trial = created.ask()
    created.tell(trial, 0.5)


def test_earlier_studies_on_the_same_held_out_examples_are_counted_in_order(tmp_path):
    storage = f"sqlite:///{tmp_path / 'studies.db'}"
    same = ["a", "b", "c"]
    study(storage, "bootstrap", same)
    study(storage, "other-split", ["a", "b", "d"])  # another seed or limit: other examples
    study(storage, "gepa", same)
    study(storage, "ja", same, language="ja")  # a parallel benchmark's ids, but other items
    study(storage, "math", same, task="math")
    study(storage, "mipro", same)
    counts = {name: held_out_reuse(storage, name) for name in ["bootstrap", "gepa", "mipro", "other-split", "ja"]}
    assert counts == {"bootstrap": 0, "gepa": 1, "mipro": 2, "other-split": 0, "ja": 0}
    assert held_out_reuse(storage, "missing") is None
    optuna.create_study(study_name="untried", storage=storage)
    assert held_out_reuse(storage, "untried") is None  # no split, no trial: nothing to count from
