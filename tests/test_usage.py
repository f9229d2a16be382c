from fusion_dspy.usage import TokenUsage


def test_tracker_entries_sum_with_the_servers_cached_prompt_tokens():
    data = {
        "openai/local": [
            {"prompt_tokens": 200, "completion_tokens": 5, "prompt_tokens_details": {"cached_tokens": 150}},
            {"prompt_tokens": 100, "completion_tokens": 2, "prompt_tokens_details": None},
        ],
        "openai/other": [{"prompt_tokens": 10, "completion_tokens": 1}],
    }
    usage = TokenUsage.from_tracker(data)
    assert usage == TokenUsage(prompt_tokens=310, completion_tokens=8, lm_calls=3, cached_prompt_tokens=150)
    assert TokenUsage.model_validate({"prompt_tokens": 3}).cached_prompt_tokens == 0  # stored rows still read
