"""`fusion-dspy run --input` against a real HTTP server: prompts concurrently, rows carry ids and end in input
order, first-k from the command line, and kill -9 then rerun loses and repeats nothing."""

import itertools
import json
import os
import signal
import subprocess
import sys
import threading
import time

import pytest
from typer.testing import CliRunner

from fusion_dspy.cli import run as run_module
from fusion_dspy.cli.main import app
from fusion_dspy.testing import FakeModelServer, SlowLM
from fusion_dspy.testing.server import dspy_fields_responder
from tests.conftest import is_fusor_prompt

pytestmark = pytest.mark.timeout(120)


def write_prompts(path, count):
    tag = path.parent.name  # unique per test: the LM cache is shared by the session
    path.write_text(
        "".join(json.dumps({"id": f"p{i}", "prompt": f"Question {i}? ({tag})"}) + "\n" for i in range(count))
    )
    return path


def run_args(server, prompts, out, *extra):
    return ["run", "-i", str(prompts), "-o", str(out), "--model", "openai/fake", "--api-base", server.base_url, *extra]


def drafts_then_fused():
    """Distinct drafts (identical ones would skip the fusor), and "fused" from the fusor."""
    numbers = itertools.count()
    return lambda p: {"response": "fused" if is_fusor_prompt(p) else f"draft {next(numbers)}"}


def test_prompts_run_concurrently_within_the_bound_and_rows_end_in_input_order(tmp_path, monkeypatch):
    lm = SlowLM(drafts_then_fused(), delay_s=0.1)
    monkeypatch.setattr(run_module, "resolve_lm", lambda spec=None, **kw: lm)
    prompts = write_prompts(tmp_path / "prompts.jsonl", 12)
    out = tmp_path / "out.jsonl"
    result = CliRunner().invoke(app, ["run", "-i", str(prompts), "-o", str(out), "-n", "2", "--concurrency", "3"])
    assert result.exit_code == 0, result.output
    samples = [c for c in lm.calls if not is_fusor_prompt(c.prompt)]
    assert 2 < overlap(samples) <= 3 * 2  # several prompts at once, never more than 3 being sampled
    fusors = [c for c in lm.calls if is_fusor_prompt(c.prompt)]
    assert any(f.start < c.end and c.start < f.end for f in fusors for c in samples)  # fusing overlaps sampling
    rows = [json.loads(line) for line in out.read_text().splitlines()]
    assert [r["id"] for r in rows] == [f"p{i}" for i in range(12)]
    assert all(r["fused"]["response"] == "fused" and r["prompt"].startswith(f"Question {r['id'][1:]}?") for r in rows)


def overlap(calls) -> int:
    events = sorted([(c.start, 1) for c in calls] + [(c.end, -1) for c in calls], key=lambda e: (e[0], e[1]))
    running = peak = 0
    for _, step in events:
        running += step
        peak = max(peak, running)
    return peak


def test_call_concurrency_bounds_candidate_calls_across_the_batch(tmp_path, monkeypatch):
    lm = SlowLM(drafts_then_fused(), delay_s=0.05)
    monkeypatch.setattr(run_module, "resolve_lm", lambda spec=None, **kw: lm)
    prompts = write_prompts(tmp_path / "prompts.jsonl", 6)
    args = ["run", "-i", str(prompts), "-n", "3", "--concurrency", "6", "--call-concurrency", "4"]
    assert CliRunner().invoke(app, args).exit_code == 0
    assert overlap([c for c in lm.calls if not is_fusor_prompt(c.prompt)]) == 4


def test_stdout_rows_carry_their_prompt_id(tmp_path):
    prompts = write_prompts(tmp_path / "prompts.jsonl", 5)
    with FakeModelServer(latency_s=0.05) as server:
        result = CliRunner().invoke(app, ["run", "-i", str(prompts), "-n", "1", "--model", "openai/fake",
                                          "--api-base", server.base_url, "--concurrency", "5"])  # fmt: skip
    assert result.exit_code == 0, result.output
    rows = [json.loads(line) for line in result.stdout.splitlines() if line.startswith("{")]
    assert sorted(r["id"] for r in rows) == [f"p{i}" for i in range(5)]


def test_first_k_from_the_command_line_cuts_the_stragglers(tmp_path):
    prompts = write_prompts(tmp_path / "prompts.jsonl", 1)
    out = tmp_path / "out.jsonl"
    calls = iter(range(1000))
    lock = threading.Lock()
    release = threading.Event()
    stragglers_answered: list[int] = []

    def slow_after_two(messages):
        with lock:
            number = next(calls)
        is_sample = "<candidate 1>" not in str(messages)
        if is_sample and number >= 2:
            release.wait(timeout=60)  # held until the answer is out: it cannot have waited for these
            stragglers_answered.append(number)
        return dspy_fields_responder(messages)

    with FakeModelServer(latency_s=0.01, responder=slow_after_two) as server:
        result = CliRunner().invoke(app, run_args(server, prompts, out, "-n", "4", "--first-k", "2"))
        assert stragglers_answered == []  # the fused answer was written while both stragglers were still held
        release.set()
    assert result.exit_code == 0, result.output
    [row] = [json.loads(line) for line in out.read_text().splitlines()]
    assert sorted(c["status"] for c in row["candidates"]) == ["cut", "cut", "ok", "ok"]


@pytest.mark.timeout(900)  # two cold starts of python + dspy on a loaded machine
def test_kill_minus_9_then_rerun_loses_and_repeats_nothing(tmp_path):
    prompts = write_prompts(tmp_path / "prompts.jsonl", 40)
    out = tmp_path / "out.jsonl"
    asked: list[str] = []
    lock = threading.Lock()

    def recording(messages):
        text = str(messages[-1].get("content", ""))
        if "<candidate 1>" not in text:
            with lock:
                asked.append(text)
        return dspy_fields_responder(messages)

    def command(server):
        return [sys.executable, "-m", "fusion_dspy", *run_args(server, prompts, out, "-n", "2", "--concurrency", "4")]

    with FakeModelServer(latency_s=0.3, responder=recording) as server:  # slow enough for the kill to land
        env = {**os.environ, "DSPY_CACHEDIR": str(tmp_path / "cache-1")}
        job = subprocess.Popen(
            command(server), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True, env=env
        )
        deadline = time.time() + 300  # starting python + dspy can take a minute on a loaded machine
        while time.time() < deadline and (not out.exists() or out.read_text().count("\n") < 8):
            time.sleep(0.02)
        os.killpg(job.pid, signal.SIGKILL)
        job.wait()
        killed = [json.loads(line) for line in out.read_text().splitlines() if line.endswith("}")]
        done_before = {r["id"] for r in killed}
        assert 8 <= len(done_before) < 40
        with lock:
            asked.clear()
        env = {**os.environ, "DSPY_CACHEDIR": str(tmp_path / "cache-2")}  # a fresh cache: repeats would show
        finished = subprocess.run(command(server), capture_output=True, text=True, timeout=300, env=env)
    assert finished.returncode == 0, finished.stderr[-2000:]
    assert f"resuming: {len(done_before)} of 40" in finished.stderr
    rows = [json.loads(line) for line in out.read_text().splitlines()]
    assert [r["id"] for r in rows] == [f"p{i}" for i in range(40)]
    rerun_prompts = {f"p{i}" for i in range(40) if any(f"Question {i}? (" in text for text in asked)}
    assert rerun_prompts == {f"p{i}" for i in range(40)} - done_before
    assert len(asked) == 2 * (40 - len(done_before))
