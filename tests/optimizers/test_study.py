"""The Optuna study end to end on real MGSM rows with a local fake model server: trials, resume, registry."""

import json
import os
import signal
import subprocess
import sys
import time

import dspy
import optuna
import pytest

from fusion_dspy.optimizers import FusorStudy, StudyConfig, compile_fusor, evaluate, split
from fusion_dspy.registry import FusorRegistry
from fusion_dspy.testing import FakeModelServer


def math_responder(messages):
    """Candidates answer 18 or 7; the fusor (which sees <candidate> blocks) answers 18."""
    last = str(messages[-1]["content"])
    answer = "18" if "<candidate 1>" in last or len(last) % 2 else "7"
    return f"[[ ## reasoning ## ]]\nworked\n\n[[ ## answer ## ]]\n{answer}\n\n[[ ## completed ## ]]"


def study_config(server, tmp_path, **overrides):
    values = {
        "task": "math", "language": "en", "out_dir": tmp_path / "runs", "storage": f"sqlite:///{tmp_path}/s.db",
        "trials": 3, "model": "openai/fake", "api_base": server.base_url, "n": 3, "limit": 6,
        "optimizers": ["bootstrap"], "chain_of_thought": [False], "max_demos": 1, "threads": 2,
    }  # fmt: skip
    return StudyConfig(**{**values, **overrides})


def test_study_runs_records_and_registers(tmp_path):
    with FakeModelServer(responder=math_responder) as server:
        runner = FusorStudy(study_config(server, tmp_path))
        study = runner.run()
        result = runner.finish(study, FusorRegistry(tmp_path / "registry"))
    assert result.trials_completed == 3
    for trial in study.trials:
        assert {"val_score", "tokens_per_example", "lm_calls", "splits", "state"} <= set(trial.user_attrs)
        assert trial.user_attrs["lm_calls"] >= 0 and trial.user_attrs["splits"]["val"] == 2
        assert set(trial.params) == {"temperature", "n", "chain_of_thought", "demos", "optimizer", "fusor_model"}
    assert result.splits == {"train": 2, "val": 2, "test": 2}
    manifest = json.loads((tmp_path / "registry" / "manifest.json").read_text())
    [entry] = manifest["entries"]
    assert entry["task"] == "math" and entry["language"] == "en" and entry["splits"] == result.splits
    assert (entry["before"], entry["after"]) == (result.before, result.after)
    assert (tmp_path / "registry" / "math" / "en.json").is_file()


def test_rerunning_continues_the_stored_study(tmp_path):
    with FakeModelServer(responder=math_responder) as server:
        FusorStudy(study_config(server, tmp_path, trials=2)).run()
        study = FusorStudy(study_config(server, tmp_path, trials=4)).run()
    states = [t.state for t in study.trials]
    assert states.count(optuna.trial.TrialState.COMPLETE) == 4 and len(states) == 4


@pytest.mark.timeout(180)
def test_killing_optimize_mid_study_and_rerunning_continues(tmp_path):
    with FakeModelServer(latency_s=0.3, responder=math_responder) as server:
        storage = f"sqlite:///{tmp_path}/kill.db"
        command = [
            sys.executable, "-m", "fusion_dspy", "optimize", "--task", "math", "--lang", "en", "--trials", "5",
            "--storage", storage, "--model", "openai/fake", "--api-base", server.base_url, "-n", "3", "--limit", "6",
            "--cot", "off", "--max-demos", "1", "--out", str(tmp_path / "runs"), "--no-register",
        ]  # fmt: skip
        name = StudyConfig(task="math", language="en", out_dir=tmp_path / "runs", model="openai/fake", n=3, limit=6,
                           chain_of_thought=[False], max_demos=1).study_name  # fmt: skip
        env = {**os.environ, "DSPY_CACHEDIR": str(tmp_path / "dspy-cache")}
        job = subprocess.Popen(
            command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True, env=env
        )
        deadline = time.time() + 120
        completed = 0
        while time.time() < deadline and completed < 2:
            time.sleep(0.3)
            try:
                study = optuna.load_study(study_name=name, storage=storage)
                completed = len(study.get_trials(states=(optuna.trial.TrialState.COMPLETE,)))
            except KeyError:
                continue
        os.killpg(job.pid, signal.SIGKILL)
        job.wait()
        study = optuna.load_study(study_name=name, storage=storage)  # a trial may have finished since the last poll
        completed = len(study.get_trials(states=(optuna.trial.TrialState.COMPLETE,)))
        assert 2 <= completed < 5
        finished = subprocess.run(command, capture_output=True, text=True, timeout=150, env=env)
    assert finished.returncode == 0, finished.stderr[-2000:]
    assert f"continuing study {name}: {completed}" in " ".join(finished.stderr.split())
    study = optuna.load_study(study_name=name, storage=storage)
    assert len(study.get_trials(states=(optuna.trial.TrialState.COMPLETE,))) == 5
    assert "best trial" in finished.stdout


