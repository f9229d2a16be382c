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
from fusion_dspy.testing.server import FakeModelServer, FaultPlan, ServerStats

__all__ = [
    "CallRecord",
    "FailingLM",
    "FakeModelServer",
    "FaultPlan",
    "ScriptedLM",
    "ServerStats",
    "SlowLM",
    "by_substring",
    "format_fields",
    "prompt_text",
]
