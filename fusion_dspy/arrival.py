"""When to stop waiting for candidates: after the first `k` answers, or at a deadline (first-k / deadline).

One rule serves a live source (cancel the calls still running) and a stored pool (replay by recorded latency):
stop as soon as `k` candidates have answered, or once the deadline has passed and at least one has answered
(with none by then, the first answer ends the wait: there is nothing else to fall back to). Failed calls count
as arrived but not as answers. With neither `k` nor a deadline, every call is awaited.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Literal

Reason = Literal["k", "deadline", "stop_when"]  # stop_when: a source's own rule, e.g. BestOfN's threshold


def stop_now(answered: int, elapsed_s: float, k: int | None, deadline_s: float | None) -> Reason | None:
    """Why a live source should stop waiting now (None: keep waiting), given how many have answered so far."""
    if k is not None and answered >= k:
        return "k"
    if deadline_s is not None and elapsed_s >= deadline_s and answered >= 1:
        return "deadline"
    return None


def stop_time(
    arrivals: Sequence[tuple[float, bool]], k: int | None, deadline_s: float | None
) -> tuple[float, Reason | None]:
    """Replay: the moment a source would have stopped, given (latency, answered) per call; reason None when
    every call had arrived by then (nothing would have been cut)."""
    if not arrivals:
        return 0.0, None
    last = max(t for t, _ in arrivals)
    answers = sorted(t for t, ok in arrivals if ok)
    stops: list[tuple[float, Reason]] = []
    if k is not None and len(answers) >= k:
        stops.append((answers[k - 1], "k"))
    if deadline_s is not None and answers:
        stops.append((max(deadline_s, answers[0]), "deadline"))
    if not stops:
        return last, None
    stop, reason = min(stops, key=lambda s: (s[0], s[1] != "k"))
    return (stop, reason) if last > stop else (last, None)
