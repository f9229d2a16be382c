import itertools
from pathlib import Path

import dspy
import pytest

import fusion_dspy as fd
from fusion_dspy.registry import FusorRegistry, RegistryEntry
from fusion_dspy.routing import LanguageRouter
from fusion_dspy.testing import ScriptedLM
from tests.conftest import pool_of, sampler_then_fusor

SIG = dspy.ensure_signature("question -> answer")


def entry(language, **overrides):
    values = {"task": "factual", "language": language, "metric": "answer_list_match", "before": 0.2, "after": 0.4,
              "splits": {"train": 4, "val": 4, "test": 4}, "models": {"candidates": "local", "fusor": "local"},
              "optimizer": "bootstrap", "n": 3}  # fmt: skip
    return RegistryEntry(**{**values, **overrides})


def compiled(instructions):
    fuser = fd.Fuser(SIG)
    fuser.predict.signature = fuser.predict.signature.with_instructions(instructions)
    fuser.predict.demos = [dspy.Example(question="q", candidates="<candidate 1>\nx\n</candidate 1>", answer="x")]
    return fuser


def test_save_load_and_manifest(tmp_path):
    registry = FusorRegistry(tmp_path)
    registry.save(compiled("Fuse in Japanese."), entry("ja"))
    registry.save(compiled("Fuse in English."), entry("en", after=0.5))
    registry.save(compiled("Fuse in English, v2."), entry("en", after=0.6))
    manifest = registry.manifest()
    assert [(e.language, e.after) for e in manifest.entries] == [("en", 0.6), ("ja", 0.4)]
    assert registry.languages("factual") == ["en", "ja"]
    loaded = registry.load("factual", "en", SIG)
    assert loaded.predict.signature.instructions == "Fuse in English, v2."
    assert loaded.predict.demos[0]["answer"] == "x"
    with pytest.raises(fd.ConfigurationError, match=r"no compiled fusor.*factual/en"):
        registry.load("factual", "de", SIG)


def test_a_registry_fusor_reproduces_its_predictions_on_a_warm_cache(tmp_path):
    counter = itertools.count()
    lm = ScriptedLM(lambda prompt: {"answer": f"fused #{next(counter)}"}, cache=True)
    fuser = compiled("Registry reproduction test instructions.")
    pool = pool_of("Tokyo", "Kyoto", "Tokyo")
    with dspy.context(lm=lm):
        first = fuser.aggregate({"question": "Capital of Japan?"}, pool)
        FusorRegistry(tmp_path).save(fuser, entry("ja"))
        again = FusorRegistry(tmp_path).load("factual", "ja", SIG).aggregate({"question": "Capital of Japan?"}, pool)
    assert again.outputs == first.outputs
    assert len(lm.calls) == 1


def test_router_sends_each_input_to_its_language_fusor():
    lm = ScriptedLM({"answer": "ok"})
    router = LanguageRouter({"de": compiled("GERMAN FUSOR"), "ja": compiled("JAPANESE FUSOR")}, fd.Fuser()).bind(SIG)
    with dspy.context(lm=lm):
        router.aggregate({"question": "Wie heißt die Hauptstadt von Deutschland?"}, pool_of("Berlin"))
        router.aggregate({"question": "日本の首都はどこですか？"}, pool_of("東京"))
        router.aggregate({"question": "¿Cuál es la capital de España?"}, pool_of("Madrid"))
    prompts = [c.prompt for c in lm.calls]
    assert "GERMAN FUSOR" in prompts[0] and "JAPANESE FUSOR" in prompts[1]
    assert "GERMAN" not in prompts[2] and "JAPANESE" not in prompts[2] and "strongest, correct parts" in prompts[2]
    assert [n for n, _ in router.named_predictors()] == [
        "fusers['de'].predict",
        "fusers['ja'].predict",
        "default.predict",
    ]


