"""Registered studies side by side (issue 13: "the report shows each optimiser's result"): one row per registry
entry, the verdict only from the paired CI, and the study's budget and validation score read from its storage."""

import optuna
import pytest
from typer.testing import CliRunner

from fusion_dspy.cli.main import app
from fusion_dspy.errors import ConfigurationError
from fusion_dspy.optimizers.comparison import checked_verdict, markdown, rows, verdict
from fusion_dspy.registry import Ablation, AblationArm, HeldOut, Manifest, RegistryEntry, Replication, StratumScore


def held_out(low: float, high: float) -> HeldOut:
    hard = {"hard": StratumScore(n=5, before=0.2, after=0.4)}
    return HeldOut(n=30, difference=(low + high) / 2, low=low, high=high, win=9, tie=15, loss=6, p_sign=0.6,
                   strata=hard)  # fmt: skip


def entry(optimizer: str, after: float, result: HeldOut | None, study: str | None = None) -> RegistryEntry:
    return RegistryEntry(task="math", language="en", metric="exact match", before=0.5, after=after,
                         splits={"train": 40, "val": 30, "test": 30}, models={"candidates": "local", "fusor": "local"},
                         optimizer=optimizer, chain_of_thought=True, n=5, held_out=result, study=study)  # fmt: skip


def registry(folder, *entries: RegistryEntry) -> None:
    folder.mkdir(parents=True)
    (folder / "manifest.json").write_text(Manifest(entries=list(entries)).model_dump_json())


def test_the_verdict_comes_from_the_paired_ci_alone():
    assert verdict(held_out(0.01, 0.2)) == "better"
    assert verdict(held_out(-0.2, -0.01)) == "worse"
    assert verdict(held_out(-0.1, 0.3)) == "no difference"  # a large mean with a CI across 0 is no difference
    assert verdict(None) == "not compared"


def test_a_better_verdict_says_whether_fresh_examples_bore_it_out():
    better = entry("mipro", 0.6, held_out(0.01, 0.2))
    assert checked_verdict(better) == "better (not replicated: --replicate)"
    fresh = Replication(limit=150, trial=0, before=0.5, after=0.55, held_out=held_out(0.01, 0.1))
    assert checked_verdict(better.model_copy(update={"replication": fresh})) == "better, replicated"
    failed = fresh.model_copy(update={"held_out": held_out(-0.03, 0.04)})
    assert checked_verdict(better.model_copy(update={"replication": failed})) == "better, not replicated"
    unchanged = entry("gepa", 0.5, held_out(-0.1, 0.1)).model_copy(update={"replication": fresh})
    assert checked_verdict(unchanged) == "no difference"  # fresh examples do not turn a held-out tie into a gain


def test_every_registry_under_the_folders_is_one_row_with_its_studys_budget_and_validation_score(tmp_path):
    storage = f"sqlite:///{tmp_path / 'studies.db'}"
    study = optuna.create_study(study_name="fusion-math-en-1", storage=storage, direction="maximize")
    study.set_user_attr("config", {"optimizer_budget": 150})
    for value in (0.4, 0.55):
        trial = study.ask()
        trial.set_user_attr("val_score", value)
        study.tell(trial, value)
    checked = entry("mipro", 0.6, held_out(0.02, 0.18), study="fusion-math-en-1")
    checked.replication = Replication(limit=150, trial=1, before=0.5, after=0.52, held_out=held_out(-0.04, 0.08))
    checked.ablation = Ablation(
        trial=1,
        demos=2,
        instructions_only=AblationArm(after=0.5, held_out=held_out(-0.05, 0.05)),
        demos_only=AblationArm(after=0.6, held_out=held_out(0.01, 0.19)),
    )
    registry(tmp_path / "math-en" / "mipro", checked)
    registry(tmp_path / "math-en" / "bootstrap", entry("bootstrap", 0.45, held_out(-0.15, 0.05)))
    found = rows([tmp_path], storage)
    assert [r.entry.optimizer for r in found] == ["bootstrap", "mipro"]
    mipro = found[1]
    assert (mipro.budget, mipro.trials, mipro.val, mipro.verdict) == (150, 2, 0.55, "better, not replicated")
    assert found[0].budget is None and found[0].val is None  # no study recorded: nothing invented
    table = markdown(found)
    assert "| math en | mipro (150 calls) | n=5, CoT | 2 | 0.550 | 0.500 → 0.600 | +0.100 [+0.020, +0.180] |" in table
    assert "0.200 → 0.400 (n=5)" in table and "Held-out examples per study: 30" in table
    assert "| 0.500 → 0.520, +0.020 [-0.040, +0.080] (n=30): no difference |" in table  # checked again: not kept up
    assert "| instructions only +0.000 [-0.050, +0.050]; 2 demos only +0.100 [+0.010, +0.190] |" in table


def test_a_folder_without_a_registry_is_an_error_that_names_the_fix(tmp_path):
    with pytest.raises(ConfigurationError, match="--registry"):
        rows([tmp_path])
    result = CliRunner().invoke(app, ["studies", str(tmp_path / "missing")])
    assert result.exit_code == 2 and "is not a folder" in result.output


def test_the_command_prints_the_table_and_writes_it(tmp_path):
    registry(tmp_path / "bootstrap", entry("bootstrap", 0.45, held_out(-0.15, 0.05)))
    result = CliRunner().invoke(app, ["studies", str(tmp_path), "--out", str(tmp_path / "table.md")])
    assert result.exit_code == 0, result.output
    assert "no difference" in result.output
    assert "| math en | bootstrap |" in (tmp_path / "table.md").read_text()
