"""Run a FakeModelServer in its own process, as a real model server would be.

In-process, the server's threads compete with the client for the GIL, which inflates what a benchmark
attributes to the client. `with ServerProcess(latency_s=0.25, max_concurrency=32) as server:` starts
`python -m fusion_dspy.testing ...`; `server.stats()` asks it what it saw.

    python -m fusion_dspy.testing --latency 0.25 --max-concurrency 32   # prints the base URL
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import time
from typing import Any

import httpx

from fusion_dspy.testing.latency import LognormalLatency
from fusion_dspy.testing.server import FakeModelServer, dspy_fields_responder, numbered_fields_responder


class ServerProcess:
    """A FakeModelServer (fixed or lognormal latency, optional slot limit, optionally numbered answers) in a child
    process."""

    def __init__(
        self, latency_s: float | LognormalLatency = 0.0, max_concurrency: int | None = None, distinct: bool = False
    ) -> None:
        flags = _flags(latency_s, max_concurrency) + (["--distinct"] if distinct else [])
        self.command = [sys.executable, "-m", "fusion_dspy.testing", *flags]
        self.base_url = ""
        self._process: subprocess.Popen[str] | None = None

    def __enter__(self) -> ServerProcess:
        self._process = subprocess.Popen(self.command, stdout=subprocess.PIPE, text=True)
        assert self._process.stdout is not None
        line = self._process.stdout.readline().strip()  # the base URL, or EOF if the child died
        if not line.startswith("http"):
            self.__exit__()
            raise RuntimeError(f"the fake model server did not start: {line!r}")
        self.base_url = line
        return self

    def __exit__(self, *exc: object) -> None:
        if self._process is not None:
            self._process.terminate()
            self._process.wait(timeout=10)
            self._process = None

    def stats(self) -> dict[str, Any]:
        """The server's `ServerStats` as a dict (requests, outcomes, peak in flight, cancelled, latencies...)."""
        reply = httpx.get(f"{self.base_url}/stats", timeout=10)
        reply.raise_for_status()
        result: dict[str, Any] = reply.json()
        return result


def _flags(latency_s: float | LognormalLatency, max_concurrency: int | None) -> list[str]:
    if isinstance(latency_s, LognormalLatency):
        flags = ["--median", str(latency_s.median_s), "--p99", str(latency_s.p99_s), "--seed", str(latency_s.seed)]
    else:
        flags = ["--latency", str(latency_s)]
    return flags + (["--max-concurrency", str(max_concurrency)] if max_concurrency else [])


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--latency", type=float, default=0.0, help="fixed seconds per answer")
    parser.add_argument("--median", type=float, help="lognormal latency: median seconds (with --p99)")
    parser.add_argument("--p99", type=float, help="lognormal latency: 99th percentile seconds")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--max-concurrency", type=int, default=None, help="server slots (default: unlimited)")
    parser.add_argument("--distinct", action="store_true", help="number every answer, so candidates differ")
    args = parser.parse_args(argv)
    latency: float | LognormalLatency = args.latency
    if args.median is not None:
        latency = LognormalLatency(median_s=args.median, p99_s=args.p99 or args.median, seed=args.seed)
    responder = numbered_fields_responder() if args.distinct else dspy_fields_responder
    with FakeModelServer(latency_s=latency, max_concurrency=args.max_concurrency, responder=responder) as server:
        print(server.base_url, flush=True)
        try:
            while True:
                time.sleep(3600)
        except KeyboardInterrupt:
            pass
