"""The synthetic-data job against a real HTTP server: rows, provenance, a dead teacher, export, kill -9 and resume."""

import asyncio
import json
import os
import signal
import subprocess
import sys
import time

import datasets
import pytest

from fusion_dspy.synth import SynthConfig, checkpoint, export, load_prompts, run_job
from fusion_dspy.testing import FakeModelServer


def write_prompts(path, count):
    """Prompts unique to this test (the LM cache is shared by the whole test session)."""
    tag = path.parent.name
    rows = [json.dumps({"id": f"p{i}", "prompt": f"Question number {i}? ({tag})"}) for i in range(count)]
    path.write_text("\n".join(rows) + "\n")
    return path


def config_for(server, tmp_path, **overrides):
    values = {
        "prompts": str(tmp_path / "prompts.jsonl"), "out_dir": tmp_path / "out",
        "teachers": ["openai/alpha", "openai/beta", "openai/broken"], "fusor": "openai/alpha",
        "api_base": server.base_url, "retries": 0, "concurrency": 4,
    }  # fmt: skip
    return SynthConfig(**{**values, **overrides})


def test_rows_have_provenance_and_a_dead_teacher_only_degrades_the_pool(tmp_path):
    write_prompts(tmp_path / "prompts.jsonl", 6)
    with FakeModelServer(latency_s=0.01, failing_models=("broken",)) as server:
        config = config_for(server, tmp_path, bon="mbr")
        prompts = load_prompts(config.prompts)
        done = asyncio.run(run_job(config, prompts))
        stats = export(config, prompts, done)
    assert stats.rows == 6 and stats.failed_rows == 0
    assert stats.teachers["openai/broken"].failures == 6 and stats.teachers["openai/alpha"].failures == 0
    saved = json.loads((tmp_path / "out" / "stats.json").read_text())
    assert saved["teachers"]["openai/broken"]["failures"] == 6
    row = done.rows["p0"]
    assert [c.source for c in row.candidates] == ["openai/alpha", "openai/beta", "openai/broken"]
    assert (
        row.fused is not None
        and row.selected is not None
        and row.selected.chosen_source in {"openai/alpha", "openai/beta"}
    )

    fused = datasets.load_dataset("json", data_files=str(tmp_path / "out" / "fused.jsonl"), split="train")
    assert fused.num_rows == 6 and sorted(fused["id"]) == [f"p{i}" for i in range(6)]
    assert fused[0]["messages"][0] == {"role": "user", "content": f"Question number 0? ({tmp_path.name})"}
    assert fused[0]["messages"][1]["role"] == "assistant"
    bon = datasets.load_dataset("json", data_files=str(tmp_path / "out" / "bon.jsonl"), split="train")
    assert bon.num_rows == 6
    table = datasets.load_from_disk(str(tmp_path / "out" / "dataset"))
    assert table.num_rows == 6 and table[0]["teachers"] == ["openai/alpha", "openai/beta", "openai/broken"]
    assert table[0]["candidate_errors"][2]
    assert table[0]["fused_path"] == "skipped", "both live teachers said the same, so the fusor was not called"
    assert table[0]["fused_new_share"] == 0.0 and table[0]["fused_support"] == [1.0, 1.0, None]


def test_failed_rows_are_retried_on_the_next_run(tmp_path):
    write_prompts(tmp_path / "prompts.jsonl", 3)
    with FakeModelServer(failing_models=("alpha", "beta", "broken")) as down:
        config = config_for(down, tmp_path)
        prompts = load_prompts(config.prompts)
        done = asyncio.run(run_job(config, prompts))
        assert export(config, prompts, done).failed_rows == 3
    with FakeModelServer() as up:
        config = config_for(up, tmp_path)
        done = asyncio.run(run_job(config, prompts))
        stats = export(config, prompts, done)
    assert stats.rows == 3 and stats.failed_rows == 0
    assert len(checkpoint(config.out_dir).rows) == 3


@pytest.mark.timeout(900)  # two cold starts of python + dspy on a loaded machine
def test_kill_minus_9_then_rerun_loses_and_repeats_nothing(tmp_path):
    prompts = write_prompts(tmp_path / "prompts.jsonl", 24)
    out = tmp_path / "out"
    with FakeModelServer(latency_s=0.15) as server:
        command = [
            sys.executable, "-m", "fusion_dspy", "synth", "--prompts", str(prompts), "--out", str(out),
            "--teachers", "openai/alpha,openai/beta", "--api-base", server.base_url, "--concurrency", "2",
        ]  # fmt: skip
        env = {**os.environ, "DSPY_CACHEDIR": str(tmp_path / "dspy-cache")}
        job = subprocess.Popen(
            command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True, env=env
        )
        ckpt = out / "checkpoint.jsonl"
        deadline = time.time() + 300  # starting python + dspy can take a minute on a loaded machine
        while time.time() < deadline and (not ckpt.exists() or ckpt.read_text().count("\n") < 5):
            time.sleep(0.05)
        os.killpg(job.pid, signal.SIGKILL)
        job.wait()
        killed_at = ckpt.read_text().count("\n")
        assert 5 <= killed_at < 24
        finished = subprocess.run(command, capture_output=True, text=True, timeout=300, env=env)
    assert finished.returncode == 0, finished.stderr[-2000:]
    assert f"resuming: {killed_at} of 24" in finished.stderr
    lines = [json.loads(line) for line in ckpt.read_text().splitlines()]
    assert sorted(r["id"] for r in lines) == sorted(f"p{i}" for i in range(24))
    fused = datasets.load_dataset("json", data_files=str(out / "fused.jsonl"), split="train")
    assert sorted(fused["id"]) == sorted(f"p{i}" for i in range(24))


def test_per_teacher_concurrency_is_enforced(tmp_path):
    write_prompts(tmp_path / "prompts.jsonl", 8)
    with FakeModelServer(latency_s=0.1) as server:
        config = config_for(server, tmp_path, teachers=["openai/alpha", "openai/beta"], fusor="openai/fusor",
                            per_teacher_concurrency=2, concurrency=8)  # fmt: skip
        asyncio.run(run_job(config, load_prompts(config.prompts)))
    assert server.stats.peak_by_model["alpha"] == 2 and server.stats.peak_by_model["beta"] == 2
