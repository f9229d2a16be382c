"""The same synthetic-data pipeline on a local Ray instance (Ray Data map_batches)."""

import asyncio
import json

import pytest

from fusion_dspy.synth import checkpoint, export, load_prompts, pending, run_job
from fusion_dspy.testing import FakeModelServer
from tests.synth.test_job import config_for, write_prompts

ray = pytest.importorskip("ray", reason="the distributed path needs the ray extra: pip install 'fusion-dspy[ray]'")

# Bounded, with room for a loaded machine: starting Ray and its actor took 206 s beside two model jobs on 2 cores
# (2026-12-08) and over 240 s with a third job, where 240 s failed the fresh-clone run.
pytestmark = pytest.mark.timeout(600)


@pytest.fixture
def local_ray():
    ray.init(num_cpus=2, include_dashboard=False, ignore_reinit_error=True, log_to_driver=False)
    yield
    ray.shutdown()


def test_ray_data_run_continues_a_checkpoint_and_writes_every_row_once(local_ray, tmp_path):
    from fusion_dspy.synth.distributed import run_on_ray

    write_prompts(tmp_path / "prompts.jsonl", 10)
    with FakeModelServer(latency_s=0.01, failing_models=("broken",)) as server:
        config = config_for(server, tmp_path)
        prompts = load_prompts(config.prompts)
        asyncio.run(run_job(config, prompts[:4]))
        done = run_on_ray(config, pending(prompts, checkpoint(config.out_dir)), batch_size=3, workers=1)
        stats = export(config, prompts, done)
    assert stats.rows == 10 and stats.teachers["openai/broken"].failures == 10
    lines = [json.loads(line)["id"] for line in (tmp_path / "out" / "checkpoint.jsonl").read_text().splitlines()]
    assert sorted(lines) == sorted(p.id for p in prompts)
