"""A multi-objective study (validation score, fusor tokens) over the knobs, adaptive thresholds included."""

import json

import pytest

from fusion_dspy.errors import ConfigurationError
from fusion_dspy.optimizers import FusorStudy
from fusion_dspy.optimizers.study import pick_best
from fusion_dspy.registry import FusorRegistry
from fusion_dspy.testing import FakeModelServer
from tests.optimizers.test_study import math_responder
from tests.optimizers.test_study_keys import study_config


def test_a_score_and_tokens_study_finds_a_pareto_front_and_reports_it(tmp_path):
    with FakeModelServer(responder=math_responder) as server:
        config = study_config(server, tmp_path, trials=4, limit=10, objectives=["score", "tokens"], adaptive=True)
        runner = FusorStudy(config)
        study = runner.run()
        result = runner.finish(study, FusorRegistry(tmp_path / "registry"))
    assert len(study.directions) == 2
    for trial in study.trials:
        assert len(trial.values) == 2 and trial.values[1] == trial.user_attrs["tokens_per_example"]
        assert "adaptive" in trial.params
        assert ("skip_agreement" in trial.params) == trial.params["adaptive"]
    best = pick_best(study)
    assert best in study.best_trials and best.values[0] == max(t.values[0] for t in study.best_trials)
    [entry] = json.loads((tmp_path / "registry" / "manifest.json").read_text())["entries"]
    assert entry["study"] == config.study_name and entry["held_out"]["n"] == result.splits["test"]
    assert set(entry["held_out"]["strata"]) <= {"easy", "hard", "impossible"}
    assert entry["adaptive"] == (
        {k: best.params[k] for k in ("skip_agreement", "floor_margin")} if best.params["adaptive"] else None
    )
    report = tmp_path / "registry" / "math" / "en-report"
    assert result.report == report / "README.md" and entry["report"] == "math/en-report/README.md"
    text = result.report.read_text()
    assert "## Held-out test" in text and "95% CI" in text and "sign test" in text and "| easy |" in text
    assert (report / "pareto.png").stat().st_size > 1000
    assert "(importances.png)" in text or "Parameter importances could not be computed" in text
    front = text.split("The Pareto front (no other trial is better on both):")[1].split("## Parameter importances")[0]
    rows = [line for line in front.splitlines() if line[:3].strip("| ").isdigit()]
    assert len(rows) == len(study.best_trials)
    for t in study.best_trials:
        assert any(row.startswith(f"| {t.number} | {t.values[0]:.3f} | {t.values[1]:.0f} |") for row in rows)
    assert "## The tuned fusor" in text and "`fuser.predict`: " in text and "None yet: `optimize --replicate" in text


def test_objectives_are_checked(tmp_path):
    with FakeModelServer() as server:
        with pytest.raises(ConfigurationError, match="score,tokens"):
            FusorStudy(study_config(server, tmp_path, objectives=["tokens"]))
        with pytest.raises(ConfigurationError, match="drop --cost-penalty"):
            FusorStudy(study_config(server, tmp_path, objectives=["score", "tokens"], cost_penalty=0.1))


def test_optimize_with_objectives_writes_the_report_beside_the_entry(tmp_path):
    from typer.testing import CliRunner

    from fusion_dspy.cli.main import app
    from tests.optimizers.test_study_keys import mgsm_folder

    with FakeModelServer(responder=math_responder) as server:
        args = [
            "optimize", "--task", "math", "--lang", "en", "--trials", "2", "--storage", f"sqlite:///{tmp_path}/new/c.db",
            "--model", "openai/fake", "--api-base", server.base_url, "-n", "3", "--limit", "6", "--cot", "off",
            "--max-demos", "1", "--out", str(tmp_path / "runs"), "--registry", str(tmp_path / "registry"),
            "--objectives", "score,tokens", "--adaptive", "--data-dir", mgsm_folder(tmp_path / "data"),
        ]  # fmt: skip
        result = CliRunner().invoke(app, args, env={"COLUMNS": "250"})
    assert result.exit_code == 0, result.output
    assert "paired difference" in result.output and "95% CI" in result.output
    assert "study report:" in result.output and (tmp_path / "registry" / "math" / "en-report" / "README.md").is_file()


def test_the_first_trial_is_the_full_configuration(tmp_path):
    with FakeModelServer(responder=math_responder) as server:
        config = study_config(server, tmp_path, trials=1, n=3, max_demos=2, chain_of_thought=[False, True],
                              optimizers=["bootstrap", "mipro"], adaptive=True, first_k=True)  # fmt: skip
        study = FusorStudy(config).run()
    [trial] = study.trials
    assert trial.params == {"temperature": 0.8, "n": 3, "k": 3, "chain_of_thought": True, "demos": 2,
                            "optimizer": "bootstrap", "fusor_model": "openai/fake", "adaptive": False}  # fmt: skip
