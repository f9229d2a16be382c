"""Test doubles for fusion-dspy and for your own tests: scripted LMs and a fault-injecting model server."""

from fusion_dspy.testing.fakes import (
    CallRecord,
    FailingLM,
    ScriptedLM,
    SlowLM,
    by_substring,
    format_fields,
    prompt_text,
)
from fusion_dspy.testing.latency import LognormalLatency
from fusion_dspy.testing.serve import ServerProcess
from fusion_dspy.testing.server import FakeModelServer, FaultPlan, ServerStats

__all__ = [
    "CallRecord",
    "FailingLM",
    "FakeModelServer",
    "FaultPlan",
    "LognormalLatency",
    "ScriptedLM",
    "ServerProcess",
    "ServerStats",
    "SlowLM",
    "by_substring",
    "format_fields",
    "prompt_text",
]
