from rich.console import Console

from fusion_dspy.candidates import Candidate
from fusion_dspy.cli.display import show_record
from fusion_dspy.outcome import Answer, Outcome
from fusion_dspy.usage import TokenUsage


def test_every_candidate_status_is_shown_on_one_line():
    record = Outcome(
        id="1",
        prompt="q",
        candidates=[
            Candidate(
                index=0, outputs={"response": "fresh"}, source="m", usage=TokenUsage(completion_tokens=5, lm_calls=1)
            ),
            Candidate(index=1, outputs={"response": "from the cache"}, source="m"),
            Candidate(index=2, source="m", status="cut"),
            Candidate(index=3, source="m", error="LMRateLimitError: [m] rate limited\n  To fix:\n    - wait"),
        ],
        fused=Answer(response="fused", method="fused"),
    )
    console = Console(record=True, width=200)
    show_record(console, record)
    text = console.export_text()
    assert "[1] m · 0.0 s · 5 tokens" in text and "[2] m · 0.0 s · cached" in text
    assert "[3] m · 0.0 s · 0 tokens · cut: enough candidates had answered" in text
    assert "[4] m · 0.0 s · 0 tokens · FAILED: m rate-limited the calls" in text and "To fix" not in text
