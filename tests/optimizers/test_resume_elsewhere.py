"""A study killed mid-trial continues on another machine (empty DSPy cache) from its response log: the rerun asks
the model only for what the killed run had not received (issue 13: real studies outlive a session)."""

import json
import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import optuna
import pytest

from fusion_dspy.testing import FakeModelServer
from fusion_dspy.testing.server import dspy_fields_responder
from tests.optimizers.test_study import math_responder


def mipro_responder(messages):
    """The fusor answers the math problem; MIPROv2's proposer gets every field it asks for."""
    return (
        math_responder(messages) if "<candidate 1>" in str(messages[-1]["content"]) else dspy_fields_responder(messages)
    )


def command(server: FakeModelServer, out: Path) -> list[str]:
    return [
        sys.executable, "-m", "fusion_dspy", "optimize", "--task", "math", "--lang", "en", "--trials", "1",
        "--storage", f"sqlite:///{out}/studies.db", "--model", "openai/fake", "--api-base", server.base_url, "-n", "3",
        "--limit", "10", "--cot", "off", "--max-demos", "1", "--optimizer", "mipro", "--optimizer-budget", "12",
        "--out", str(out / "runs"), "--no-register",
    ]  # fmt: skip


def run(server: FakeModelServer, out: Path, cache: Path) -> tuple[int, str]:
    """Requests the server saw for one complete run, and its closing line."""
    before = server.stats.requests
    env = {**os.environ, "DSPY_CACHEDIR": str(cache)}
    done = subprocess.run(command(server, out), capture_output=True, text=True, timeout=200, env=env)
    assert done.returncode == 0, done.stderr[-2000:]
    result = " ".join(done.stdout.split())
    return server.stats.requests - before, re.sub(
        r"best trial \d+", "best trial", result[result.index("best trial") : result.index("study report")]
    )


@pytest.mark.timeout(400)
def test_a_killed_mipro_trial_continues_on_a_machine_with_an_empty_cache(tmp_path):
    with FakeModelServer(latency_s=0.05, responder=mipro_responder) as server:
        full, full_result = run(server, tmp_path / "uninterrupted", tmp_path / "cache-0")
        logged = len((tmp_path / "uninterrupted" / "runs" / "responses.jsonl").read_text().splitlines())
        out = tmp_path / "killed"
        log = out / "runs" / "responses.jsonl"
        env = {**os.environ, "DSPY_CACHEDIR": str(tmp_path / "cache-1")}
        before = server.stats.requests
        job = subprocess.Popen(command(server, out), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                               start_new_session=True, env=env)  # fmt: skip
        deadline = time.time() + 120
        while time.time() < deadline and (not log.exists() or len(log.read_text().splitlines()) < logged // 2):
            time.sleep(0.05)
        os.killpg(job.pid, signal.SIGKILL)
        job.wait()
        killed = server.stats.requests - before
        assert 0 < killed < full
        rest, result = run(server, out, tmp_path / "cache-2")  # another machine: DSPy's cache is empty
    study = optuna.load_study(study_name=optuna.get_all_study_names(f"sqlite:///{out}/studies.db")[0],
                              storage=f"sqlite:///{out}/studies.db")  # fmt: skip
    assert [t.state for t in study.trials] == [optuna.trial.TrialState.FAIL, optuna.trial.TrialState.COMPLETE]
    assert {json.loads(line)["run"] for line in log.read_text().splitlines()} == {study.study_name}
    assert rest <= full - killed + 4  # only what the killed run had not received (4 threads: 4 calls in flight)
    assert result == full_result  # the replayed calls gave the same answers: the same scores, held-out and all
