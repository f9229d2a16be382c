import dspy
import pytest

from fusion_dspy.errors import ConfigurationError
from fusion_dspy.lm.resolve import greedy, lm_context, resolve_lm
from fusion_dspy.testing import ScriptedLM


def test_lm_objects_pass_through_and_configured_lm_is_the_default(monkeypatch):
    monkeypatch.delenv("FUSION_DSPY_MODEL", raising=False)
    lm = ScriptedLM("x")
    assert resolve_lm(lm) is lm
    with dspy.context(lm=lm):
        assert resolve_lm(None) is lm
        assert lm_context(None) == {}


def test_litellm_model_strings_resolve_without_calls():
    lm = resolve_lm("openai/gpt-4o-mini", temperature=0.1)
    assert lm.model == "openai/gpt-4o-mini"
    assert lm.kwargs["temperature"] == 0.1


def test_openai_compatible_base_url(monkeypatch):
    monkeypatch.delenv("OPENAI_API_KEY", raising=False)
    lm = resolve_lm("openai/served", api_base="http://127.0.0.1:8000/v1")
    assert lm.kwargs["api_base"] == "http://127.0.0.1:8000/v1"


def test_environment_selects_the_default_model(monkeypatch):
    monkeypatch.setenv("FUSION_DSPY_MODEL", "openai/from-env")
    assert resolve_lm(None).model == "openai/from-env"


@pytest.mark.parametrize("bad", ["nonexistent-provider/model", "", "   "])
def test_unknown_models_name_the_accepted_forms(bad):
    with pytest.raises(ConfigurationError, match="local-small"):
        resolve_lm(bad)


def test_api_base_without_model_is_refused(monkeypatch):
    monkeypatch.delenv("FUSION_DSPY_MODEL", raising=False)
    with pytest.raises(ConfigurationError, match="--model openai/"):
        resolve_lm(None, api_base="http://127.0.0.1:8000/v1")


def test_non_string_models_are_refused():
    with pytest.raises(ConfigurationError, match="string or a dspy LM"):
        resolve_lm(42)  # type: ignore[arg-type]


def test_a_model_string_is_resolved_once_so_its_connections_are_shared():
    """Issue 10.13: a string LM was resolved (a new LM, new connection pools) on every call."""
    assert resolve_lm("openai/gpt-4o-mini") is resolve_lm("openai/gpt-4o-mini")
    assert lm_context("openai/gpt-4o-mini")["lm"] is lm_context("openai/gpt-4o-mini")["lm"]
    assert resolve_lm("openai/gpt-4o-mini", temperature=0.1) is not resolve_lm("openai/gpt-4o-mini")


def test_the_lm_in_context_beats_the_environments_default_model(monkeypatch):
    monkeypatch.setenv("FUSION_DSPY_MODEL", "openai/from-env")
    lm = ScriptedLM("x")
    with dspy.context(lm=lm):
        assert resolve_lm(None) is lm


def test_the_embedded_models_stop_at_the_end_marker():
    from fusion_dspy.lm.embedded import local_options
    from fusion_dspy.markers import END_MARKERS, strip_markers

    options = local_options(max_tokens=32)
    assert options["stop"] == list(END_MARKERS) and options["max_tokens"] == 32
    assert all(strip_markers(f"Mars {marker}") == "Mars" for marker in END_MARKERS)


def test_a_changed_api_key_is_seen_by_the_next_resolution(monkeypatch):
    """Issue 26.10: the once-per-process cache kept the LM made with the first key."""
    from fusion_dspy.testing import FakeModelServer

    qa = dspy.Predict("question -> answer")
    with FakeModelServer(api_keys={"good-key"}) as server:
        monkeypatch.setenv("OPENAI_API_KEY", "stale-key")
        stale = resolve_lm("openai/fake", api_base=server.base_url, num_retries=0, cache=False)
        with dspy.context(lm=stale), pytest.raises(Exception, match=r"(?i)api key"):
            qa(question="q")
        monkeypatch.setenv("OPENAI_API_KEY", "good-key")
        with dspy.context(lm=resolve_lm("openai/fake", api_base=server.base_url, num_retries=0, cache=False)):
            assert qa(question="q").answer


def test_an_embedded_model_with_an_adapter_is_a_model_string(tmp_path):
    """`local-small@adapter.gguf`: what `optimize --optimizer finetune` writes, usable wherever a model is named (the
    map's --fusors, eval's --fusor-model); a missing adapter is refused naming the fix."""
    from fusion_dspy.lm.names import check_model_name, is_tuned
    from fusion_dspy.map.cost import ADAPTER_SLOWDOWN, ModelSpeed, speed_of

    spec = f"local-small@{tmp_path}/adapter.gguf"
    assert is_tuned(spec) and not is_tuned("local-small@adapter.bin") and not is_tuned("vertex_ai/claude@2024")
    check_model_name(spec, "forms")  # passes the early name check
    with pytest.raises(ConfigurationError, match=r"no LoRA adapter at .*optimize --optimizer finetune"):
        resolve_lm(spec)
    speeds = {"openai/local-small": ModelSpeed(prompt=100.0, generation=20.0)}
    tuned = speed_of(speeds, "openai/local-small+adapter-1a2b3c4d")  # its base's, slowed by serving the adapter
    assert tuned == ModelSpeed(prompt=100.0 / ADAPTER_SLOWDOWN, generation=20.0 / ADAPTER_SLOWDOWN)
    assert ADAPTER_SLOWDOWN > 1 and speed_of(speeds, "openai/local-small") == speeds["openai/local-small"]
    assert speed_of(speeds, "openai/other") is None and speed_of(speeds, "openai/other+adapter-1a2b3c4d") is None


def test_the_adapter_slowdown_is_the_one_the_benchmark_measured():
    """`ADAPTER_SLOWDOWN` is copied from `benchmarks/results.json` (the package does not read benchmarks/): a rerun
    of `benchmarks/lora_step.py --write` that measures another one must update it."""
    import json
    from pathlib import Path

    from fusion_dspy.map.cost import ADAPTER_SLOWDOWN

    results = json.loads((Path(__file__).parents[2] / "benchmarks" / "results.json").read_text())
    measured = max(results["lora_served_prompt_slowdown"], results["lora_served_decode_slowdown"])
    assert measured == ADAPTER_SLOWDOWN, f"set fusion_dspy.map.cost.ADAPTER_SLOWDOWN to {measured}"


def test_greedy_is_temperature_0_except_for_models_that_take_only_their_own():
    assert greedy(dspy.LM("openai/gpt-4o-mini", temperature=0.7)).kwargs["temperature"] == 0.0
    assert greedy(resolve_lm("local-small")).kwargs["temperature"] == 0.0
    reasoning = dspy.LM("openai/gpt-5-mini", temperature=1.0, max_tokens=16000)
    kept = greedy(reasoning)
    assert kept is not reasoning and kept.kwargs["temperature"] == 1.0  # OpenAI refuses any other
