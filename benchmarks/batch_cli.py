"""`fusion-dspy run --input` on a batch: wall time against the physical limit of the server.

64 prompts x n=5 (+1 fusor call each) at `--concurrency 32` against a server with 32 slots and a fixed
latency: no schedule can beat ceil(64 * 6 / 32) * latency. The command runs in this process (imports
excluded, as in a long batch), the server in its own.
"""

from __future__ import annotations

import json
import math
import tempfile
import time
from pathlib import Path
from typing import Any

from fusion_dspy.testing import ServerProcess


def run_batch(latency: float = 0.25, n: int = 5, prompts: int = 64, concurrency: int = 32) -> dict[str, Any]:
    import litellm  # noqa: F401 - imported by the command on first use; imports are not what is measured
    from typer.testing import CliRunner

    from fusion_dspy.cli.main import app

    with (
        tempfile.TemporaryDirectory() as tmp,
        ServerProcess(
            latency_s=latency,
            max_concurrency=concurrency,
            distinct=True,  # candidates differ, so every prompt is fused
        ) as server,
    ):
        source, output = Path(tmp) / "prompts.jsonl", Path(tmp) / "out.jsonl"
        stamp = time.time_ns()  # fresh prompts: no cache hits
        rows = (json.dumps({"id": f"p{i}", "prompt": f"Batch prompt {i} ({stamp})"}) for i in range(prompts))
        source.write_text("\n".join(rows) + "\n")
        args = ["run", "-i", str(source), "-o", str(output), "-n", str(n), "--concurrency", str(concurrency),
                "--model", "openai/fake", "--api-base", server.base_url]  # fmt: skip
        start = time.perf_counter()
        result = CliRunner().invoke(app, args)
        wall = time.perf_counter() - start
        if result.exit_code != 0:
            raise RuntimeError(f"fusion-dspy run failed: {result.output[-2000:]}")
        written = len(output.read_text().splitlines())
        requests = server.stats()["requests"]
    limit = math.ceil(prompts * (n + 1) / concurrency) * latency
    return {"run_batch_wall_s": wall, "run_batch_limit_s": limit, "run_batch_ratio": wall / limit,
            "run_batch_rows": written, "run_batch_requests": requests}  # fmt: skip


if __name__ == "__main__":
    print(run_batch())
