"""The embedded server's settings: how many CPU threads a local model job takes."""

import os

from fusion_dspy.lm.server import ServerSettings, base_params, local_threads


def test_local_threads_come_from_the_environment_else_every_core(monkeypatch):
    monkeypatch.delenv("FUSION_DSPY_LOCAL_THREADS", raising=False)
    assert local_threads() == (os.cpu_count() or 1)
    monkeypatch.setenv("FUSION_DSPY_LOCAL_THREADS", "1")
    assert local_threads() == 1
    assert local_threads(ServerSettings(threads=3)) == 3  # explicit settings win over the environment


def test_the_server_runs_generation_and_prompt_batches_on_those_threads():
    params = base_params("model.gguf", ServerSettings(threads=1))
    assert params.cpuparams.n_threads == 1 and params.cpuparams_batch.n_threads == 1
