from fusion_dspy.arrival import stop_now, stop_time


def test_live_rule():
    assert stop_now(3, 0.1, k=3, deadline_s=None) == "k"
    assert stop_now(2, 0.1, k=3, deadline_s=None) is None
    assert stop_now(1, 1.0, k=3, deadline_s=1.0) == "deadline"
    assert stop_now(0, 5.0, k=3, deadline_s=1.0) is None  # nothing to fall back to yet
    assert stop_now(5, 9.0, k=None, deadline_s=None) is None


def test_replay_rule_matches_the_live_one():
    arrivals = [(0.3, True), (0.1, False), (0.2, True), (2.0, True)]
    assert stop_time(arrivals, k=2, deadline_s=None) == (0.3, "k")
    assert stop_time(arrivals, k=3, deadline_s=None) == (2.0, None)
    assert stop_time(arrivals, k=3, deadline_s=1.0) == (1.0, "deadline")
    assert stop_time(arrivals, k=2, deadline_s=0.25) == (0.25, "deadline")
    assert stop_time([(0.5, False), (1.5, True), (3.0, True)], k=None, deadline_s=1.0) == (1.5, "deadline")
    assert stop_time([(0.5, False), (0.7, False)], k=1, deadline_s=0.1) == (0.7, None)
    assert stop_time([], k=1, deadline_s=None) == (0.0, None)
