"""The whole weight-tuning path on a tiny randomly initialised Qwen2 written as GGUF (issue 29): fused answers
drawn from a scripted fusor over scripted pools, a LoRA trained 2 steps on the GGUF read into transformers, the
adapter written as a llama.cpp LoRA GGUF and served beside the base model by llama.cpp, an answer returned, the
registry keeping the adapter sha256-checked. The served adapter computes what the trained one does.

Skipped when the `[train]` extra or the embedded 0.5B model (whose tokenizer the tiny model borrows) is absent."""

import json
import urllib.request
from pathlib import Path

import pytest

from fusion_dspy.errors import ConfigurationError, LocalModelError
from fusion_dspy.fuse import Fuser
from fusion_dspy.lm.adapter_cost import read_cost
from fusion_dspy.lm.adapter_items import trained_items, write_trained_items
from fusion_dspy.lm.lora import Adapter, adapter_server, file_sha256
from fusion_dspy.lm.weights import EMBEDDED_MODELS, assemble
from fusion_dspy.optimizers.finetune import FinetuneFusor, FinetuneSettings
from fusion_dspy.optimizers.fusor_only import FusorOnly
from fusion_dspy.optimizers.gguf_model import gguf_info, load_gguf_model
from fusion_dspy.optimizers.lora_gguf import write_lora_gguf
from fusion_dspy.optimizers.lora_train import LoraSettings, adapter_state, train_lora
from fusion_dspy.optimizers.sft_format import IGNORE, tokenize
from fusion_dspy.optimizers.strata import strata_of
from fusion_dspy.registry import AdapterRecord, FusorRegistry, RegistryEntry
from fusion_dspy.testing import ScriptedLM
from tests.optimizers.test_strata import math_pools

REASON = "needs the [train] extra: pip install -e '.[train]'"
torch = pytest.importorskip("torch", reason=REASON)
pytest.importorskip("peft", reason=REASON)
pytest.importorskip("gguf", reason=REASON)

from tests.optimizers.tiny_qwen import tiny_qwen2, write_tiny_gguf  # noqa: E402 - needs torch, checked above

pytestmark = pytest.mark.timeout(900)  # each test reads a GGUF tokenizer of 151,936 tokens (about a minute)
LORA = LoraSettings(steps=2, rank=4, alpha=8, dropout=0.0, learning_rate=0.05, checkpoint_every=1, max_tokens=2048)


@pytest.fixture(scope="module")
def tiny_gguf(tmp_path_factory) -> Path:
    try:
        source = assemble(EMBEDDED_MODELS["local-small"])
    except LocalModelError as exc:
        pytest.skip(f"the tiny model borrows the embedded 0.5B model's tokenizer: {exc}")
    return write_tiny_gguf(tiny_qwen2(151936), source, tmp_path_factory.mktemp("tiny") / "tiny-qwen2.gguf")


def completion(base_url: str, prompt: list[int], lora: list[dict]) -> dict:
    """llama.cpp's top next token for `prompt` (token ids) with these adapters applied."""
    body = {"prompt": prompt, "n_predict": 1, "n_probs": 1, "temperature": 0, "lora": lora}
    request = urllib.request.Request(base_url.removesuffix("/v1") + "/completion", json.dumps(body).encode(),
                                     {"Content-Type": "application/json"})  # fmt: skip
    with urllib.request.urlopen(request, timeout=60) as response:
        return json.load(response)["completion_probabilities"][0]


def test_the_served_adapter_computes_what_the_trained_one_does(tiny_gguf, tmp_path):
    model, tokenizer = load_gguf_model(tiny_gguf)
    messages = [{"role": "system", "content": "Fuse the candidates."}, {"role": "user", "content": "2+2? 4 or 5"},
                {"role": "assistant", "content": "4"}]  # fmt: skip
    example = tokenize(tokenizer, messages, 256)
    assert example is not None and example.answer_tokens >= 1
    trained, _ = train_lora(model, [example], LORA, tmp_path)
    info = gguf_info(tiny_gguf)
    assert (info.architecture, info.block_count) == ("qwen2", 2)
    adapter = write_lora_gguf(adapter_state(trained), LORA.alpha, info.architecture, info.block_count,
                              tmp_path / "adapter.gguf")  # fmt: skip
    prompt = [i for i, label in zip(example.input_ids, example.labels, strict=True) if label == IGNORE]
    with torch.no_grad():
        tuned = torch.log_softmax(trained(input_ids=torch.tensor([prompt])).logits[0, -1], -1)
        with trained.disable_adapter():
            base = torch.log_softmax(trained(input_ids=torch.tensor([prompt])).logits[0, -1], -1)
    assert int(tuned.argmax()) != int(base.argmax())  # 2 steps at this rate move the top token
    server = adapter_server(tiny_gguf, [Adapter(path=adapter, sha256=file_sha256(adapter))])
    for lora, expected in [([], base), ([{"id": 0, "scale": 1.0}], tuned)]:
        served = completion(server.base_url, prompt, lora)
        assert served["id"] == int(expected.argmax())
        assert served["logprob"] == pytest.approx(float(expected.max()), abs=1e-3)