def test_fusion_of_n_from_registry(tmp_path):
    registry = FusorRegistry(tmp_path)
    registry.save(compiled("Registry fusor for English."), entry("en"))
    program = fd.FusionOfN.from_registry("factual", "en", n=2, registry=registry)
    assert program.fuser.predict.signature.instructions == "Registry fusor for English."
    routed = fd.FusionOfN.from_registry("factual", n=2, registry=registry)
    router = routed.adaptive.fuser
    assert isinstance(router, LanguageRouter) and list(router.fusers) == ["en"]
    lm = ScriptedLM(sampler_then_fusor([{"answer": "Paris"}, {"answer": "Paris, France"}], {"answer": "Paris"}))
    with dspy.context(lm=lm):
        assert routed(question="What is the capital of France, the country in Europe?").answer == "Paris"
    assert "Registry fusor for English." in lm.calls[-1].prompt


def test_the_default_registry_lives_in_the_programs_package():
    import fusion_dspy.programs

    root = FusorRegistry().root
    assert root.parent == Path(fusion_dspy.programs.__file__).resolve().parent
    assert root.name == "compiled"


def test_entries_carry_the_held_out_evidence_and_old_manifests_still_load(tmp_path):
    from fusion_dspy.registry import HeldOut, Manifest, StratumScore

    held = HeldOut(n=30, difference=-0.1, low=-0.2, high=-0.01, win=2, tie=20, loss=8, p_sign=0.11,
                   strata={"hard": StratumScore(n=9, before=0.1, after=0.3)})  # fmt: skip
    assert held.worse_beyond_noise and not held.model_copy(update={"high": 0.02}).worse_beyond_noise
    assert held.interval == "-0.100 [-0.200, -0.010]"
    assert held.summary == "-0.100, 95% CI [-0.200, -0.010], wins/ties/losses 2/20/8 (n=30)"
    assert "summary" not in held.model_dump()  # text for people, not a field of the manifest
    registry = FusorRegistry(tmp_path)
    registry.save(compiled("Fuse."), entry("de", held_out=held, adaptive={"skip_agreement": 0.6, "floor_margin": 0.0}))
    assert registry.manifest().find("factual", "de").held_out.strata["hard"].after == 0.3
    old = entry("en").model_dump(exclude={"held_out", "adaptive", "study", "report"})
    assert Manifest.model_validate({"entries": [old]}).entries[0].held_out is None  # written before issue 13


def test_an_adapter_travels_with_its_cost_and_training_items_and_never_with_an_older_ones(tmp_path):
    from fusion_dspy.lm.adapter_cost import add_cost, read_cost
    from fusion_dspy.lm.adapter_items import trained_items, write_trained_items
    from fusion_dspy.lm.lora import file_sha256
    from fusion_dspy.registry import AdapterRecord

    def adapter_entry(adapter: Path) -> RegistryEntry:
        record = AdapterRecord(file="", sha256=file_sha256(adapter), base_model="local-small", steps=2, examples=3,
                               train_seconds=1.0)  # fmt: skip
        return entry("en", optimizer="finetune", adapter=record)

    registry = FusorRegistry(tmp_path / "registry")
    first = tmp_path / "run1" / "adapter.gguf"
    first.parent.mkdir()
    first.write_bytes(b"GGUF first")
    add_cost(first, "train", 3600.0)
    write_trained_items(first, {"factual": ["a", "b"]})
    registry.save(compiled("Tuned."), adapter_entry(first), adapter=first)
    stored = tmp_path / "registry" / "factual" / "en.lora.gguf"
    assert read_cost(stored) == read_cost(first) and trained_items(stored) == {"factual": {"a", "b"}}

    second = tmp_path / "run2" / "adapter.gguf"  # made elsewhere: no records beside it
    second.parent.mkdir()
    second.write_bytes(b"GGUF second")
    registry.save(compiled("Tuned again."), adapter_entry(second), adapter=second)
    assert stored.read_bytes() == b"GGUF second"
    assert read_cost(stored) is None and trained_items(stored) is None  # not the first adapter's