def test_the_trial_a_kill_cut_is_queued_again_with_its_parameters(tmp_path):
    with FakeModelServer(responder=math_responder) as server:
        runner = FusorStudy(study_config(server, tmp_path, trials=2))
        study = runner.run()
        cut = {"temperature": 0.8, "n": 2, "chain_of_thought": False, "demos": 0, "optimizer": "bootstrap",
               "fusor_model": "openai/fake"}  # fmt: skip
        study.enqueue_trial(cut)
        study.ask()  # taken by a process that is then killed: left RUNNING in the storage
        reopened = FusorStudy(study_config(server, tmp_path, trials=3)).study()
        [failed] = reopened.get_trials(states=(optuna.trial.TrialState.FAIL,))
        [waiting] = reopened.get_trials(states=(optuna.trial.TrialState.WAITING,))
        assert waiting.user_attrs["retry_of"] == failed.number
        runner = FusorStudy(study_config(server, tmp_path, trials=3))
        opened = runner.study()  # as `optimize` does, to count the trials done before its progress bar starts
        study = runner.run(study=opened)  # continued as opened, not loaded (and its stale trials checked) again
    assert study is opened
    retried = study.trials[waiting.number]
    assert retried.state == optuna.trial.TrialState.COMPLETE and retried.params == cut


def test_compile_and_evaluate_the_fusor_alone(tmp_path):
    with FakeModelServer(responder=math_responder) as server:
        runner = FusorStudy(study_config(server, tmp_path))
        data = runner.splits(0.8, 3)
        program = runner.fusor(False, "openai/fake")
        assert "candidates" in data.train[0].inputs()
        dspy.cache.reset_memory_cache()
        before, usage = evaluate(program, data.val, runner.task.metric, threads=1)
        assert usage.lm_calls >= len(data.val) and usage.prompt_tokens > 0
        compiled = compile_fusor(program, "bootstrap", runner.task.metric, data.train, data.val, max_demos=1)
        assert program.fuser.predict.demos == []
        assert len(compiled.fuser.predict.demos) <= 1
        assert 0.0 <= before <= 1.0
        assert {len(s) for s in (split(data.train + data.val + data.test, seed=1).train,)} == {2}


def test_bad_study_settings_name_the_fix(tmp_path):
    from fusion_dspy.errors import ConfigurationError

    with FakeModelServer() as server:
        with pytest.raises(ConfigurationError, match="unknown optimizer"):
            FusorStudy(study_config(server, tmp_path, optimizers=["anneal"]))
        with pytest.raises(ConfigurationError, match="--limit"):
            FusorStudy(study_config(server, tmp_path, limit=2))


def test_first_k_is_a_knob_of_the_study(tmp_path):
    with FakeModelServer(responder=math_responder) as server:
        runner = FusorStudy(study_config(server, tmp_path, first_k=True, trials=2))
        study = runner.run()
        result = runner.finish(study, FusorRegistry(tmp_path / "registry"))
    for trial in study.trials:
        assert "k" in trial.params and 1 <= trial.user_attrs["k"] <= trial.params["n"]
    [entry] = json.loads((tmp_path / "registry" / "manifest.json").read_text())["entries"]
    assert entry["k"] == study.best_trial.user_attrs["k"] and result.trials_completed == 2


def test_fusor_examples_replay_first_k_by_latency(tmp_path):
    from fusion_dspy.candidates import Candidate, CandidatePool
    from fusion_dspy.eval.store import PoolRecord
    from fusion_dspy.jsonl import JsonlLog
    from fusion_dspy.optimizers.fusor_data import fusor_examples
    from fusion_dspy.programs import task_by_name

    task = task_by_name("math")()
    pools = JsonlLog(tmp_path / "pools.jsonl", PoolRecord)
    latencies = [0.9, 0.1, 0.5, 0.3]
    candidates = [Candidate(index=i, outputs={"answer": f"a{i}"}, latency_s=t) for i, t in enumerate(latencies)]
    pools.append(PoolRecord(id="x", pool=CandidatePool(candidates=candidates)))
    example = dspy.Example(id="x", question="q?", reference="1").with_inputs("question")
    [full] = fusor_examples(task, [example], pools, n=4)
    [first] = fusor_examples(task, [example], pools, n=4, k=2)
    assert all(f"a{i}" in full.candidates for i in range(4))
    assert "a1" in first.candidates and "a3" in first.candidates
    assert "a0" not in first.candidates and "a2" not in first.candidates