def test_finetune_compiles_a_fusor_served_with_its_adapter_and_the_registry_keeps_it(tiny_gguf, tmp_path):
    # en-0 easy (majority 42), en-1 hard (majority 7, one 42), en-2 impossible; the fusor always answers 42
    task, data = math_pools(tmp_path, [("42", "42", "7"), ("7", "7", "42"), ("7", "8", "9")])
    lm = ScriptedLM({"reasoning": "Candidates 1 and 3 agree on 42.", "answer": "42"})
    student = FusorOnly(Fuser(chain_of_thought=True, lm=lm).bind(task.signature))
    settings = FinetuneSettings(samples=2, threads=1, lora=LORA)
    optimizer = FinetuneFusor(task.metric, out_dir=tmp_path / "run", base_model=tiny_gguf, settings=settings)
    tuned = optimizer.compile(student, data, strata_of(task, data), task.pass_threshold)
    result = optimizer.result
    assert result is not None and len(lm.calls) == 4  # 2 samples for the easy and the hard pool, none for en-2
    assert result.selection["hard_pools"] == 1 and result.selection["easy_pools"] == 1  # impossible left out
    assert (result.examples, result.too_long, result.train.step) == (2, 0, 2)
    assert result.adapter.is_file() and result.adapter_sha256 == file_sha256(result.adapter)
    assert result.cost is not None and result.cost.bootstrap_cpu_s > 0 and result.cost.train_cpu_s > 0
    optimizer.bootstrap(student, data[:2], task.pass_threshold)
    assert len(lm.calls) == 4  # a rerun reads the stored samples back instead of calling the fusor again

    answer = tuned.fuser.lm(messages=[{"role": "user", "content": "2+2?"}], max_tokens=4)
    assert len(answer) == 1 and isinstance(answer[0], str) and answer[0]
    assert tuned.fuser.lm.kwargs["extra_body"] == {"lora": [{"id": 0, "scale": 1.0}]}
    # the adapter's digest in the LM's name: one trained again into the same file is another model to DSPy's cache
    # and to the score store (the held-out scores of a resumed run are read back by it)
    assert tuned.fuser.lm.model.endswith(f"+adapter-{result.adapter_sha256[:8]}")
    assert student.fuser.lm is lm  # the student is left as it was

    registry = FusorRegistry(tmp_path / "registry")
    record = AdapterRecord(
        file="",
        sha256=result.adapter_sha256,
        base_model=str(tiny_gguf),
        steps=2,
        examples=result.examples,
        selection=result.selection,
        train_seconds=result.train.seconds,
    )
    entry = RegistryEntry(
        task="math",
        language="en",
        metric="accuracy",
        before=0.0,
        after=0.0,
        splits={},
        models={"fusor": "tiny"},
        optimizer="finetune",
        chain_of_thought=True,
        n=3,
        adapter=record,
    )
    write_trained_items(result.adapter, {"math": ["1", "2"]})
    registry.save(tuned.fuser, entry, adapter=result.adapter)  # fmt: skip
    stored = registry.root / "math" / "en.lora.gguf"
    assert file_sha256(stored) == result.adapter_sha256
    assert read_cost(stored) == result.cost and trained_items(stored) == {"math": {"1", "2"}}  # they travel along
    assert registry.manifest().find("math", "en").adapter.file == "math/en.lora.gguf"
    loaded = registry.load("math", "en", task.signature)
    assert loaded.lm.kwargs["extra_body"] == {"lora": [{"id": 0, "scale": 1.0}]}
    assert loaded.lm.model.endswith(f"+en.lora-{result.adapter_sha256[:8]}")
    stored.write_bytes(stored.read_bytes()[:-4] + b"\0\0\0\0")
    with pytest.raises(ConfigurationError, match="does not match the sha256"):
        registry.load("math", "en", task.signature)


