"""Registered studies side by side (issue 13: "the report shows each optimiser's result"; issue 25: multiplicity
and robustness in every "better"): one row per registry entry, the verdict from the paired CI, the Holm-adjusted
permutation test and fresh examples, and the study's budget and validation score read from its storage."""

import optuna
import pytest
from typer.testing import CliRunner

from fusion_dspy.cli.main import app
from fusion_dspy.errors import ConfigurationError
from fusion_dspy.eval.paired import Influence, PermutationTest
from fusion_dspy.eval.stats import Estimate
from fusion_dspy.optimizers.comparison import checked_verdict, markdown, rows
from fusion_dspy.optimizers.heldout import Robustness, held_out_of
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


def with_p(p: float) -> Robustness:
    """A permutation test with p-value `p` (the influence figure plays no part in the verdict)."""
    permutation = PermutationTest(p=p, nonzero=20, exact=True, draws=2**20)
    return Robustness(
        permutation=permutation, influence=Influence(removed={}, estimate=Estimate(mean=0, low=0, high=0, n=0))
    )


def test_better_needs_the_ci_the_holm_adjusted_test_and_replication():
    gain, fresh = held_out(0.01, 0.2), held_out(0.01, 0.1)
    assert checked_verdict(gain, 0.01, fresh, with_p(0.02)) == "better"
    assert checked_verdict(gain, 0.2, fresh, with_p(0.02)) == "suggestive: Holm-adjusted p = 0.20"  # CI clears 0
    assert checked_verdict(gain, 0.01, fresh, with_p(0.07)) == "suggestive: not replicated on fresh examples"
    assert checked_verdict(gain, 0.01, held_out(-0.03, 0.04), with_p(0.01)) == (
        "suggestive: not replicated on fresh examples"  # a small p with a CI across 0 on fresh examples
    )
    assert checked_verdict(gain, 0.01) == "suggestive: not checked on fresh examples (--replicate)"
    assert checked_verdict(gain, None, fresh, None) == (
        "suggestive: no per-example scores to test; not replicated on fresh examples"
    )
    assert checked_verdict(held_out(-0.1, 0.1), 0.01, fresh, with_p(0.01)) == "no difference"  # fresh data do not
    assert checked_verdict(held_out(-0.2, -0.01), 0.01) == "worse"  # turn a held-out tie into a gain
    assert checked_verdict(held_out(-0.2, -0.01), 0.3) == "suggestive (worse): Holm-adjusted p = 0.30"
    assert checked_verdict(None, None) == "not compared"


def scored(entry_: RegistryEntry, differences: list[float]) -> RegistryEntry:
    """`entry_` with a held-out comparison made from per-example scores whose differences are `differences`."""
    pairs = {f"ex{i:02d}": (0.5 - d / 2, 0.5 + d / 2) for i, d in enumerate(differences)}
    return entry_.model_copy(update={"held_out": held_out_of(pairs, {})})


def test_the_table_holds_each_entrys_permutation_p_holm_p_influence_and_reuse(tmp_path):
    # 8 gains of 1 and 2 ties: exact p = 2 / 2^8; 3 gains and 1 loss of 1: p = 10 / 16 (|sum| ≥ 2)
    strong = scored(entry("mipro", 0.9, None), [1.0] * 8 + [0.0] * 2).model_copy(update={"held_out_reuse": 1})
    weak = scored(entry("bootstrap", 0.6, None), [1.0, 1.0, 1.0, -1.0] + [0.0] * 6)
    weak = weak.model_copy(update={"held_out_reuse": 0})
    registry(tmp_path / "math-en" / "mipro", strong)
    registry(tmp_path / "math-en" / "bootstrap", weak)
    registry(tmp_path / "math-en" / "old", entry("gepa", 0.5, held_out(-0.1, 0.1)))  # no per-example scores
    found = rows([tmp_path])
    assert [r.entry.optimizer for r in found] == ["bootstrap", "mipro", "gepa"]
    assert [r.p_holm for r in found] == pytest.approx([0.625, 2 * 2 / 256, None])
    assert found[1].verdict == "suggestive: not checked on fresh examples (--replicate)"
    influence = found[1].held_out_test.influence
    assert list(influence.removed) == ["ex00", "ex01"] and influence.estimate.mean == pytest.approx(6 / 8)
    table = markdown(found)
    assert (
        "| +0.800 [+0.500, +1.000] | 0.008 | 0.016 | +0.750 [+0.500, +1.000] without 2 examples (+1.000, +1.000) "
        "| 8/2/0 | — | 1 | en |" in table
    )
    assert "| 0.625 | 0.625 | +0.000 [-0.375, +0.375] without 2 examples (+1.000, +1.000) | 3/6/1 | — | 0 |" in table
    assert "Holm's adjustment counted 2 tuned-vs-default held-out comparisons: math en bootstrap" in table
    assert "Not counted (no per-example scores stored): " + str(tmp_path / "math-en" / "old") in table


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
    assert (mipro.budget, mipro.trials, mipro.val) == (150, 2, 0.55)
    assert mipro.verdict == "suggestive: no per-example scores to test; not replicated on fresh examples"
    assert found[0].budget is None and found[0].val is None  # no study recorded: nothing invented
    table = markdown(found)
    assert "| math en | mipro (150 calls) | n=5, CoT | 2 | 0.550 | 0.500 → 0.600 | +0.100 [+0.020, +0.180] |" in table
    assert "0.200 → 0.400 (n=5)" in table and "Held-out examples per study: 30" in table
    assert "| 0.500 → 0.520, +0.020 [-0.040, +0.080], p = — (n=30): not replicated |" in table  # checked again
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


def test_the_command_prints_ci_permutation_p_holm_p_and_reuse_per_entry(tmp_path):
    for name, differences, reuse in [("gepa", [1.0] * 8 + [0.0] * 2, 0), ("mipro", [1.0, -1.0] + [0.0] * 8, 1)]:
        registry(
            tmp_path / name, scored(entry(name, 0.6, None), differences).model_copy(update={"held_out_reuse": reuse})
        )
    result = CliRunner().invoke(app, ["studies", str(tmp_path)])
    assert result.exit_code == 0, result.output
    # CI, permutation p, Holm p, influence, W/T/L, hard stratum, reuse: 2/256 doubled by Holm; ±1 gives p = 1
    assert "| +0.800 [+0.500, +1.000] | 0.008 | 0.016 | +0.750 [+0.500, +1.000] without 2 examples" in result.output
    assert "| 8/2/0 | — | 0 |" in result.output
    assert "| +0.000 [-0.300, +0.300] | 1.000 | 1.000 |" in result.output and "| 1/8/1 | — | 1 |" in result.output
    assert "Holm's adjustment counted 2 tuned-vs-default held-out comparisons: math en gepa" in result.output


def test_a_comparison_without_differences_has_no_example_to_leave_out(tmp_path):
    registry(tmp_path / "gepa", scored(entry("gepa", 0.5, None), [0.0] * 10))
    [row] = rows([tmp_path])
    assert row.held_out_test.without_top == "— (no example differs)" and row.held_out_test.permutation.p == 1.0