def test_optimize_finetune_trains_on_a_study_and_reports_held_out(tiny_gguf, tmp_path):
    from typer.testing import CliRunner

    from fusion_dspy.cli.main import app
    from fusion_dspy.programs import task_by_name
    from fusion_dspy.testing import FakeModelServer

    references = {e.question: e.reference for e in task_by_name("math")().load("en", 6, 0)}

    def responder(messages):
        """The fusor (it sees <candidate> blocks) answers right; a candidate answers right on every other problem."""
        prompt = "\n".join(str(m["content"]) for m in messages)
        number, question = next((i, q) for i, q in enumerate(references) if q in prompt)
        right = "<candidate 1>" in prompt or number % 2 == 0
        answer = references[question] if right else "7"
        return f"[[ ## reasoning ## ]]\nworked\n\n[[ ## answer ## ]]\n{answer}\n\n[[ ## completed ## ]]"

    with FakeModelServer(responder=responder) as server:
        args = ["optimize", "--task", "math", "--lang", "en", "--optimizer", "finetune", "--model", "openai/fake",
                "--api-base", server.base_url, "-n", "3", "--limit", "6", "--out", str(tmp_path / "runs"),
                "--storage", f"sqlite:///{tmp_path}/s.db", "--registry", str(tmp_path / "registry"),
                "--train-steps", "2", "--train-samples", "2", "--train-base", str(tiny_gguf)]  # fmt: skip
        result = CliRunner().invoke(app, args, terminal_width=200)
    assert result.exit_code == 0, result.output
    text = " ".join(result.output.split())
    assert "2 steps in" in text and "held-out test" in text and "paired difference" in text
    assert "against majority on the same pools" in text  # the selection a tuned fusor has to beat
    [checkpoint] = (tmp_path / "runs" / "finetune").glob("*/checkpoint/state.json")
    assert json.loads(checkpoint.read_text())["step"] == 2
    manifest = FusorRegistry(tmp_path / "registry").manifest()
    if "not registered" not in text:  # the random tiny fusor may also be refused as worse beyond noise: then no entry
        entry = manifest.find("math", "en")
        assert entry is not None and entry.optimizer == "finetune" and entry.adapter is not None
        assert entry.vs_selection is not None and entry.vs_selection.n == entry.held_out.n
        assert file_sha256(tmp_path / "registry" / entry.adapter.file) == entry.adapter.sha256
    else:
        assert "not registered" in text and manifest.find("math", "en") is None


def test_optimize_finetune_trains_on_unreported_pools_and_tests_on_the_study(tiny_gguf, tmp_path, monkeypatch):
    """--train-from: training pools of other items (here German, unreported) made by eval; the study's own pools
    (English, a reported subset) are the whole test set."""
    from typer.testing import CliRunner

    from fusion_dspy.cli.main import app
    from fusion_dspy.programs import reported, task_by_name
    from fusion_dspy.testing import FakeModelServer

    monkeypatch.setitem(reported.REPORTED_SUBSETS, "math", (("en", 6),))  # for the 12 synthetic rows
    monkeypatch.setitem(reported.REPORTED_KEYS, "math", frozenset())  # only the subsets above
    math = task_by_name("math")()
    references = {e.question: e.reference for lang in ("en", "de") for e in math.load(lang)}

    def responder(messages):
        prompt = "\n".join(str(m["content"]) for m in messages)
        question = next(q for q in references if q in prompt)
        return f"[[ ## reasoning ## ]]\nworked\n\n[[ ## answer ## ]]\n{references[question]}\n\n[[ ## completed ## ]]"

    with FakeModelServer(responder=responder) as server:
        model = ["--model", "openai/fake", "--api-base", server.base_url, "-n", "3"]
        pools = ["eval", "--task", "math", "--langs", "de", "--items", "unreported", "--limit", "4", "--pools-only",
                 "--max-tokens", "256", *model, "--out", str(tmp_path / "train")]  # fmt: skip
        made = CliRunner().invoke(app, pools, terminal_width=200)
        assert made.exit_code == 0, made.output
        args = ["optimize", "--task", "math", "--lang", "en", "--optimizer", "finetune", *model, "--limit", "6",
                "--max-tokens", "256", "--out", str(tmp_path / "runs"), "--storage", f"sqlite:///{tmp_path}/s.db",
                "--no-register", "--train-steps", "2", "--train-samples", "1", "--train-base", str(tiny_gguf),
                "--train-from", "math:de:4", "--train-pools", str(tmp_path / "train")]  # fmt: skip
        result = CliRunner().invoke(app, args, terminal_width=200)
    assert result.exit_code == 0, result.output
    text = " ".join(result.output.split())
    assert "training pools: math:de 4" in text and "2 steps in" in text and "held-out test" in text
    bootstrap = (tmp_path / "runs" / "finetune").glob("*/bootstrap.jsonl")
    assert {json.loads(line)["id"][:3] for path in bootstrap for line in path.read_text().splitlines()} == {"de-"}
    [adapter] = (tmp_path / "runs" / "finetune").glob("*/adapter.gguf")
    trained = trained_items(adapter)  # what the map and eval leave out when they test this adapter
    assert trained is not None and set(trained) == {"math"} and len(trained["math"]) == 4
    assert not trained["math"] & {math.item_key(e.id, "en") for e in math.load("en", 6, 0)}
